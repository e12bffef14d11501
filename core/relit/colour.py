"""Colour management: every image knows its colourspace, and conversions go through OCIO only."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import PyOpenColorIO as ocio

from .errors import RelitError

SHIPPED_CONFIG_NAME = "relit-cg-config-v2.2.0_aces-v1.3_ocio-v2.4.ocio"
WORKING_ROLE = "scene_linear"  # ACEScg in the shipped config
SRGB_ROLE = "color_picking"  # sRGB-encoded Rec.709 in the shipped config


def shipped_config_path() -> Path:
    """Path of the config relit installs (``ocio_configs/`` in the source tree)."""
    return Path(str(resources.files("relit.ocio_configs") / SHIPPED_CONFIG_NAME))


@lru_cache(maxsize=16)
def _load_config(path: str) -> ocio.Config:
    try:
        return ocio.Config.CreateFromFile(path)
    except Exception as exc:  # OCIO raises its own Exception type with a multi-line message
        raise RelitError(f"not a usable OCIO config ({str(exc).splitlines()[0]})", path) from None


def resolve_config(config: str | os.PathLike[str] | ocio.Config | None = None) -> ocio.Config:
    """Explicit argument, then ``$OCIO``, then the shipped ACES CG config."""
    if isinstance(config, ocio.Config):
        return config
    if config is None:
        config = os.environ.get("OCIO") or shipped_config_path()
    return _load_config(str(config))


def config_name(config: ocio.Config) -> str:
    return config.getName() or "<unnamed config>"


def canonical_colourspace(config: ocio.Config, name: str) -> str:
    """Resolve a colourspace name, alias or role to the config's canonical name."""
    cs = config.getColorSpace(name)
    if cs is None:
        known = ", ".join(c.getName() for c in config.getColorSpaces())
        raise RelitError(f"unknown colourspace {name!r} in config {config_name(config)!r}; known: {known}")
    return cs.getName()


def working_space(config: ocio.Config) -> str:
    return canonical_colourspace(config, WORKING_ROLE)


def srgb_space(config: ocio.Config) -> str:
    return canonical_colourspace(config, SRGB_ROLE)


@lru_cache(maxsize=64)
def _cpu_processor(config: ocio.Config, src: str, dst: str) -> ocio.CPUProcessor:
    return config.getProcessor(src, dst).getOptimizedCPUProcessor(ocio.OPTIMIZATION_DEFAULT)


def convert_in_place(pixels: np.ndarray, src: str, dst: str, config: ocio.Config, rows: int = 64) -> None:
    """Convert (H, W, 3 or 4) pixels from ``src`` to ``dst`` in place, ``rows`` at a time (alpha passes
    through): ``pixels`` may be a view into a larger array, such as one pass of the passes network's
    output, which at 8K would otherwise be copied whole."""
    src, dst = canonical_colourspace(config, src), canonical_colourspace(config, dst)
    if src == dst:
        return
    processor = _cpu_processor(config, src, dst)
    h, w, c = pixels.shape
    for top in range(0, h, rows):
        view = pixels[top:top + rows]
        strip = np.ascontiguousarray(view)  # the view itself where the pixels are contiguous
        processor.apply(ocio.PackedImageDesc(strip, w, strip.shape[0], c))
        if strip is not view:
            view[...] = strip


@dataclass(frozen=True)
class Image:
    """float32 pixels (H, W, C) plus the colourspace they are encoded in and the config naming it.

    Data images (alpha, normals, depth) use the config's ``Raw`` space and are never converted.
    """

    pixels: np.ndarray
    colourspace: str
    config: ocio.Config = field(default_factory=resolve_config, compare=False, repr=False)

    def __post_init__(self) -> None:
        px = np.asarray(self.pixels, dtype=np.float32)
        if px.ndim == 2:
            px = px[:, :, None]
        if px.ndim != 3:
            raise RelitError(f"image pixels must be (H, W, C), got shape {px.shape}")
        object.__setattr__(self, "pixels", np.ascontiguousarray(px))
        object.__setattr__(self, "colourspace", canonical_colourspace(self.config, self.colourspace))

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def channels(self) -> int:
        return self.pixels.shape[2]

    def to(self, colourspace: str) -> "Image":
        """Convert colour channels (RGB, alpha passes through) with OCIO."""
        dst = canonical_colourspace(self.config, colourspace)
        if dst == self.colourspace:
            return self
        if self.channels not in (3, 4):
            raise RelitError(f"only RGB or RGBA images can change colourspace, this one has {self.channels} channels")
        out = self.pixels.copy()
        convert_in_place(out, self.colourspace, dst, self.config)
        return Image(out, dst, self.config)

    def to_working(self) -> "Image":
        return self.to(working_space(self.config))

