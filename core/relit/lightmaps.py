"""Light maps prefiltered from a lat-long environment (Total Relighting's diffuse and specular maps).

All maps are built in the camera frame for one environment rotation and stored as octahedral
tables (a square map of the sphere whose look-up needs no trigonometry), so shading a pixel is one
index computation and a few gathers.

Diffuse: the exact cosine convolution of the environment (irradiance / pi), integrated texel by
texel on a downsampled map. Second-order spherical harmonics were not used: their ringing under a
sun costs accuracy.
Specular: exact GGX reflection for a view along +Z at several roughnesses, indexed by normal (see
``_specular_level``), blended per pixel. Orientation is Mitsuba's ``envmap``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .brdf import ggx_d, smith_g1
from .errors import RelitError
from .latlong import latlong_directions, resize_latlong, rotate_y, sample_latlong
from .vectors import normalize

DIFFUSE_OCT = 48  # octahedral size of the irradiance table; irradiance is smooth
DIFFUSE_SOURCE_SIZE = (128, 64)
SPECULAR_ROUGHNESS = (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0)  # GGX alpha of each level; 0 is a mirror
SPECULAR_OCT = 128  # octahedral size every table is stored at
UNIFORM_TABLES = 8  # blended tables of one roughness and F0 kept per light maps (1.5 MB each)
TEXELS_PER_LOBE = 12.0  # a level is integrated at size ~ this * pi / alpha (1% rms vs brute force, alpha 0.45)
MIRROR_SOURCE_WIDTH = 512  # the mirror level samples the environment itself at up to this width
KEY_SHARE = 0.5  # the brightest texels holding this share of the power become key lights (shadowed)
KEY_MAX = 4  # at most this many key lights, the most powerful regions first
KEY_SOURCE_SIZE = (128, 64)
# A key light's shadow rays go in one direction per KEY_SHADOW_SPACING radians of its region's angular
# spread (the standard deviation along its longest extent), at most KEY_SHADOW_SAMPLES: a sun or a softbox
# takes one, a setting sun's glow along the horizon eight (docs/engine.md has the measurements)
KEY_SHADOW_SAMPLES = 8
KEY_SHADOW_SPACING = math.radians(3.0)


def oct_directions(size: int) -> np.ndarray:
    """Unit direction of every texel centre of an octahedral map (size, size, 3); +Z is the centre."""
    t = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    u, v = np.meshgrid(t, -t)  # rows go down, +Y up
    z = 1 - np.abs(u) - np.abs(v)
    x = np.where(z >= 0, u, (1 - np.abs(v)) * np.sign(u))
    y = np.where(z >= 0, v, (1 - np.abs(u)) * np.sign(v))
    d = np.stack([x, y, z], -1)
    return normalize(d)


def oct_coords(x: np.ndarray, y: np.ndarray, z: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """Where directions (their components, any length: the octahedral map does not need them unit) fall
    in an octahedral table: the flat index of the texel at the top left of each one's bilinear
    footprint, and the fractions toward the next column and row."""
    a = np.abs(x) + np.abs(y) + np.abs(z)
    u, v = x / a, y / a
    back = z < 0
    if back.any():
        ub, vb = u[back], v[back]
        u[back], v[back] = (1 - np.abs(vb)) * np.sign(ub), (1 - np.abs(ub)) * np.sign(vb)
    half = np.float32(size / 2)
    col = np.clip(u * half + (half - 0.5), 0, size - 1.001)
    row = np.clip((half - 0.5) - v * half, 0, size - 1.001)
    c0, r0 = col.astype(np.int32), row.astype(np.int32)
    return r0 * size + c0, col - c0, row - r0


def bilinear_table(table: np.ndarray, size: int) -> np.ndarray:
    """A flat (N, C) octahedral table (or several, level after level) as (4, C, N): per texel the
    coefficients of the bilinear patch to its right and below, a + b fx + fy (c + d fx). Channel-major,
    so a look-up reads contiguous rows and its arithmetic runs on contiguous arrays (about twice as fast
    as weighting four (M, C) gathers)."""
    n = len(table)
    i = np.arange(n)
    r00, r10, r01, r11 = (table[np.minimum(i + k, n - 1)] for k in (0, 1, size, size + 1))
    return np.ascontiguousarray(np.stack([r00, r10 - r00, r01 - r00, r11 - r10 - r01 + r00]).transpose(0, 2, 1))


def lookup(coefficients: np.ndarray, coords: tuple[np.ndarray, ...], offset: np.ndarray | int = 0) -> np.ndarray:
    """Bilinear values of a ``bilinear_table`` at ``oct_coords`` (``offset`` selects a level): (M, C), a
    transposed view of the (C, M) array the arithmetic makes."""
    index, fx, fy = coords
    a, b, c, d = (np.take(k, index + offset, axis=1) for k in coefficients)
    d *= fx  # in place, on the gathered copies: a + fx b + fy (c + fx d)
    d += c
    d *= fy
    b *= fx
    b += a
    b += d
    return b.T


def _source(latlong: np.ndarray, size: tuple[int, int], rotation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texel radiance (N, 3), direction in the camera frame (N, 3) and solid angle (N,) of a resized map."""
    src = resize_latlong(latlong, *size).reshape(-1, latlong.shape[2]).astype(np.float32)
    dirs, omega = latlong_directions(*size)
    return src, rotate_y(dirs.reshape(-1, 3), rotation), np.repeat(omega, size[0])


def _irradiance(latlong: np.ndarray, rotation: float) -> np.ndarray:
    """Irradiance / pi for every octahedral normal direction: exact integration over the source texels."""
    src, dirs, omega = _source(latlong, DIFFUSE_SOURCE_SIZE, rotation)
    normals = oct_directions(DIFFUSE_OCT).reshape(-1, 3)
    out = np.empty((normals.shape[0], src.shape[1]), np.float32)  # several maps at once: their channels side by side
    for start in range(0, normals.shape[0], 1024):  # bounded memory: 1024 x texels at a time
        out[start:start + 1024] = (np.maximum(normals[start:start + 1024] @ dirs.T, 0) * omega) @ src
    return out / np.float32(math.pi)


def _specular_level(latlong: np.ndarray, alpha: float, rotation: float) -> np.ndarray:
    """Exact GGX reflection of the environment seen along +Z, for every octahedral normal: (N, 6).

    Channels 0-2 weight F0 and 3-5 are added (Schlick: F = F0 (1 - Fc) + Fc), so
    specular = F0 * T[:, :3] + T[:, 3:]. Unlike the split-sum prefilter (which assumes n = v = r)
    this keeps the lobe's stretch at grazing views, where a portrait's silhouette is.
    Roughness 0 is the mirror: the environment in the reflected direction.
    """
    view = np.float32([0, 0, 1])
    size = SPECULAR_OCT if alpha == 0 else int(min(SPECULAR_OCT, max(16, 2 ** math.ceil(math.log2(
        TEXELS_PER_LOBE * math.pi / alpha)))))
    normals = oct_directions(size).reshape(-1, 3)
    out = np.zeros((normals.shape[0], 6), np.float32)
    front = np.flatnonzero(normals @ view > 0)
    if alpha == 0.0:
        n = normals[front]
        nv = n @ view
        reflect = 2 * nv[:, None] * n - view
        width = min(latlong.shape[1], MIRROR_SOURCE_WIDTH)
        radiance = sample_latlong(resize_latlong(latlong, width, width // 2), rotate_y(reflect, -rotation))
        fc = ((1 - nv) ** 5)[:, None]
        out[front, :3], out[front, 3:] = radiance * (1 - fc), radiance * fc
        return out
    # the lobe is twice as wide over light directions as over normals: half the resolution suffices
    src, dirs, omega = _source(latlong, (max(32, size // 2), max(16, size // 4)), rotation)
    half = normalize(dirs + view)
    fc = (1 - np.clip(half @ view, 0, 1)) ** 5
    for start in range(0, len(front), 512):
        idx = front[start:start + 512]
        n = normals[idx]
        nv = n @ view
        nl = n @ dirs.T
        weight = ggx_d(n @ half.T, alpha) * smith_g1(nv, alpha)[:, None] * smith_g1(np.maximum(nl, 1e-4), alpha)
        weight = np.where(nl > 0, weight * omega / (4 * nv[:, None]), 0.0).astype(np.float32)
        out[idx, :3] = (weight * (1 - fc)) @ src
        out[idx, 3:] = (weight * fc) @ src
    return resample_oct(out, size, SPECULAR_OCT)


def resample_oct(table: np.ndarray, size: int, new_size: int) -> np.ndarray:
    """A flat octahedral table (size^2, C) at another size, bilinearly."""
    if size == new_size:
        return table
    return lookup(bilinear_table(table, size), oct_coords(*oct_directions(new_size).reshape(-1, 3).T, size))


@dataclass
class KeyLight:
    """A bright region of the environment split off so it can cast shadows: shaded from its own exact
    irradiance table (``diffuse``), only its visibility taken along ``directions`` (each pixel weighing them
    by the light they bring it: ``relit.relight.key_visibility``), so that where nothing occludes it the
    residual and the keys sum to the whole environment's light."""

    directions: np.ndarray  # (S, 3) unit, camera frame, toward the light: where its shadow rays go
    diffuse: np.ndarray  # (texels, 3) irradiance / pi of this region alone, SPECULAR_OCT octahedral


def key_lights(latlong: np.ndarray, rotation: float) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Split an environment into a residual map and up to KEY_MAX key lights, each with its own map.

    The texels holding KEY_SHARE of the power are grouped into connected regions; each region keeps
    the threshold radiance in the residual (same chroma) and the excess becomes its light. The split is
    made at full resolution, the residual being what the keys leave, so the residual's and the keys' maps
    sum exactly to the environment. Returns the residual and, per key, (its direction, its map); the
    caller convolves every map at once.
    """
    from scipy.ndimage import label

    small = resize_latlong(latlong, *KEY_SOURCE_SIZE)
    dirs, omega = latlong_directions(*KEY_SOURCE_SIZE)
    lum = small.mean(axis=2)
    power = lum * omega[:, None]
    order = np.sort(power.ravel())[::-1]
    cut = order[min(np.searchsorted(np.cumsum(order) / max(order.sum(), 1e-12), KEY_SHARE), order.size - 1)]
    bright = power >= cut
    regions, count = label(bright, structure=np.ones((3, 3)))
    if count == 0:
        return latlong, []
    totals = np.bincount(regions.ravel(), weights=power.ravel(), minlength=count + 1)[1:]
    keep = np.argsort(totals)[::-1][:KEY_MAX] + 1
    threshold = cut / omega[:, None]  # radiance (luminance) at the cut, per row
    removed = 1.0 - np.minimum(1.0, threshold / np.maximum(lum, 1e-12))  # the share of a texel a key takes
    h, w = latlong.shape[:2]
    rows = np.arange(h) * KEY_SOURCE_SIZE[1] // h  # each full-resolution texel's texel of the small map
    cols = np.arange(w) * KEY_SOURCE_SIZE[0] // w
    residual = latlong.astype(np.float32).copy()
    lights = []
    for r in keep:
        sel = regions == r
        share = np.where(sel, removed, 0.0).astype(np.float32)
        weight = (power * share)[sel]  # the power the key takes from each of its texels
        if weight.sum() <= 0:  # a region exactly at the threshold has nothing to give
            continue
        key_map = latlong * share[rows][:, cols][..., None]
        residual -= key_map
        lights.append((rotate_y(shadow_directions(dirs[sel], weight), rotation).astype(np.float32),
                       key_map.astype(np.float32)))
    return residual, lights


def shadow_directions(directions: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(S, 3) unit directions that share a key region's power equally: the region's texels ordered along its
    longest extent, one direction at the middle of each equal share (a setting sun's glow spans tens of
    degrees of horizon, and its shadow is that soft); S from the region's spread (KEY_SHADOW_SPACING)."""
    centre = (directions * weight[:, None]).sum(axis=0) / weight.sum()
    offsets = directions - centre
    variance, axes = np.linalg.eigh((offsets * weight[:, None]).T @ offsets / weight.sum())
    count = int(np.clip(np.ceil(np.sqrt(max(variance[-1], 0.0)) / KEY_SHADOW_SPACING), 1, KEY_SHADOW_SAMPLES))
    if count == 1:  # a compact light: its power's mean direction
        return centre[None] / np.linalg.norm(centre)
    order = np.argsort(offsets @ axes[:, -1])
    share = np.cumsum(weight[order]) / weight.sum()
    picked = order[np.minimum(np.searchsorted(share, (np.arange(count) + 0.5) / count), len(order) - 1)]
    return directions[picked] / np.linalg.norm(directions[picked], axis=1, keepdims=True)


def _bracket(roughness: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """For each roughness, the specular level at or below it (at most the last but one) and the float32
    weight of the level above: the two levels a look-up blends."""
    level = np.interp(np.clip(roughness, 0, 1), SPECULAR_ROUGHNESS, np.arange(len(SPECULAR_ROUGHNESS)))
    low = np.minimum(np.asarray(level).astype(np.int32), len(SPECULAR_ROUGHNESS) - 2)
    return low, (level - low).astype(np.float32)


@dataclass
class LightMaps:
    """An environment's prefiltered maps in the camera frame for one rotation (exposure and tint apply
    at look-up): flat octahedral tables of SPECULAR_OCT^2 texels."""

    diffuse: np.ndarray  # (texels, 3) irradiance / pi
    specular: np.ndarray  # (levels * texels, 6), level after level
    rotation: float
    residual_diffuse: np.ndarray  # (texels, 3) irradiance / pi of the environment less its key lights
    keys: list[KeyLight]

    @classmethod
    def from_latlong(cls, latlong: np.ndarray, rotation: float = 0.0) -> "LightMaps":
        h, w, c = latlong.shape
        if w != 2 * h or c != 3:
            raise RelitError(f"a lat-long environment must be RGB and twice as wide as tall, got {w}x{h}x{c}")
        levels = [_specular_level(latlong, a, rotation) for a in SPECULAR_ROUGHNESS]
        residual, split = key_lights(latlong, rotation)
        maps = [latlong, residual, *(key_map for _, key_map in split)]  # convolved together: one pass
        tables = resample_oct(_irradiance(np.concatenate(maps, axis=2), rotation), DIFFUSE_OCT, SPECULAR_OCT)
        keys = [KeyLight(direction, np.ascontiguousarray(tables[:, 6 + 3 * i:9 + 3 * i]))
                for i, (direction, _) in enumerate(split)]
        return cls(np.ascontiguousarray(tables[:, :3]), np.concatenate(levels), rotation,
                   np.ascontiguousarray(tables[:, 3:6]), keys)

    @cached_property
    def _diffuse(self) -> np.ndarray:
        return bilinear_table(self.diffuse, SPECULAR_OCT)

    @cached_property
    def _residual_diffuse(self) -> np.ndarray:
        return bilinear_table(self.residual_diffuse, SPECULAR_OCT)

    @cached_property
    def _keys(self) -> list[np.ndarray]:
        return [bilinear_table(k.diffuse, SPECULAR_OCT) for k in self.keys]

    def key_irradiance(self, normals: np.ndarray) -> list[np.ndarray]:
        """Each key light's irradiance / pi (M, 3) for unit normals (M, 3), unoccluded."""
        at = oct_coords(*normals.T, SPECULAR_OCT)
        return [lookup(table, at) for table in self._keys]

    @cached_property
    def _specular(self) -> np.ndarray:
        return bilinear_table(self.specular, SPECULAR_OCT)

    @cached_property
    def _uniforms(self) -> dict[tuple[float, float, str], np.ndarray]:
        return {}

    def _uniform(self, roughness: float, f0: float, diffuse: str = "") -> np.ndarray:
        """The bilinear specular table of one roughness and F0 (no such passes: the usual case), the
        two levels bracketing the roughness and Fresnel blended in, after the channels of the table
        named ``diffuse`` if one is. Kept, so that a frame's chunks and a sequence's frames build it once."""
        key = (roughness, f0, diffuse)
        if key not in self._uniforms:
            low, t = _bracket(roughness)
            texels = SPECULAR_OCT * SPECULAR_OCT
            lo, hi = (self.specular[k * texels:(k + 1) * texels] for k in (int(low), int(low) + 1))
            f = np.float32(f0)
            table = (f * lo[:, :3] + lo[:, 3:]) * (1 - t) + (f * hi[:, :3] + hi[:, 3:]) * t
            if diffuse:
                table = np.concatenate([getattr(self, diffuse), table], axis=1)
            if len(self._uniforms) >= UNIFORM_TABLES:  # a roughness knob being dragged: keep the latest
                self._uniforms.pop(next(iter(self._uniforms)), None)  # the chunks' threads may race here
            self._uniforms[key] = bilinear_table(table, SPECULAR_OCT)
        return self._uniforms[key]

    def irradiance(self, normals: np.ndarray) -> np.ndarray:
        """Irradiance / pi (M, 3) for unit normals (M, 3)."""
        return lookup(self._diffuse, oct_coords(*normals.T, SPECULAR_OCT))

    def shade(self, normals: np.ndarray, view: np.ndarray, roughness: np.ndarray | float,
              f0: np.ndarray | float, residual: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Diffuse (irradiance / pi; of the residual environment if ``residual``, for when the key
        lights are shaded separately with shadows) and GGX specular radiance, (M, 3) each.

        ``roughness`` and ``f0`` are per pixel (M,) or one value for all (no such pass: the usual case).
        The specular tables are built for a view along +Z; for another view (perspective) the normal
        that reflects +Z into the same reflection direction is looked up, so highlights stay in place.
        The two levels bracketing each pixel's roughness are blended.
        """
        texels = SPECULAR_OCT * SPECULAR_OCT
        plain = "residual_diffuse" if residual else "diffuse"
        diffuse_table = self._residual_diffuse if residual else self._diffuse
        nx, ny, nz = normals.T
        orthographic = bool(np.all(view[:, 2] == 1.0))
        at_normal = oct_coords(nx, ny, nz, SPECULAR_OCT)
        if orthographic:
            at_lookup = at_normal
        else:  # reflect(-view) + Z, which need not be unit for the octahedral map
            vx, vy, vz = view.T
            k = 2 * (nx * vx + ny * vy + nz * vz)
            at_lookup = oct_coords(k * nx - vx, k * ny - vy, k * nz - vz + 1, SPECULAR_OCT)
        if np.ndim(roughness) == 0 and np.ndim(f0) == 0:
            # one roughness and F0 for every pixel: the two levels and Fresnel blended into one table
            if orthographic:  # diffuse shares the look-up
                both = lookup(self._uniform(float(roughness), float(f0), plain), at_normal)
                return both[:, :3], both[:, 3:]
            return lookup(diffuse_table, at_normal), lookup(self._uniform(float(roughness), float(f0)), at_lookup)
        roughness, f0 = np.broadcast_to(roughness, len(normals)), np.broadcast_to(f0, len(normals))
        low, t = _bracket(roughness)
        t = t[:, None]
        offset = low * texels
        value = (lookup(self._specular, at_lookup, offset) * (1 - t)
                 + lookup(self._specular, at_lookup, offset + texels) * t)
        return lookup(diffuse_table, at_normal), f0[:, None] * value[:, :3] + value[:, 3:]
