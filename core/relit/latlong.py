"""Lat-long environments as relit orients them (Mitsuba 3's ``envmap``): directions of texels, look-ups in
directions, rotation about +Y, energy-keeping resizes."""
from __future__ import annotations

import math

import numpy as np
import OpenImageIO as oiio


def uv_from_direction(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mitsuba's envmap mapping: u = atan2(x, -z) / 2pi (wrapped to [0, 1)), v = acos(y) / pi."""
    u = np.arctan2(d[..., 0], -d[..., 2]) * np.float32(0.5 / math.pi)
    u = u - np.floor(u)
    v = np.arccos(np.clip(d[..., 1], -1.0, 1.0)) * np.float32(1.0 / math.pi)
    return u, v


def latlong_directions(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction of every texel centre (H, W, 3) and each row's texel solid angle (H,)."""
    phi = (np.arange(width) + 0.5) / width * 2 * math.pi
    theta = (np.arange(height) + 0.5) / height * math.pi
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    d = np.stack(np.broadcast_arrays(st * np.sin(phi)[None], ct, -st * np.cos(phi)[None]), -1)
    solid_angle = (2 * math.pi / width) * (math.pi / height) * np.sin(theta)
    return d.astype(np.float32), solid_angle.astype(np.float32)


def rotate_y(d: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate directions about +Y by ``degrees`` (right-handed)."""
    if degrees == 0.0:
        return d
    a = math.radians(degrees)
    c, s = np.float32(math.cos(a)), np.float32(math.sin(a))
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    return np.stack([c * x + s * z, y, -s * x + c * z], -1)


def sample_latlong(latlong: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Bilinear look-up of a lat-long map (H, W, C) in directions d (..., 3), wrapping around in u."""
    h, w, _ = latlong.shape
    u, v = uv_from_direction(d)
    x = u * w - 0.5
    y = np.clip(v * h - 0.5, 0, h - 1)
    x0 = np.floor(x)
    y0 = np.minimum(np.floor(y), h - 2) if h > 1 else np.zeros_like(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0 = x0.astype(np.int64) % w
    x1 = (x0 + 1) % w
    y0 = y0.astype(np.int64)
    y1 = np.minimum(y0 + 1, h - 1)
    top = latlong[y0, x0] * (1 - fx) + latlong[y0, x1] * fx
    bottom = latlong[y1, x0] * (1 - fx) + latlong[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def resize_latlong(latlong: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-averaging resize, so a small bright sun keeps its energy."""
    h, w, c = latlong.shape
    if (w, h) == (width, height):
        return latlong
    if w % width == 0 and h % height == 0:
        return latlong.reshape(height, h // height, width, w // width, c).mean(axis=(1, 3))
    src = oiio.ImageBuf(np.ascontiguousarray(latlong, dtype=np.float32))
    dst = oiio.ImageBufAlgo.resize(src, filtername="box", roi=oiio.ROI(0, width, 0, height, 0, 1, 0, c))
    return np.asarray(dst.get_pixels(oiio.FLOAT), np.float32).reshape(height, width, c)
