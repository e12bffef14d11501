"""ONNX Runtime sessions: the only way relit runs networks (torch is for training only).

The CUDA provider is used when onnxruntime-gpu provides it, the CPU otherwise, and the choice is
logged once per model so a farm log shows where frames ran.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, TypeVar

import numpy as np
import onnxruntime as ort

from .errors import RelitError
from .io import atomic_path

log = logging.getLogger("relit.models")
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
WEIGHTS = Path(__file__).parent / "weights"
Card = TypeVar("Card", bound="ShippedNetwork")


@dataclass(frozen=True)
class ShippedNetwork:
    """A network as relit ships it: the ONNX file, and its card beside it (.json) giving the inference
    resolution, version, recipe and metrics."""

    path: Path
    internal: int  # short side of the network's input, pixels
    version: str
    inputs: tuple[str, ...] = ()  # the card's input names, in order
    DEFAULT: ClassVar[str] = ""  # the shipped file's name in relit/weights
    MULTIPLE: ClassVar[int] = 1  # input sizes must be multiples of this (2 to the number of poolings)
    OUTPUTS: ClassVar[dict[str, int] | None] = None  # the output channels inference reads; the card must say so

    @classmethod
    def load(cls: type[Card], path: str | os.PathLike[str] | None = None) -> Card:
        return _card(cls, str(path or WEIGHTS / cls.DEFAULT))

    def size(self, height: int, width: int, internal: int | None = None) -> tuple[int, int]:
        """The network's input size for a plate: short side ``internal`` (default the card's), multiples
        of MULTIPLE."""
        scale = (internal or self.internal) / min(height, width)
        m = self.MULTIPLE
        return max(m, round(height * scale / m) * m), max(m, round(width * scale / m) * m)

    @property
    def card(self) -> Path:
        return self.path.with_suffix(".json")

    def record(self, key: str, value: object) -> None:
        """Store measurements (``relit eval --record``) in the card, so the shipped file carries its metrics."""
        info = json.loads(self.card.read_text())
        info.setdefault("evaluation", {})[key] = value
        with atomic_path(self.card) as tmp:
            tmp.write_text(json.dumps(info, indent=1) + "\n")


@lru_cache(maxsize=8)
def _card(cls: type[Card], path: str) -> Card:
    if not Path(path).is_file():
        raise RelitError("no such ONNX model", path)
    card = Path(path).with_suffix(".json")
    if not card.is_file():
        raise RelitError("no model card (the .json beside the .onnx recording recipe and internal size)", card)
    info = json.loads(card.read_text())
    if cls.OUTPUTS is not None and list(info.get("outputs", {}).items()) != list(cls.OUTPUTS.items()):
        raise RelitError(f"the card's outputs {info.get('outputs')} are not the layout this relit reads "
                         f"({cls.OUTPUTS}); a network with other outputs needs inference of its own", card)
    return cls(Path(path), int(info["internal"]), str(info.get("version", "?")), tuple(info.get("inputs", {})))


def providers(prefer: str | None = None) -> list[str]:
    """Providers to ask for, best first: ``prefer`` ("cpu", "cuda") or $RELIT_DEVICE narrows the choice."""
    prefer = (prefer or os.environ.get("RELIT_DEVICE") or "").lower()
    available = set(ort.get_available_providers())
    chosen = [p for p in PREFERRED_PROVIDERS if p in available]
    if prefer == "cpu":
        chosen = ["CPUExecutionProvider"]
    elif prefer == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise RelitError("CUDA was asked for but this onnxruntime has no CUDA provider; "
                             "install onnxruntime-gpu (see README, Install)")
        chosen = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return chosen


@lru_cache(maxsize=16)
def _session(path: str, mtime: float, provider_list: tuple[str, ...]) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # no memory arena: relit's networks run at a few hundred pixels, where the arena saves no time, and the
    # arenas of the four sessions a plate's passes use held 0.13 GB for the process's life
    options.enable_cpu_mem_arena = False
    try:
        session = ort.InferenceSession(path, options, providers=list(provider_list))
    except Exception as exc:  # onnxruntime raises several unrelated exception types for bad models
        raise RelitError(f"not a usable ONNX model ({str(exc).splitlines()[0]})", path) from None
    log.info("%s runs on %s", Path(path).name, session.get_providers()[0])
    return session


def session(path: str | os.PathLike[str], prefer: str | None = None) -> ort.InferenceSession:
    """A cached session for an ONNX file on the best available provider."""
    path = Path(path)
    if not path.is_file():
        raise RelitError("no such ONNX model", path)
    return _session(str(path), path.stat().st_mtime, tuple(providers(prefer)))


def run(model: ort.InferenceSession, **inputs: np.ndarray) -> list[np.ndarray]:
    """Run with float32 NCHW inputs by name; a wrong name or shape is a one-line error."""
    expected = {i.name: i.shape for i in model.get_inputs()}
    if set(inputs) != set(expected):
        raise RelitError(f"model inputs are {sorted(expected)}, got {sorted(inputs)}")
    try:
        return model.run(None, {k: np.ascontiguousarray(v, np.float32) for k, v in inputs.items()})
    except Exception as exc:
        raise RelitError(f"inference failed: {str(exc).splitlines()[0]}; expected inputs {expected}") from None


def run_nhwc(model: ort.InferenceSession, image: np.ndarray) -> list[np.ndarray]:
    """Run a one-input model on an (H, W, C) image as a batch of one, channels last (as the models
    converted from TFLite take their input)."""
    return run(model, **{model.get_inputs()[0].name: image[None]})
