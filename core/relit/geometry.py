"""Shape from a normals pass: what both the engine (shadow rays need a surface) and the motion between
frames (a turn's parallax) integrate, and neither owns."""
from __future__ import annotations

import math

import numpy as np


def surface_height(normals: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The surface's height toward the camera in pixels, integrated from its normals (Frankot-Chellappa)
    with no slope outside ``inside``; its highest point inside is 0. Relative shape, orthographic."""
    h, w = normals.shape[:2]
    nz = np.maximum(normals[..., 2], 0.05)
    gx = np.where(inside, -normals[..., 0] / nz, 0.0)  # dz per column (z toward the camera)
    gy = np.where(inside, normals[..., 1] / nz, 0.0)  # dz per row (rows go down, +Y goes up)
    wx = np.fft.fftfreq(w)[None, :] * 2 * math.pi
    wy = np.fft.fftfreq(h)[:, None] * 2 * math.pi
    denom = wx ** 2 + wy ** 2
    denom[0, 0] = 1.0
    z_hat = (-1j * wx * np.fft.fft2(gx) - 1j * wy * np.fft.fft2(gy)) / denom
    z_hat[0, 0] = 0.0
    z = np.real(np.fft.ifft2(z_hat))
    return (z - (z[inside].max() if inside.any() else 0.0)).astype(np.float32)
