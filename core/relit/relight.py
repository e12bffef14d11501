"""Physical relighting of a pass stack: diffuse and specular light, self-shadowing, relit, composite.

relit = albedo * diffuse + specular, where diffuse is irradiance / pi and specular is the GGX
(Mitsuba ``roughconductor``/``roughplastic`` lobe) radiance scaled by Schlick Fresnel from
``specular_strength`` (F0). All maths runs on the pixels the matte covers.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import PyOpenColorIO as ocio

from .camera import Camera
from .environment import light_maps
from .errors import RelitError
from .geometry import surface_height
from .lighting import AreaLight, DirectionalLight, Light, Lighting, PointLight, SpotLight
from .lightmaps import ggx_d, smith_g1
from .passes import PassStack, check_unit_normals
from .upsample import bilinear
from .vectors import dot, dot3, normalize

DEFAULT_ROUGHNESS = 0.45  # skin: a broad sheen
DEFAULT_SPECULAR_STRENGTH = 0.028  # F0 of skin (index of refraction about 1.4)
# Pixels shaded per task: each task's arrays stay in a core's cache (256k-pixel halves of a 1080p
# matte shade 1.6x slower on 2 threads than these chunks do); smaller frames are shaded on one thread
PIXELS_PER_CHUNK = 65536
PIXEL = np.dtype((np.void, 12))  # one RGB float32 pixel as a record
# An area light's highlight is a grid of point emitters, per side ceil(AREA_SAMPLES_PER_LOBE * angle / alpha) + 1
# within AREA_GRID (angle: the light's size seen from the subject; alpha: the 10th percentile of the roughness):
# 1% rms of the peak or better against a 32 x 32 grid on a sphere, for lights of 0.1-0.6 rad and alpha 0.1-0.7
# (up to 1.6% for the sharpest lobe under the largest light, where the cap holds)
AREA_SAMPLES_PER_LOBE = 1.5
AREA_GRID = (2, 6)
AREA_SHADOW_SAMPLES = 2  # per side, for soft shadows


@dataclass
class ShadowSettings:
    """Screen-space shadow rays marched through the depth pass."""

    enabled: bool = True
    steps: int = 48
    max_resolution: int = 480  # rays are marched at this long side, then the visibility is upsampled
    thickness: float = 0.03  # assumed occluder depth, fraction of the subject distance (best vs Mitsuba)
    bias: float = 0.01  # fraction of the subject's depth; avoids self-shadowing acne


@dataclass
class OcclusionSettings:
    """Horizon-based occlusion of environment light from the depth pass (GTAO-style slices)."""

    enabled: bool = True  # compute the ``occlusion`` pass
    # Darken the environment's diffuse light by it (with multi-bounce). Off by default: against
    # Mitsuba's head (benchmarks/engine_accuracy.py) it helps direct light only (+1.2 dB) but costs
    # 0.2 dB once interreflections are counted, as they are in a photo. Compositors get the pass.
    apply: bool = False
    slices: int = 4  # screen directions, each searched both ways
    steps: int = 8
    radius: float = 0.08  # search radius, fraction of the subject distance
    bias: float = 0.15  # radians each horizon is lowered by: pixel-quantised samples of a convex surface
    max_resolution: int = 480


def _surface(stack: PassStack, camera: Camera) -> tuple[np.ndarray, str]:
    """Camera-space positions: from depth, or integrated from the normals when there is none."""
    if stack.depth is not None:
        return camera.positions(stack.depth), "depth pass"
    return camera.positions(height_from_normals(stack, camera)), "integrated from normals"


def height_from_normals(stack: PassStack, camera: Camera, distance: float = 1.0) -> np.ndarray:
    """A plausible z-depth from the normals, subject centred ``distance`` away.

    Gradients are zero outside the matte; the result is relative shape, good for self-shadowing, not metric.
    """
    h, w = stack.normals.shape[:2]
    inside = np.ones((h, w), bool) if stack.alpha is None else stack.alpha[..., 0] > 0.5
    z = surface_height(stack.normals, inside) * (camera.frame_width(distance) / w)
    return (distance - z).astype(np.float32)


def shadow_maps(lights: list[Light], points: np.ndarray, mask: np.ndarray, camera: Camera,
                settings: ShadowSettings, pool: ThreadPoolExecutor) -> list[np.ndarray]:
    """Visibility of each light from the subject (``mask``), at the reduced resolution the rays are
    marched at (1 off the subject; ``at_pixels`` brings them to the matte's pixels): screen-space rays
    marched through the depth, averaged over each light's shadow samples.

    Every light's rays are marched together, split in one part per core on ``pool``: long arrays, so
    that numpy's per-call cost and the GIL hold the cores back less than one task per light did.
    """
    h, w = mask.shape
    stride = max(1, math.ceil(max(h, w) / settings.max_resolution))
    sub_points = points[::stride, ::stride]
    sub_mask = mask[::stride, ::stride]
    p = np.ascontiguousarray(sub_points[sub_mask].T)
    per_light = [_shadow_rays(light, p) for light in lights]
    rays = [ray for light_rays in per_light for ray in light_rays]
    if not rays or not p.shape[1]:
        return [np.ones(sub_mask.shape, np.float32) for _ in lights]
    # only the subject occludes; one pixel of empty space around the frame takes the rays that leave it
    depth = np.full((sub_mask.shape[0] + 2, sub_mask.shape[1] + 2), np.inf, np.float32)
    depth[1:-1, 1:-1] = np.where(sub_mask, -sub_points[..., 2], np.inf)
    ahead = -p[2][np.isfinite(p[2])]
    subject = float(np.median(ahead)) if ahead.size else 1.0
    origins = np.tile(p, len(rays))
    directions = np.concatenate([d for d, _ in rays], axis=1)
    distances = np.concatenate([dist for _, dist in rays])
    bounds = np.linspace(0, origins.shape[1], (os.cpu_count() or 1) + 1).astype(int)
    tasks = [partial(_march, origins[:, a:b], directions[:, a:b], distances[a:b], depth, subject, camera, settings)
             for a, b in zip(bounds[:-1], bounds[1:])]
    visible = np.concatenate(list(pool.map(lambda task: task(), tasks))).reshape(len(rays), p.shape[1])
    out, first = [], 0
    for light_rays in per_light:
        vis = np.ones(sub_mask.shape, np.float32)
        vis[sub_mask] = visible[first:first + len(light_rays)].mean(axis=0)
        out.append(vis)
        first += len(light_rays)
    return out


def _march(p: np.ndarray, d: np.ndarray, dist: np.ndarray, depth: np.ndarray, subject: float, camera: Camera,
           settings: ShadowSettings) -> np.ndarray:
    """1 where the ray from p (3, M) along d (3, M) toward a light dist away never passes behind the
    depth surface (a frame padded by one empty pixel on each side) of a subject ``subject`` away."""
    sh, sw = depth.shape[0] - 2, depth.shape[1] - 2
    bias, thickness = np.float32(settings.bias * subject), np.float32(settings.thickness * subject)
    reach = np.minimum(dist, np.float32(4.0 * subject))
    pixel_size = camera.frame_width(subject) / sw
    start = np.float32(2.0 * pixel_size + settings.bias * subject)
    flat = depth.reshape(-1)
    occluded = np.zeros(p.shape[1], bool)
    for k in range(settings.steps):
        t = start + (reach - start) * np.float32(((k + 0.5) / settings.steps) ** 2)  # denser near the surface
        col, row, zq = camera.project((p + d * t).T, sh, sw)
        # clamped into the padding, then truncated: floor, as both are >= 0 there
        c = np.clip(col + 1, 0, sw + 1).astype(np.int32)
        r = np.clip(row + 1, 0, sh + 1).astype(np.int32)
        scene = np.take(flat, r * np.int32(sw + 2) + c)
        gap = zq - scene
        occluded |= (gap > bias) & (gap < thickness)
    return ((~occluded) | (reach <= start)).astype(np.float32)


def occlusion_map(points: np.ndarray, normals: np.ndarray, mask: np.ndarray, camera: Camera,
                  settings: OcclusionSettings) -> np.ndarray:
    """Cosine-weighted visible fraction of the hemisphere, from the depth's horizons, at the reduced
    resolution they are searched at (every ``stride``-th pixel; 1 off the subject).

    For each slice direction the highest horizon on both sides is found by stepping through the
    camera-space points; the cosine-weighted visibility between the horizons is integrated in closed
    form (Jimenez et al. 2016, "Practical real-time strategies for accurate indirect occlusion").
    Only occluders the camera sees count, as with screen-space shadows.
    """
    h, w = mask.shape
    stride = max(1, math.ceil(max(h, w) / settings.max_resolution))
    pts, sub_mask = points[::stride, ::stride], mask[::stride, ::stride]
    nrm = normals[::stride, ::stride]
    sh, sw = sub_mask.shape
    rows, cols = np.nonzero(sub_mask)
    p, n = pts[sub_mask], nrm[sub_mask]
    v = normalize(-p) if not camera.orthographic else np.broadcast_to(np.float32([0, 0, 1]), p.shape)
    depth = -p[:, 2]
    ahead = depth[depth > 0]  # a depth pass may hold no surface (0) under a soft matte's faint edge
    subject = float(np.median(ahead)) if ahead.size else 1.0
    radius_px = max(2.0, settings.radius * subject / camera.frame_width(subject) * sw)
    reach = np.float32(settings.radius * subject)
    # the points component-major, the off-subject ones and a border as wide as the search NaN: a step of
    # the search is then one shift of flat indices for every pixel, with no bounds to test
    pad = math.ceil(radius_px) + 1
    padded = np.full((3, sh + 2 * pad, sw + 2 * pad), np.nan, np.float32)
    padded[:, pad:-pad, pad:-pad] = np.where(sub_mask, np.moveaxis(pts, -1, 0), np.nan)
    flat, width = padded.reshape(3, -1), sw + 2 * pad
    at = (rows + pad) * width + cols + pad
    pc, vc = np.ascontiguousarray(p.T), np.ascontiguousarray(v.T)
    total = np.zeros(len(p), np.float32)
    for k in range(settings.slices):
        phi = math.pi * (k + 0.5) / settings.slices
        step = (math.cos(phi), -math.sin(phi))  # screen (col, row); +Y up is -row
        direction = np.float32([math.cos(phi), math.sin(phi), 0])  # the slice's screen axis in camera space
        t = normalize(direction - (v @ direction)[:, None] * v)  # in the slice, orthogonal to v
        nt, nv = dot(n, t), dot(n, v)
        n_len = np.sqrt(nt * nt + nv * nv)  # length of n projected onto the slice
        gamma = np.arctan2(nt, nv)  # its angle from v, positive toward +direction
        horizons = []
        for sign in (-1.0, 1.0):
            best = np.full(len(p), -1.0, np.float32)  # cos of the horizon angle from v
            for j in range(1, settings.steps + 1):
                offset = sign * radius_px * j / settings.steps
                delta = np.take(flat, at + round(step[1] * offset) * width + round(step[0] * offset), axis=1) - pc
                dist = np.sqrt(dot3(delta, delta))
                cos_h = dot3(delta, vc) / np.maximum(dist, np.float32(1e-8))
                best = np.where(np.isfinite(cos_h) & (dist < reach) & (cos_h > best), cos_h, best)
            horizons.append(np.arccos(np.clip(best, -1, 1)))
        h1 = np.maximum(-horizons[0] - settings.bias, gamma - math.pi / 2)
        h2 = np.minimum(horizons[1] + settings.bias, gamma + math.pi / 2)
        arc = 0.25 * (-np.cos(2 * h1 - gamma) + np.cos(gamma) + 2 * h1 * np.sin(gamma)) \
            + 0.25 * (-np.cos(2 * h2 - gamma) + np.cos(gamma) + 2 * h2 * np.sin(gamma))
        total += n_len * arc
    ao = np.ones((sh, sw), np.float32)
    ao[sub_mask] = np.clip(total / settings.slices, 0, 1)
    return ao


def multi_bounce(ao: np.ndarray, albedo: np.ndarray) -> np.ndarray:
    """Occlusion brightened by the light that bounces between the occluding surfaces, per colour
    channel (Jimenez et al. 2016's fit to path-traced ground truth)."""
    a = 2.0404 * albedo - 0.3324
    b = -4.7951 * albedo + 0.6417
    c = 2.7552 * albedo + 0.6903
    return np.maximum(ao, ((a * ao + b) * ao + c) * ao)


def at_pixels(maps: list[np.ndarray], shape: tuple[int, int], where: np.ndarray) -> list[np.ndarray]:
    """Each reduced-resolution (h, w) map's values (M,) at the full-resolution (``shape``) pixels with flat
    indices ``where``: bilinear, one look-up for all the maps of a size; exact where no reduction was made."""
    out: list[np.ndarray | None] = [None] * len(maps)
    for size in {m.shape for m in maps}:
        group = [i for i, m in enumerate(maps) if m.shape == size]
        stack = np.stack([maps[i] for i in group], -1)
        if size == shape:
            values = np.take(stack.reshape(-1, len(group)), where, axis=0)
        else:
            rows, cols = np.divmod(where, shape[1])
            y = ((rows + 0.5) * (size[0] / shape[0]) - 0.5).astype(np.float32)
            x = ((cols + 0.5) * (size[1] / shape[1]) - 0.5).astype(np.float32)
            values = bilinear(stack, y, x)  # float32 maps and coordinates: float32 arithmetic
        for k, i in enumerate(group):
            out[i] = np.ascontiguousarray(values[:, k])
    return out


# The per-pixel light code below takes vectors component-major, (3, M): each component is a contiguous
# array, about twice as fast in numpy as (M, 3) rows.

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


def _light(light: Light, p: np.ndarray, n: np.ndarray, v: np.ndarray, rough: np.ndarray | float,
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


def _shadow_rays(light: Light, p: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Directions (3, M) and distances to march shadow rays from points (3, M) (a coarser grid than the
    shading's for area lights)."""
    return [(d, dist) for d, dist, _ in _incident(light, p, AREA_SHADOW_SAMPLES)]


def relight(stack: PassStack, lighting: Lighting, camera: Camera | None = None,
            background: np.ndarray | None = None, shadows: ShadowSettings | None = None,
            config: ocio.Config | None = None, occlusion: OcclusionSettings | None = None) -> PassStack:
    """Add ``diffuse``, ``specular``, ``relit`` (needs albedo), ``composite`` (needs a background) and,
    under an environment, ``occlusion`` (the visible fraction of each pixel's hemisphere).

    Image-space work (shadow rays, occlusion) runs first on the whole frame; the per-pixel shading
    then runs in chunks on every core (numpy releases the GIL in its kernels). The shading network, a
    learned refinement of this light, is a step of its own after this one (``relit.shading.refine``).
    """
    stack.require("normals")
    if lighting.environment is None and not lighting.lights:
        raise RelitError("no lighting: give an environment (--hdri ENV.exr) and/or lights (--light JSON)")
    if background is not None and stack.albedo is None:
        raise RelitError("a composite needs the albedo pass")
    camera = camera or Camera.from_metadata(stack.metadata)
    shadows = shadows or ShadowSettings()
    occlusion = occlusion or OcclusionSettings()
    h, w = stack.shape
    alpha = stack.alpha[..., 0] if stack.alpha is not None else np.ones((h, w), np.float32)
    mask = alpha > 0
    where = np.flatnonzero(mask)  # integer indices gather and scatter several times faster than the mask

    def at(image: np.ndarray) -> np.ndarray:
        """The pixels under the matte, (M, C)."""
        return np.take(image.reshape(h * w, -1), where, axis=0)

    count = len(where)
    # per-pixel arrays, shaded in chunks; roughness and F0 without a pass are one value for all pixels
    px = {"n": at(stack.normals), "v": np.ascontiguousarray(camera.view_vectors(h, w, where))}
    for key, name in (("rough", "roughness"), ("f0", "specular_strength")):
        if getattr(stack, name) is not None:
            px[key] = at(getattr(stack, name))[:, 0]
    check_unit_normals(px["n"])  # where the matte is (a file's normals are conformed as it is read)
    metadata = dict(stack.metadata)
    passes: dict[str, np.ndarray] = {}
    env = lighting.environment
    maps = light_maps(env, config) if env is not None else None
    if lighting.lights or (env is not None and (occlusion.enabled or shadows.enabled)):
        points, metadata["depth_source"] = _surface(stack, camera)
        px["p"] = at(points)
        if stack.depth is None:  # the integrated surface, for tools downstream (a DCC's interactive relight)
            passes["depth"] = np.where(mask, -points[..., 2], 0)[..., None].astype(np.float32)
        # visibility of the user's lights and the environment's key lights, then occlusion: reduced-resolution
        # maps brought to the matte's pixels together
        keys = maps.keys if maps is not None else []
        shadowed = [*lighting.lights, *(DirectionalLight(k.direction) for k in keys)] if shadows.enabled else []
        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:  # numpy releases the GIL
            occluded = pool.submit(occlusion_map, points, stack.normals, mask, camera, occlusion) \
                if env is not None and occlusion.enabled else None
            low = shadow_maps(shadowed, points, mask, camera, shadows, pool)
            if occluded is not None:
                low.append(occluded.result())
        values = at_pixels(low, (h, w), where)
        rough = px.get("rough", DEFAULT_ROUGHNESS)
        visible = [(light, values[i] if shadows.enabled else None,
                    area_grid(light, px["p"].T, rough) if isinstance(light, AreaLight) else 1)
                   for i, light in enumerate(lighting.lights)]
        if shadows.enabled and keys:
            px["key_vis"] = values[len(lighting.lights):len(shadowed)]
        if env is not None and occlusion.enabled:
            ao = values[-1]
            passes["occlusion"] = np.ones((h, w, 1), np.float32)
            passes["occlusion"].reshape(-1)[where] = ao
            if occlusion.apply:
                px["ao"] = ao[:, None]
                px["albedo"] = at(stack.albedo) if stack.albedo is not None else np.full((count, 3), 0.5, np.float32)
    else:
        visible = []

    diffuse = np.zeros((count, 3), np.float32)
    specular = np.zeros((count, 3), np.float32)

    def shade(chunk: slice) -> None:
        c = {k: ([x[chunk] for x in val] if isinstance(val, list) else val[chunk]) for k, val in px.items()}
        n, v = c["n"], c["v"]
        rough, f0 = c.get("rough", np.float32(DEFAULT_ROUGHNESS)), c.get("f0", np.float32(DEFAULT_SPECULAR_STRENGTH))
        if env is not None:
            env_diffuse, env_specular = maps.shade(n, v, rough, f0, residual=shadows.enabled)
            if "key_vis" in c:  # each key region's exact light, only its visibility from the shadow rays
                for light, vis in zip(maps.key_irradiance(n), c["key_vis"]):
                    env_diffuse += light * vis[:, None]
            if "ao" in c:
                env_diffuse *= multi_bounce(c["ao"], c["albedo"])
            diffuse[chunk] += env_diffuse * env.scale
            specular[chunk] += env_specular * env.scale
        soa = [np.ascontiguousarray(x.T) for x in (c["p"], n, v)] if visible else []
        for light, vis, grid in visible:
            light_diffuse, light_specular = _light(light, *soa, rough, f0, grid)
            if vis is not None:
                light_diffuse, light_specular = light_diffuse * vis[chunk], light_specular * vis[chunk]
            colour = np.asarray(light.colour, np.float32)
            diffuse[chunk] += light_diffuse[:, None] * colour
            specular[chunk] += light_specular[:, None] * colour

    chunks = [slice(i, i + PIXELS_PER_CHUNK) for i in range(0, count, PIXELS_PER_CHUNK)]
    if len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
            list(pool.map(shade, chunks))
    elif chunks:
        shade(chunks[0])

    def full(values: np.ndarray) -> np.ndarray:
        """(M, 3) values at the matte's pixels as a full (H, W, 3) frame, black elsewhere. Pixels are
        scattered as whole 12-byte records: twice as fast as assigning rows."""
        out = np.zeros((h, w, 3), np.float32)
        out.reshape(-1, 3).view(PIXEL)[:, 0][where] = np.ascontiguousarray(values, np.float32).view(PIXEL)[:, 0]
        return out

    passes.update(diffuse=full(diffuse), specular=full(specular))
    if stack.albedo is not None:  # made where the matte is only (the rest is black), as the light is
        passes["relit"] = full(at(stack.albedo) * diffuse + specular)
        if background is not None:
            passes["composite"] = composite(passes["relit"], alpha, background)
    out = stack.replace(**passes)
    out.metadata = metadata
    return out


def composite(foreground: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Straight foreground over background in linear light: fg * a + bg * (1 - a)."""
    if background.shape[:2] != foreground.shape[:2]:
        raise RelitError(f"background is {background.shape[1]}x{background.shape[0]} but the passes are "
                         f"{foreground.shape[1]}x{foreground.shape[0]}; expected the same resolution")
    a = alpha.reshape(alpha.shape[0], alpha.shape[1], 1)
    return foreground * a + background[..., :3] * (1 - a)
