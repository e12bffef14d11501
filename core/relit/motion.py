"""The subject's motion between two frames of a plate: where each point of the new frame was in the
frame before, and how its surface turned, so temporal smoothing can carry the passes along the person.

A person between two frames moves, to first order, as a rigid body: a shift, a change of scale (toward
or away from the camera) and a small turn. Under an orthographic camera, with the surface's height
toward the camera integrated from the frame's own normals, a turn moves each point by its height
times the angle, so six numbers give every pixel's motion. They are fitted to the whole subject's
brightness at once (a direct method, in the manner of Horn and Weldon, "Direct methods for recovering
motion", IJCV 1988): thousands of pixels for six unknowns, so sub-pixel motions are measured well
where optical flow, one small window per pixel, resamples the passes with a noise of its own; and the
turn says how the camera-space normals turned, which flow does not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .upsample import bilinear, box, resize

LEVELS = 2  # coarse to fine: the coarse level catches a few pixels' motion, the fine one refines it
ITERATIONS = 6  # Gauss-Newton steps per level


@dataclass
class RigidMotion:
    """The subject's motion from the frame before to this one (small angles), in this frame's pixels:
    ``shift`` (x right, y up), ``scale`` (relative growth) and ``turn`` (radians about camera x, y, z)."""

    shift: tuple[float, float] = (0.0, 0.0)
    scale: float = 0.0
    turn: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def from_vector(cls, p: np.ndarray) -> "RigidMotion":
        return cls((float(p[0]), float(p[1])), float(p[2]), (float(p[3]), float(p[4]), float(p[5])))

    def vector(self) -> np.ndarray:
        return np.float64([*self.shift, self.scale, *self.turn])

    def rotate(self, normals: np.ndarray) -> np.ndarray:
        """The frame before's normals (..., 3) turned with the surface: n + turn x n (not renormalised), as
        one 3x3 product (np.cross on a 1080p plate's normals took six times as long)."""
        x, y, z = self.turn
        return normals @ np.float32([[1, z, -y], [-z, 1, x], [y, -x, 1]])


def _basis(height: np.ndarray, step: float = 1.0) -> np.ndarray:
    """(6, H, W, 2): each parameter's displacement (rows, columns) from a pixel of this frame to where it
    was, at a level ``step`` full-resolution pixels apart (the parameters are in full-resolution pixels)."""
    h, w = height.shape
    row, col = (np.mgrid[0:h, 0:w].astype(np.float32) + 0.5) * step - 0.5  # full-resolution pixel centres
    x, y, z = col - (w * step - 1) / 2, (h * step - 1) / 2 - row, height
    zero, one = np.zeros_like(x), np.ones_like(x)
    # where a point was: P - turn x P - shift - scale * P (x, y only); a row goes down as y goes up
    d_col = [-one, zero, -x, zero, -z, y]
    d_row = [zero, one, y, -z, zero, x]
    return np.stack([np.stack([r, c], -1) for r, c in zip(d_row, d_col)]) / step


def _shrink(img: np.ndarray) -> np.ndarray:
    """Half the size (``resize``'s 2x2 area average), for an image (H, W, C) or a map (H, W) alike."""
    h, w = img.shape[:2]
    return resize(img.reshape(h, w, -1), h // 2, w // 2).reshape((h // 2, w // 2) + img.shape[2:])


def displacement(motion: RigidMotion, height: np.ndarray) -> np.ndarray:
    """(H, W, 2): for each pixel of this frame, the offset (rows, columns) to where it was the frame before."""
    return np.tensordot(motion.vector().astype(np.float32), _basis(height), axes=1)


def follow(image: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """The frame before's (H, W, C) image at the points of this frame: bilinear, clamped at the borders."""
    h, w = offset.shape[:2]
    return bilinear(image, offset[..., 0] + np.arange(h, dtype=np.float32)[:, None],
                    offset[..., 1] + np.arange(w, dtype=np.float32))


def estimate_motion(before: np.ndarray, now: np.ndarray, height: np.ndarray, weight: np.ndarray) -> RigidMotion:
    """The rigid motion that best carries ``before`` (H, W, C) onto ``now`` over ``weight`` (H, W), the
    subject, given this frame's surface ``height`` (H, W) in pixels: robust Gauss-Newton on brightness
    constancy, coarse to fine. Parts that do not move with the rest (an arm, a passing shadow) are
    outliers the Huber weights turn down, rather than bending the fit."""
    levels = [(before, now, height, weight)]
    for _ in range(LEVELS - 1):
        levels.append(tuple(_shrink(a) for a in levels[-1]))
    p = np.zeros(6)
    for depth in reversed(range(LEVELS)):
        b, n, z, wt = levels[depth]
        at = wt > 0  # only the subject's pixels are looked up
        if not at.any():
            continue
        row, col = (i.astype(np.float32) for i in np.nonzero(at))
        basis = _basis(z, 2.0 ** depth)[:, at]  # (6, N, 2)
        along_rows, along_cols = (np.ascontiguousarray(basis[..., k].T)[:, None] for k in (0, 1))  # (N, 1, 6)
        c = b.shape[-1]
        looked_up = np.concatenate([b, *np.gradient(b, axis=(0, 1))], -1)  # values, d/drow, d/dcol
        n, wt = n[at], wt[at][:, None]
        for _ in range(ITERATIONS):
            offset = np.tensordot(p.astype(np.float32), basis, axes=1)
            warped = bilinear(looked_up, row + offset[:, 0], col + offset[:, 1])
            residual = n - warped[:, :c]
            # d residual / d p = -(gradient . d offset / d p), per channel: (N, C, 6)
            jac = -(warped[:, c:2 * c, None] * along_rows + warped[:, 2 * c:, None] * along_cols)
            scale = 1.4826 * np.median(np.abs(residual)) + 1e-6
            w = wt * np.minimum(1.0, 1.345 * scale / np.maximum(np.abs(residual), 1e-12))  # Huber
            j, wj = jac.reshape(-1, 6), (jac * w[..., None]).reshape(-1, 6).T.astype(np.float64)
            p = p - np.linalg.solve(wj @ j + 1e-6 * np.eye(6), wj @ residual.reshape(-1))
    return RigidMotion.from_vector(p)


def residual_change(before: np.ndarray, now: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(H, W, 1): how much a pixel differs from where it was, the mean over channels and a 3x3 window."""
    return box(np.abs(now - follow(before, offset)).mean(axis=-1, keepdims=True), 1)
