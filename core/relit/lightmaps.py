"""Light maps prefiltered from a lat-long environment (Total Relighting's diffuse and specular maps).

Diffuse: the exact cosine convolution of the environment (irradiance / pi), integrated texel by texel
on a downsampled map. It is measured against Mitsuba in tests; second-order spherical harmonics were
not used because their ringing under a sun costs several dB there.
Specular: exact GGX reflection tables at several roughnesses for a view along +Z, indexed by normal
(see ``specular_table``), blended per pixel. Orientation is Mitsuba's ``envmap``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import OpenImageIO as oiio

from .errors import RelitError

DIFFUSE_SIZE = (64, 32)  # output map; irradiance is smooth
DIFFUSE_SOURCE_SIZE = (128, 64)
SPECULAR_ROUGHNESS = (0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0)  # GGX alpha of each prefiltered level
MIRROR_SOURCE_WIDTH = 512  # roughness 0 samples the environment itself at up to this width
TABLE_TEXELS_PER_LOBE = 12.0  # table width ~ this * pi / alpha (1% rms vs brute force, alpha >= 0.3, orthographic)
TABLE_SOURCE_WIDTH = 128
TABLE_MAX_WIDTH = 128  # build time: about 1 s per environment and rotation on 2 cores


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


def _convolve(latlong: np.ndarray, out_size: tuple[int, int], src_size: tuple[int, int], kernel) -> np.ndarray:
    """out(d) = sum over texels of L(l) k(d.l) dw: exact integration over the source texels."""
    src, dirs, omega = _source(latlong, src_size, 0.0)
    out_dirs = latlong_directions(*out_size)[0].reshape(-1, 3)
    out = np.empty((out_dirs.shape[0], src.shape[1]), np.float32)
    for start in range(0, out_dirs.shape[0], 1024):  # bounded memory: 1024 x texels at a time
        out[start:start + 1024] = (kernel(out_dirs[start:start + 1024] @ dirs.T) * omega) @ src
    return out.reshape(out_size[1], out_size[0], -1)


def ggx_d(cos_h: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    a2 = np.square(alpha)
    return a2 / (math.pi * np.square(np.square(cos_h) * (a2 - 1) + 1))


def smith_g1(cos_t: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """Separable Smith masking for GGX (what Mitsuba's microfacet BSDFs use)."""
    c2 = np.clip(np.square(cos_t), 1e-12, 1.0)
    return 2.0 / (1.0 + np.sqrt(1.0 + np.square(alpha) * (1.0 - c2) / c2))


def _source(latlong: np.ndarray, size: tuple[int, int], rotation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texel radiance (N, 3), direction in the camera frame (N, 3) and solid angle (N,) of a resized map."""
    src = resize_latlong(latlong, *size).reshape(-1, latlong.shape[2]).astype(np.float32)
    dirs, omega = latlong_directions(*size)
    return src, rotate_y(dirs.reshape(-1, 3), rotation), np.repeat(omega, size[0])


def specular_table(latlong: np.ndarray, alpha: float, rotation: float = 0.0) -> np.ndarray:
    """Exact GGX reflection of the environment seen along +Z, indexed by normal direction (lat-long).

    Returns (h, w, 6): channels 0-2 weight F0 and 3-5 are added (Schlick: F = F0 (1 - Fc) + Fc), so
    specular = F0 * T[..., :3] + T[..., 3:]. Unlike the split-sum prefilter (which assumes n = v = r)
    this keeps the lobe's stretch at grazing views, where a portrait's silhouette is.
    """
    width = int(min(TABLE_MAX_WIDTH, max(32, 2 ** math.ceil(math.log2(TABLE_TEXELS_PER_LOBE * math.pi / alpha)))))
    out_size = (width, width // 2)
    src, dirs, omega = _source(latlong, (min(width, TABLE_SOURCE_WIDTH), min(width, TABLE_SOURCE_WIDTH) // 2), rotation)
    view = np.float32([0, 0, 1])
    half = dirs + view
    half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-8)
    fc = (1 - np.clip(half @ view, 0, 1)) ** 5
    normals = latlong_directions(*out_size)[0].reshape(-1, 3)
    out = np.zeros((normals.shape[0], 6), np.float32)
    front = np.flatnonzero(normals @ view > 0)
    for start in range(0, len(front), 512):
        idx = front[start:start + 512]
        n = normals[idx]
        nv = n @ view
        nl = n @ dirs.T
        weight = ggx_d(n @ half.T, alpha) * smith_g1(nv, alpha)[:, None] * smith_g1(np.maximum(nl, 1e-4), alpha)
        weight = np.where(nl > 0, weight * omega / (4 * nv[:, None]), 0.0).astype(np.float32)
        out[idx, :3] = (weight * (1 - fc)) @ src
        out[idx, 3:] = (weight * fc) @ src
    return out.reshape(out_size[1], out_size[0], 6)


def _mirror_size(width: int) -> tuple[int, int]:
    w = min(width, MIRROR_SOURCE_WIDTH)
    return w, w // 2


@dataclass
class LightMaps:
    """An environment's prefiltered maps for one rotation (exposure and tint apply at look-up)."""

    diffuse: np.ndarray  # (h, w, 3) irradiance / pi, indexed by normal in the environment's own frame
    mirror: np.ndarray  # the environment itself (roughness 0), in its own frame
    specular: tuple[np.ndarray, ...]  # per SPECULAR_ROUGHNESS level, (h, w, 6) indexed by camera-frame normal
    rotation: float

    @classmethod
    def from_latlong(cls, latlong: np.ndarray, rotation: float = 0.0) -> "LightMaps":
        h, w, c = latlong.shape
        if w != 2 * h or c != 3:
            raise RelitError(f"a lat-long environment must be RGB and twice as wide as tall, got {w}x{h}x{c}")
        diffuse = _convolve(latlong, DIFFUSE_SIZE, DIFFUSE_SOURCE_SIZE, lambda c_: np.maximum(c_, 0) / math.pi)
        tables = tuple(specular_table(latlong, a, rotation) for a in SPECULAR_ROUGHNESS)
        return cls(diffuse, resize_latlong(latlong, *_mirror_size(w)), tables, rotation)

    def irradiance(self, normals: np.ndarray) -> np.ndarray:
        return sample_latlong(self.diffuse, rotate_y(normals, -self.rotation))

    def specular_light(self, normals: np.ndarray, view: np.ndarray, roughness: np.ndarray,
                       f0: np.ndarray) -> np.ndarray:
        """GGX specular radiance (M, 3), blending the two levels that bracket each pixel's roughness.

        The tables are built for a view along +Z; for another view (perspective) the normal that
        reflects +Z into the same reflection direction is looked up, so highlights stay in place.
        """
        nv = np.einsum("ij,ij->i", normals, view)
        reflect = 2 * nv[:, None] * normals - view
        lookup = reflect + np.float32([0, 0, 1])
        lookup /= np.maximum(np.linalg.norm(lookup, axis=1, keepdims=True), 1e-8)
        alpha = np.clip(roughness, 0.0, 1.0)
        f0 = f0[:, None]
        out = np.zeros(normals.shape, np.float32)
        levels = (0.0,) + SPECULAR_ROUGHNESS
        for i in range(len(levels) - 1):
            lo, hi = levels[i], levels[i + 1]
            sel = (alpha >= lo) & ((alpha < hi) | (i == len(levels) - 2))
            if not sel.any():
                continue
            t = ((alpha[sel] - lo) / (hi - lo))[:, None]
            upper = sample_latlong(self.specular[i], lookup[sel])
            upper = f0[sel] * upper[:, :3] + upper[:, 3:]
            if i == 0:
                fc = (1 - np.clip(nv[sel], 0, 1))[:, None] ** 5
                lower = (sample_latlong(self.mirror, rotate_y(reflect[sel], -self.rotation))
                         * (f0[sel] * (1 - fc) + fc) * (nv[sel] > 0)[:, None])
            else:
                lower = sample_latlong(self.specular[i - 1], lookup[sel])
                lower = f0[sel] * lower[:, :3] + lower[:, 3:]
            out[sel] = lower * (1 - t) + upper * t
        return out
