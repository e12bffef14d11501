"""The GGX microfacet lobe as Mitsuba's ``roughplastic`` and ``roughconductor`` evaluate it: the normal
distribution and Smith's separable masking, shared by the light maps and the user's lights."""
from __future__ import annotations

import math

import numpy as np


def ggx_d(cos_h: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    a2 = np.square(alpha)
    return a2 / (math.pi * np.square(np.square(cos_h) * (a2 - 1) + 1))


def smith_g1(cos_t: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """Separable Smith masking for GGX (what Mitsuba's microfacet BSDFs use)."""
    c2 = np.clip(np.square(cos_t), 1e-12, 1.0)
    return 2.0 / (1.0 + np.sqrt(1.0 + np.square(alpha) * (1.0 - c2) / c2))
