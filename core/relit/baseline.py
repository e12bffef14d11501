"""Trivial passes from a photo, used until learned networks exist and as the baselines they must beat.

alpha = 1 (or the user's matte), normals face the camera (or are inflated from the matte's silhouette),
albedo = the input. These are the baselines ``relit eval`` will report beside the networks.
"""
from __future__ import annotations

import numpy as np

from .colour import Image
from .passes import PassStack


def inflated_normals(alpha: np.ndarray) -> np.ndarray:
    """Normals of a surface that bulges out of the matte's silhouette (a distance-transform dome)."""
    from scipy.ndimage import distance_transform_edt, gaussian_filter

    inside = alpha[..., 0] > 0.5
    dist = distance_transform_edt(inside)
    radius = max(float(dist.max()), 1.0)
    height = np.sqrt(np.clip(1 - (1 - dist / radius) ** 2, 0, 1)) * radius
    height = gaussian_filter(height, sigma=max(radius * 0.05, 1.0))
    gy, gx = np.gradient(height)
    n = np.stack([-gx, gy, np.ones_like(gx)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n[~inside] = (0.0, 0.0, 1.0)
    return n.astype(np.float32)


def baseline_passes(image: Image, matte: np.ndarray | None = None) -> PassStack:
    """Passes from nothing but the photo (and an optional matte), in the working space."""
    work = image.to_working()
    h, w = work.height, work.width
    alpha = np.ones((h, w, 1), np.float32) if matte is None else matte.reshape(h, w, 1).astype(np.float32)
    normals = np.broadcast_to(np.float32([0, 0, 1]), (h, w, 3)) if matte is None else inflated_normals(alpha)
    source = "baseline: camera-facing normals" if matte is None else "baseline: normals inflated from the matte"
    return PassStack(alpha=alpha, normals=normals, albedo=np.clip(work.pixels[..., :3], 0, 1),
                     colourspace=work.colourspace, metadata={"passes_source": f"{source}, albedo = input"})
