"""What each pixel of a pass stack sees: screen-space shadow rays toward each light and horizon-based
occlusion of the environment, marched through the depth pass (or a surface integrated from the
normals), at a reduced resolution and brought back to the matte's pixels."""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np

from .camera import Camera
from .direct import shadow_rays
from .geometry import surface_height
from .lighting import Light
from .passes import PassStack
from .upsample import bilinear
from .vectors import dot, dot3, normalize


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


def surface_points(stack: PassStack, camera: Camera) -> tuple[np.ndarray, str]:
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
    per_light = [shadow_rays(light, p) for light in lights]
    rays = [ray for light_rays in per_light for ray in light_rays]
    if not rays or not p.shape[1]:
        return [np.ones(sub_mask.shape, np.float32) for _ in lights]
    # only the subject occludes; one pixel of empty space around the frame takes the rays that leave it
    depth = np.full((sub_mask.shape[0] + 2, sub_mask.shape[1] + 2), np.inf, np.float32)
    depth[1:-1, 1:-1] = np.where(sub_mask, -sub_points[..., 2], np.inf)
    ahead = -p[2][np.isfinite(p[2])]
    subject = float(np.median(ahead)) if ahead.size else 1.0
    finite = p[:, np.isfinite(p).all(axis=0)]
    margin = np.float32(settings.thickness * subject)  # the occluders reach this far behind the surface
    box = (finite.min(axis=1) - margin, finite.max(axis=1) + margin) if finite.size else None
    origins = np.tile(p, len(rays))
    directions = np.concatenate([d for d, _ in rays], axis=1)
    distances = np.concatenate([dist for _, dist in rays])
    bounds = np.linspace(0, origins.shape[1], (os.cpu_count() or 1) + 1).astype(int)
    tasks = [partial(_march, origins[:, a:b], directions[:, a:b], distances[a:b], depth, subject, box, camera,
                     settings)
             for a, b in zip(bounds[:-1], bounds[1:])]
    visible = np.concatenate(list(pool.map(lambda task: task(), tasks))).reshape(len(rays), p.shape[1])
    out, first = [], 0
    for light_rays in per_light:
        vis = np.ones(sub_mask.shape, np.float32)
        vis[sub_mask] = visible[first:first + len(light_rays)].mean(axis=0)
        out.append(vis)
        first += len(light_rays)
    return out


def _leaving(p: np.ndarray, d: np.ndarray, box: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """How far (M,) the rays from p (3, M) along d (3, M) go before they leave the box (low, high corners)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        far = np.where(d > 0, (box[1][:, None] - p) / d, np.where(d < 0, (box[0][:, None] - p) / d, np.inf))
    return np.maximum(far.min(axis=0), 0).astype(np.float32)


def _march(p: np.ndarray, d: np.ndarray, dist: np.ndarray, depth: np.ndarray, subject: float,
           box: tuple[np.ndarray, np.ndarray] | None, camera: Camera, settings: ShadowSettings) -> np.ndarray:
    """1 where the ray from p (3, M) along d (3, M) toward a light dist away never passes behind the
    depth surface (a frame padded by one empty pixel on each side) of a subject ``subject`` away. Each ray
    is marched only until it leaves ``box``, the subject's bounding box (nothing else occludes): its
    steps stay dense where it can be shadowed (over four subject distances at most, a side light's rays
    stepped over the head in strides the occluders' thickness, and its shadow came out banded)."""
    sh, sw = depth.shape[0] - 2, depth.shape[1] - 2
    bias, thickness = np.float32(settings.bias * subject), np.float32(settings.thickness * subject)
    reach = np.minimum(dist, np.float32(4.0 * subject))
    if box is not None:
        reach = np.minimum(reach, _leaving(p, d, box))
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
