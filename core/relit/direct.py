"""Direct light from the user's lights (directional, point, spot, area) at each pixel: Lambert's diffuse
and the GGX lobe under Schlick Fresnel, as Mitsuba's ``roughplastic``; an area light in closed form for
its diffuse light and as a grid of point emitters for its highlight."""
from __future__ import annotations

import math

import numpy as np

from .brdf import ggx_d, smith_g1
from .errors import RelitError
from .lighting import AreaLight, DirectionalLight, Light, PointLight, SpotLight
from .vectors import dot3

# An area light's highlight is a grid of point emitters, per side ceil(AREA_SAMPLES_PER_LOBE * angle / alpha) + 1
# within AREA_GRID (angle: the light's size seen from the subject; alpha: the 10th percentile of the roughness):
# 1% rms of the peak or better against a 32 x 32 grid on a sphere, for lights of 0.1-0.6 rad and alpha 0.1-0.7
# (up to 1.6% for the sharpest lobe under the largest light, where the cap holds)
AREA_SAMPLES_PER_LOBE = 1.5
AREA_GRID = (2, 6)
AREA_SHADOW_SAMPLES = 2  # per side, for soft shadows
# Vectors here are component-major, (3, M): each component is a contiguous array, about twice as fast
# in numpy as (M, 3) rows.


def _ggx_specular(n: np.ndarray, v: np.ndarray, l: np.ndarray, nv: np.ndarray, view: np.ndarray,
                  alpha: np.ndarray | float, f0: np.ndarray | float) -> np.ndarray:
    """GGX BRDF times n.l (per unit irradiance arriving normal to l), Schlick Fresnel: (M,), for unit
    v and l. ``nv`` = n.v and ``view`` = G1(v) / (4 n.v) (0 facing away) are the view's terms, shared
    by every light. With h = v + l unnormalised, |h|^2 = 2 + 2 v.l, n.h = n.v + n.l and v.h = 1 + v.l,
    so the half vector is never built."""
    vl, nl = dot3(v, l), dot3(n, l)
    inv = 1 / np.sqrt(np.maximum(2 + 2 * vl, np.float32(1e-12)))
    c = 1 - np.clip((1 + vl) * inv, 0, 1)
    fresnel = f0 + (1 - f0) * (c * c) * (c * c) * c
    g1l = smith_g1(nl, alpha) * (nl > 0)  # smith_g1 is finite for any cosine
    return fresnel * ggx_d((nv + nl) * inv, alpha) * g1l * view


def direct_light(light: Light, p: np.ndarray, n: np.ndarray, v: np.ndarray, rough: np.ndarray | float,
           f0: np.ndarray | float, grid: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Unshadowed diffuse (irradiance / pi) and specular radiance of one light, per pixel (M,), for
    positions, normals and view vectors (3, M); an area light's highlight from ``grid`` x ``grid``
    point emitters."""
    m = p.shape[1]
    diffuse = np.zeros(m, np.float32)
    specular = np.zeros(m, np.float32)
    alpha = np.maximum(rough, np.float32(1e-3))
    nv = dot3(n, v)
    view = np.where(nv > 0, smith_g1(nv, alpha) / (4 * np.maximum(nv, np.float32(1e-4))), 0)
    for d, _, e in _incident(light, p, grid):
        if not isinstance(light, AreaLight):
            diffuse += e * np.maximum(dot3(n, d), 0) / np.float32(math.pi)
        specular += e * _ggx_specular(n, v, d, nv, view, alpha, f0)
    if isinstance(light, AreaLight):
        diffuse = _area_irradiance(light, p, n) / np.float32(math.pi)
    return diffuse, specular


def _area_irradiance(light: AreaLight, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Exact irradiance from a Lambertian rectangle at points with normals (3, M): Lambert's polygon
    formula on the part of the rectangle above each point's horizon.

    Where the whole rectangle is above, that is the sum of its four edges' terms; only the points whose
    tangent plane cuts it get the clipped polygon (``_clipped_sum``).
    """
    corners = light.corners().astype(np.float32)
    quad = [corner[:, None] - p for corner in corners]  # the corners seen from each point, (3, M) each
    unit = [_unit(q) for q in quad]
    total = _edge(unit[0], unit[1], n) + _edge(unit[1], unit[2], n) + _edge(unit[2], unit[3], n) \
        + _edge(unit[3], unit[0], n)
    up = np.stack([dot3(q, n) for q in quad]) > 0  # corners above the tangent plane
    some = up.any(axis=0)
    total *= some
    cut = np.flatnonzero(some & ~up.all(axis=0))
    if cut.size:
        total[cut] = _clipped_sum(corners, np.take(p, cut, axis=1), np.take(n, cut, axis=1))
    facing = np.asarray(light.direction, np.float32) @ (p - corners.mean(axis=0)[:, None]) > 0
    return np.where(facing, np.maximum(0.5 * light.radiance * total, 0), 0).astype(np.float32)


def _clipped_sum(corners: np.ndarray, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Lambert's sum over the part of a rectangle (4, 3) above the tangent planes of points with
    normals (3, M).

    The clipped polygon's edges are each edge's part above the plane, plus, where the plane cuts the
    rectangle, the segment along it from where the outline leaves the half-space to where it comes back:
    five edge terms per point, no per-point polygons to build.
    """
    quad = [corner[:, None] - p for corner in corners]
    height = [dot3(q, n) for q in quad]
    unit = [_unit(q) for q in quad]
    total = np.zeros(p.shape[1], np.float32)
    clipped = np.zeros(p.shape[1], bool)
    leave, back = np.zeros_like(p), np.zeros_like(p)  # where the outline leaves the half-space, and comes back
    for k in range(4):
        j = (k + 1) % 4
        up0, up1 = height[k] > 0, height[j] > 0
        crosses = up0 != up1
        t = height[k] / np.where(crosses, height[k] - height[j], 1)
        cut = _unit(quad[k] + t * (quad[j] - quad[k]))
        total += np.where(up0 | up1, _edge(np.where(up0, unit[k], cut), np.where(up1, unit[j], cut), n), 0)
        leave, back = np.where(up0 & ~up1, cut, leave), np.where(~up0 & up1, cut, back)
        clipped |= crosses
    return total + np.where(clipped, _edge(leave, back, n), 0)


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.sqrt(np.maximum(dot3(a, a), np.float32(1e-24)))


def _edge(a: np.ndarray, b: np.ndarray, n: np.ndarray) -> np.ndarray:
    """One edge's term of Lambert's formula for unit vertices a, b (3, M): the angle it subtends times
    the normal's component along its plane's normal."""
    cross = np.stack([b[1] * a[2] - b[2] * a[1], b[2] * a[0] - b[0] * a[2], b[0] * a[1] - b[1] * a[0]])
    sin = np.sqrt(dot3(cross, cross))
    return np.arctan2(sin, dot3(a, b)) / np.maximum(sin, np.float32(1e-12)) * dot3(cross, n)


def area_grid(light: AreaLight, p: np.ndarray, roughness: np.ndarray | float) -> int:
    """Point emitters per side that sample an area light finely enough for the highlights of the
    subject's points (3, M) with these roughnesses (see AREA_SAMPLES_PER_LOBE)."""
    delta = p[:, :: max(1, p.shape[1] // 4096)] - np.asarray(light.position, np.float32)[:, None]
    distance = float(np.median(np.sqrt(dot3(delta, delta))))
    alpha = float(np.percentile(np.ravel(roughness)[:: max(1, np.size(roughness) // 4096)], 10))
    angle = math.hypot(*light.size) / max(distance, 1e-6)
    n = math.ceil(AREA_SAMPLES_PER_LOBE * angle / max(alpha, 0.02)) + 1
    return int(np.clip(n, *AREA_GRID))


def _point_emitters(light: Light, grid: int) -> list[tuple[np.ndarray, float]]:
    """A positional light as point emitters: (position, intensity in W/sr along its axis) each.
    An area light is a grid x grid array of them (their cosine at the light is applied in ``_incident``)."""
    if isinstance(light, (PointLight, SpotLight)):
        return [(np.asarray(light.position, np.float32), light.intensity)]
    if isinstance(light, AreaLight):
        corners = light.corners()
        s = (np.arange(grid) + 0.5) / grid
        origin, du, dv = corners[0], corners[1] - corners[0], corners[3] - corners[0]
        area = light.size[0] * light.size[1]
        pts = origin + s[:, None, None] * du + s[None, :, None] * dv
        return [(q.astype(np.float32), light.radiance * area / grid ** 2) for q in pts.reshape(-1, 3)]
    raise RelitError(f"not a positional light: {light!r}")


def _incident(light: Light, p: np.ndarray, grid: int = 1) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For points (3, M): (unit direction to the emitter (3, M), distance (M,), irradiance normal to that
    direction (M,)) per emitter (an area light's ``grid`` x ``grid``)."""
    m = p.shape[1]
    if isinstance(light, DirectionalLight):
        d = np.broadcast_to(np.asarray(light.direction, np.float32)[:, None], (3, m))
        return [(d, np.full(m, np.inf, np.float32), np.full(m, light.irradiance, np.float32))]
    out = []
    for pos, power in _point_emitters(light, grid):
        delta = pos[:, None] - p
        dist = np.maximum(np.sqrt(dot3(delta, delta)), np.float32(1e-8))
        d = delta / dist
        e = np.float32(power) / (dist * dist)
        if isinstance(light, SpotLight):
            cos_a = -(np.asarray(light.direction, np.float32) @ d)
            angle = np.degrees(np.arccos(np.clip(cos_a, -1, 1)))
            e = e * np.clip((light.cutoff_angle - angle) / (light.cutoff_angle - light.beam_width), 0, 1)
        elif isinstance(light, AreaLight):
            e = e * np.maximum(-(np.asarray(light.direction, np.float32) @ d), 0)
        out.append((d.astype(np.float32, copy=False), dist.astype(np.float32, copy=False),
                    e.astype(np.float32, copy=False)))
    return out


def shadow_rays(light: Light, p: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Directions (3, M) and distances to march shadow rays from points (3, M) (a coarser grid than the
    shading's for area lights)."""
    return [(d, dist) for d, dist, _ in _incident(light, p, AREA_SHADOW_SAMPLES)]
