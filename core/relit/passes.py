"""The one pass table and the PassStack every stage shares.

Every writer, reader, DCC adapter and test reads pass names and channel names from ``PASSES``;
nothing else spells them.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Iterator

import numpy as np
import PyOpenColorIO as ocio

from .colour import Image, resolve_config, working_space
from .errors import RelitError
from .vectors import dot


@dataclass(frozen=True)
class PassSpec:
    name: str
    exr_channels: tuple[str, ...]  # full EXR channel names, e.g. ("albedo.R", "albedo.G", "albedo.B")
    nuke_layer: str
    houdini_plane: str
    colour: bool  # colour passes are OCIO-managed; data passes are never converted
    description: str

    @property
    def channels(self) -> int:
        return len(self.exr_channels)


def _rgb(layer: str) -> tuple[str, str, str]:
    return (f"{layer}.R", f"{layer}.G", f"{layer}.B")


PASSES: tuple[PassSpec, ...] = (
    PassSpec("alpha", ("A",), "alpha", "A", False, "matte, straight (not premultiplied into other passes)"),
    PassSpec("normals", ("normals.X", "normals.Y", "normals.Z"), "normals", "N", False,
             "camera space, +X right, +Y up, +Z toward the camera, unit length"),
    PassSpec("depth", ("depth.Z",), "depth", "depth", False, "camera-space distance along the view axis"),
    PassSpec("albedo", _rgb("albedo"), "albedo", "albedo", True, "diffuse reflectance in [0, 1]"),
    PassSpec("roughness", ("roughness.Y",), "roughness", "roughness", False, "GGX roughness alpha in (0, 1]"),
    PassSpec("specular_strength", ("specular_strength.Y",), "specular_strength", "specular_strength", False,
             "normal-incidence Fresnel reflectance F0"),
    PassSpec("occlusion", ("occlusion.Y",), "occlusion", "occlusion", False,
             "visible fraction of the hemisphere (environment occlusion) in [0, 1]"),
    PassSpec("diffuse", _rgb("diffuse"), "diffuse", "diffuse", True,
             "cosine-weighted irradiance / pi (white Lambertian under uniform radiance 1 gives 1)"),
    PassSpec("specular", _rgb("specular"), "specular", "specular", True, "reflected specular radiance"),
    PassSpec("relit", _rgb("relit"), "relit", "C", True, "albedo * diffuse + specular"),
    PassSpec("composite", _rgb("composite"), "composite", "composite", True, "relit over the background, linear light"),
    # priors (relit.priors): what real-trained models see in the plate, written by `relit passes --priors`
    PassSpec("face_normals", ("face_normals.X", "face_normals.Y", "face_normals.Z"), "face_normals", "face_N", False,
             "prior: the face mesh's normals, camera space; camera-facing where there is no face"),
    PassSpec("face_depth", ("face_depth.Z",), "face_depth", "face_depth", False,
             "prior: the face mesh's depth behind its nearest point, in pixels of the plate; 0 where no face"),
    PassSpec("face", ("face.Y",), "face", "face", False, "prior: the face mesh's coverage in [0, 1]"),
    PassSpec("person", ("person.Y",), "person", "person", False, "prior: probability that a pixel is a person"),
)
PRIOR_PASSES = ("face_normals", "face_depth", "face", "person")
PASS_BY_NAME: dict[str, PassSpec] = {p.name: p for p in PASSES}
UNIT_TOLERANCE = 1e-2  # normals from half-float EXRs are unit length to ~1e-3; larger drift means bad data
EDGE_COVERAGE = 0.05  # under this alpha an edge pixel's normal may be missing (zero): filled from its neighbours
SOLID = 0.999  # where alpha reaches this the subject covers the pixel: its normal must be unit already
ZERO_NORMAL = 1e-3  # shorter normals are missing ones


def check_unit_normals(n: np.ndarray) -> None:
    """(M, 3) normals must be unit length: a clear error for anything else (a wrong layer, bad data,
    NaNs). Squared lengths bound the error: no square roots per pixel."""
    check_unit_lengths(dot(n, n))


def check_unit_lengths(squared: np.ndarray) -> None:
    """``check_unit_normals`` on the normals' squared lengths."""
    if squared.size:
        lo, hi = float(squared.min()), float(squared.max())  # NaN if any normal is
        if not ((1 - UNIT_TOLERANCE) ** 2 <= lo and hi <= (1 + UNIT_TOLERANCE) ** 2):
            err = math.nan if math.isnan(lo) or math.isnan(hi) else max(1 - math.sqrt(max(lo, 0.0)), math.sqrt(hi) - 1)
            raise RelitError(f"normals are not unit length (max |len-1| = {err:.3g} > {UNIT_TOLERANCE}); "
                             "expected camera-space unit vectors in normals.X/Y/Z")


@dataclass
class PassStack:
    """Per-frame passes, each (H, W, C) float32 or None. Colour passes are in ``colourspace``. A pass may
    be a view into a larger array (the estimator's passes of a big plate are not copied apart)."""

    alpha: np.ndarray | None = None
    normals: np.ndarray | None = None
    depth: np.ndarray | None = None
    albedo: np.ndarray | None = None
    roughness: np.ndarray | None = None
    specular_strength: np.ndarray | None = None
    occlusion: np.ndarray | None = None
    diffuse: np.ndarray | None = None
    specular: np.ndarray | None = None
    relit: np.ndarray | None = None
    composite: np.ndarray | None = None
    face_normals: np.ndarray | None = None
    face_depth: np.ndarray | None = None
    face: np.ndarray | None = None
    person: np.ndarray | None = None
    colourspace: str = "ACEScg"
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in PASSES:
            value = getattr(self, spec.name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=np.float32)
            if arr.ndim == 2:
                arr = arr[:, :, None]
            if arr.ndim != 3 or arr.shape[2] != spec.channels:
                raise RelitError(f"pass {spec.name!r} needs {spec.channels} channel(s) (H, W, {spec.channels}), "
                                 f"got shape {arr.shape}")
            setattr(self, spec.name, arr)
        shapes = {name: arr.shape[:2] for name, arr in self.items()}
        if len(set(shapes.values())) > 1:
            raise RelitError(f"passes have mismatched resolutions: {shapes}")

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) of the passes present, in table order."""
        for spec in PASSES:
            value = getattr(self, spec.name)
            if value is not None:
                yield spec.name, value

    def names(self) -> list[str]:
        return [name for name, _ in self.items()]

    @property
    def shape(self) -> tuple[int, int]:
        for _, arr in self.items():
            return arr.shape[0], arr.shape[1]
        raise RelitError("the pass stack is empty")

    def require(self, *names: str, source: str | os.PathLike[str] | None = None) -> None:
        """A clear error naming ``source`` (the stack's file) when a pass is missing."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            raise RelitError(f"missing pass(es) {', '.join(missing)}; present: {', '.join(self.names()) or 'none'}",
                             source)

    def conform_normals(self) -> tuple["PassStack", int]:
        """The normals as a renderer's AOV gives them, made usable, and how many were filled in.

        Edge pixels are filtered: where the subject covers a pixel partly, its normal may be shorter than
        unit (normalised here) or zero when it was rendered with fewer samples than the beauty (under
        ``EDGE_COVERAGE``: undefined, it takes its nearest defined neighbour's). Refused: NaN or infinite
        normals under the matte, zero normals where the subject is more than an edge, and non-unit normals
        where it covers a pixel whole (a wrong layer, not filtering)."""
        if self.normals is None:
            return self, 0
        n = self.normals
        alpha = self.alpha[..., 0] if self.alpha is not None else np.ones(n.shape[:2], np.float32)
        under = alpha > 0
        squared = dot(n, n)
        if not np.isfinite(squared[under]).all():
            raise RelitError("normals are NaN or infinite under the matte; expected camera-space unit vectors "
                             "in normals.X/Y/Z")
        zero = under & (squared < ZERO_NORMAL ** 2)
        if (zero & (alpha >= EDGE_COVERAGE)).any():
            raise RelitError(f"{int((zero & (alpha >= EDGE_COVERAGE)).sum())} zero normals where alpha >= "
                             f"{EDGE_COVERAGE} (the subject, not its edge); expected camera-space unit vectors")
        check_unit_lengths(squared[alpha >= SOLID])  # whole pixels: unit already, or the layer is not normals
        short = under & ~zero & (np.abs(squared - 1) > 1e-6)  # unit normals pass through untouched
        if not (short.any() or zero.any()):
            return self, 0
        fixed = np.where(short[..., None], n / np.sqrt(np.maximum(squared, ZERO_NORMAL ** 2))[..., None],
                         n).astype(np.float32)
        if zero.any() and (under & ~zero).any():
            from scipy.ndimage import distance_transform_edt  # here: every relit command loads this module

            _, (rows, cols) = distance_transform_edt(zero | ~under, return_indices=True)
            fixed[zero] = fixed[rows[zero], cols[zero]]
        elif zero.any():  # nothing defined to take from: facing the camera
            fixed[zero] = (0.0, 0.0, 1.0)
        return self.replace(normals=fixed), int(zero.sum())

    def to_working(self, config: ocio.Config | None = None) -> "PassStack":
        """The stack with its colour passes converted (OCIO) to the config's working space."""
        config = resolve_config(config)
        colour = {spec.name: Image(getattr(self, spec.name), self.colourspace, config).to_working().pixels
                  for spec in PASSES if spec.colour and getattr(self, spec.name) is not None}
        out = self.replace(**colour)
        out.colourspace = working_space(config)
        return out

    def replace(self, **passes: np.ndarray | None) -> "PassStack":
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        current.update(passes)
        current["metadata"] = dict(self.metadata)
        return PassStack(**current)
