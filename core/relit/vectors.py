"""Vector helpers: row-wise for (..., 3) arrays (einsum is several times faster than np.linalg.norm
here), and ``dot3`` for component-major (3, ...) ones."""
from __future__ import annotations

import numpy as np


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def length(a: np.ndarray) -> np.ndarray:
    return np.sqrt(dot(a, a))


def normalize(a: np.ndarray, eps: float = 1e-12, out: np.ndarray | None = None) -> np.ndarray:
    return np.divide(a, np.sqrt(np.maximum(dot(a, a), eps))[..., None], out=out)


def dot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot product of component-major vectors (3, ...): each component a contiguous array."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
