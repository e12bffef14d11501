"""The camera the passes were seen from: turns depth into camera-space positions and back.

Camera space: +X right, +Y up, +Z toward the camera (the camera looks down -Z). ``depth`` is the
distance along the view axis (positive). ``hfov`` 0 means orthographic, ``ortho_width`` wide.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import RelitError
from .vectors import normalize


@dataclass(frozen=True)
class Camera:
    hfov: float = 0.0  # horizontal field of view, degrees; 0 = orthographic
    ortho_width: float = 1.0  # scene units across the frame when orthographic

    def __post_init__(self) -> None:
        if not 0.0 <= self.hfov < 179.0 or self.ortho_width <= 0:
            raise RelitError(f"camera needs 0 <= hfov < 179 degrees and ortho_width > 0, got {self.hfov}, "
                             f"{self.ortho_width}")

    @property
    def orthographic(self) -> bool:
        return self.hfov == 0.0

    def _scale(self) -> float:
        return math.tan(math.radians(self.hfov) / 2) if not self.orthographic else self.ortho_width / 2

    def frame_width(self, distance: float) -> float:
        """Scene units across the frame at ``distance`` along the view axis (the same at any distance
        for an orthographic camera)."""
        return 2 * self._scale() * (1.0 if self.orthographic else distance)

    @staticmethod
    def _ndc(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        x = (np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1
        y = 1 - (np.arange(height, dtype=np.float32) + 0.5) / height * 2
        return x[None, :], y[:, None]

    def view_vectors(self, height: int, width: int, where: np.ndarray | None = None) -> np.ndarray:
        """Unit vectors from the surface toward the eye: (H, W, 3), or (M, 3) at the M flat pixel indices
        ``where`` (row * width + column) holds."""
        shape = (height, width) if where is None else (len(where),)
        if self.orthographic:
            return np.broadcast_to(np.float32([0, 0, 1]), shape + (3,))
        x, y = self._ndc(height, width)
        s = self._scale()
        x, y = -x[0] * s, -y[:, 0] * (s * height / width)  # the direction's x and y per column and row (z = 1)
        if where is None:
            return normalize(np.stack(np.broadcast_arrays(x[None, :], y[:, None], np.float32(1)), -1))
        rows, cols = np.divmod(where, width)
        vx, vy = np.take(x, cols), np.take(y, rows)
        inv = 1 / np.sqrt(1 + vx * vx + vy * vy)
        return np.stack([vx * inv, vy * inv, inv], -1)

    def positions(self, depth: np.ndarray) -> np.ndarray:
        """(H, W, 3) camera-space points from a (H, W) or (H, W, 1) z-depth."""
        depth = depth.reshape(depth.shape[0], depth.shape[1])
        h, w = depth.shape
        x, y = self._ndc(h, w)
        s = self._scale()
        aspect = h / w
        if self.orthographic:
            return np.stack(np.broadcast_arrays(x * s, y * s * aspect, -depth), -1).astype(np.float32)
        return np.stack([x * s * depth, y * s * aspect * depth, -depth], -1).astype(np.float32)

    def project(self, points: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel coordinates (column, row; pixel centres at +0.5) and z-depth of camera-space points
        (..., 3). Pixels are square, so one scale serves both axes."""
        depth = -points[..., 2]
        scale = width / (2 * self._scale())  # pixels per scene unit at distance 1 (or at any, orthographic)
        if not self.orthographic:
            scale = scale / np.maximum(depth, np.float32(1e-6))
        return width / 2 + points[..., 0] * scale, height / 2 - points[..., 1] * scale, depth

    def to_metadata(self) -> dict[str, str]:
        return {"camera_hfov": repr(self.hfov), "camera_ortho_width": repr(self.ortho_width)}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> "Camera":
        try:
            return cls(float(metadata.get("camera_hfov", 0.0)), float(metadata.get("camera_ortho_width", 1.0)))
        except ValueError:
            raise RelitError(f"bad camera metadata {metadata}") from None
