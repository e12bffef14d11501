"""Physical relighting of a pass stack: diffuse and specular light, self-shadowing, relit, composite.

relit = albedo * diffuse + specular, where diffuse is irradiance / pi and specular is the GGX
(Mitsuba ``roughconductor``/``roughplastic`` lobe) radiance scaled by Schlick Fresnel from
``specular_strength`` (F0). All maths runs on the pixels the matte covers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import PyOpenColorIO as ocio

from .camera import Camera
from .environment import light_maps
from .errors import RelitError
from .lighting import AreaLight, DirectionalLight, Light, Lighting, PointLight, SpotLight
from .lightmaps import ggx_d, smith_g1
from .passes import PassStack

DEFAULT_ROUGHNESS = 0.45  # skin: a broad sheen
DEFAULT_SPECULAR_STRENGTH = 0.028  # F0 of skin (index of refraction about 1.4)
AREA_SAMPLES = 8  # per side: an 8 x 8 grid of point emitters integrates a rectangle to < 1% at 2x its size
AREA_SHADOW_SAMPLES = 2  # per side, for soft shadows


@dataclass
class ShadowSettings:
    """Screen-space shadow rays marched through the depth pass."""

    enabled: bool = True
    steps: int = 48
    max_resolution: int = 480  # rays are marched at this long side, then the visibility is upsampled
    thickness: float = 0.03  # assumed occluder depth, fraction of the subject distance (best vs Mitsuba)
    bias: float = 0.01  # fraction of the subject's depth; avoids self-shadowing acne


def _surface(stack: PassStack, camera: Camera) -> tuple[np.ndarray, str]:
    """Camera-space positions: from depth, or integrated from the normals when there is none."""
    if stack.depth is not None:
        return camera.positions(stack.depth), "depth pass"
    return camera.positions(height_from_normals(stack, camera)), "integrated from normals"


def height_from_normals(stack: PassStack, camera: Camera, distance: float = 1.0) -> np.ndarray:
    """A plausible z-depth from the normals (Frankot-Chellappa), subject centred ``distance`` away.

    Gradients are zero outside the matte; the result is relative shape, good for self-shadowing, not metric.
    """
    n = stack.normals
    h, w = n.shape[:2]
    nz = np.maximum(n[..., 2], 0.05)
    inside = np.ones((h, w), bool) if stack.alpha is None else stack.alpha[..., 0] > 0.5
    frame_width = camera.ortho_width if camera.orthographic else 2 * distance * math.tan(math.radians(camera.hfov) / 2)
    pixel = frame_width / w
    gx = np.where(inside, -n[..., 0] / nz, 0.0) * pixel  # dz per column (z toward the camera)
    gy = np.where(inside, n[..., 1] / nz, 0.0) * pixel  # dz per row (rows go down, +Y goes up)
    wx = np.fft.fftfreq(w)[None, :] * 2 * math.pi
    wy = np.fft.fftfreq(h)[:, None] * 2 * math.pi
    denom = wx ** 2 + wy ** 2
    denom[0, 0] = 1.0
    z_hat = (-1j * wx * np.fft.fft2(gx) - 1j * wy * np.fft.fft2(gy)) / denom
    z_hat[0, 0] = 0.0
    z = np.real(np.fft.ifft2(z_hat))
    z -= z[inside].max() if inside.any() else 0.0
    return (distance - z).astype(np.float32)


def _march_shadows(points: np.ndarray, depth: np.ndarray, mask: np.ndarray, camera: Camera,
                   to_light: np.ndarray, light_distance: np.ndarray, settings: ShadowSettings) -> np.ndarray:
    """Visibility (H, W) of a light for each pixel: 0 where a ray toward it passes behind the depth surface."""
    h, w = depth.shape
    stride = max(1, math.ceil(max(h, w) / settings.max_resolution))
    pts = points[::stride, ::stride]
    dirs = to_light[::stride, ::stride]
    dist = light_distance[::stride, ::stride]
    sub_mask = mask[::stride, ::stride]
    sd = depth[::stride, ::stride]
    sh, sw = sd.shape
    subject = float(np.median(sd[sub_mask])) if sub_mask.any() else 1.0
    bias, thickness = settings.bias * subject, settings.thickness * subject
    p, d, reach = pts[sub_mask], dirs[sub_mask], np.minimum(dist[sub_mask], 4.0 * subject)
    occluded = np.zeros(p.shape[0], bool)
    pixel_size = (camera.ortho_width if camera.orthographic else
                  2 * subject * math.tan(math.radians(camera.hfov) / 2)) / sw
    start = 2.0 * pixel_size + bias
    for k in range(settings.steps):
        t = start + (reach - start) * ((k + 0.5) / settings.steps) ** 2  # denser near the surface
        q = p + d * t[:, None]
        col, row, zq = camera.project(q, sh, sw)
        ci, ri = np.floor(col).astype(np.int64), np.floor(row).astype(np.int64)
        inside = (ci >= 0) & (ci < sw) & (ri >= 0) & (ri < sh)
        scene = np.full(p.shape[0], np.inf, np.float32)
        scene[inside] = sd[ri[inside], ci[inside]]
        hit = (scene < zq - bias) & (zq - scene < thickness) & (t < reach)
        occluded |= hit
    vis = np.ones((sh, sw), np.float32)
    vis[sub_mask] = (~occluded).astype(np.float32)
    if stride == 1:
        return vis
    return _upsample(vis, h, w)


def _upsample(img: np.ndarray, h: int, w: int) -> np.ndarray:
    sh, sw = img.shape
    rows = np.clip((np.arange(h) + 0.5) * sh / h - 0.5, 0, sh - 1)
    cols = np.clip((np.arange(w) + 0.5) * sw / w - 0.5, 0, sw - 1)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    r1, c1 = np.minimum(r0 + 1, sh - 1), np.minimum(c0 + 1, sw - 1)
    fr, fc = (rows - r0)[:, None], (cols - c0)[None, :]
    return ((img[r0][:, c0] * (1 - fc) + img[r0][:, c1] * fc) * (1 - fr)
            + (img[r1][:, c0] * (1 - fc) + img[r1][:, c1] * fc) * fr)


def _ggx_specular(n: np.ndarray, v: np.ndarray, l: np.ndarray, alpha: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """GGX BRDF times n.l (per unit irradiance arriving normal to l), Schlick Fresnel: (M,)."""
    h = v + l
    h /= np.maximum(np.linalg.norm(h, axis=-1, keepdims=True), 1e-8)
    nl = np.einsum("ij,ij->i", n, l)
    nv = np.einsum("ij,ij->i", n, v)
    nh = np.einsum("ij,ij->i", n, h)
    vh = np.clip(np.einsum("ij,ij->i", v, h), 0, 1)
    a = np.maximum(alpha, 1e-3)
    ok = (nl > 0) & (nv > 0)
    fresnel = f0 + (1 - f0) * (1 - vh) ** 5
    g = smith_g1(np.where(ok, nv, 1), a) * smith_g1(np.where(ok, nl, 1), a)
    return np.where(ok, fresnel * ggx_d(nh, a) * g / (4 * np.maximum(nv, 1e-4)), 0.0)


def _point_emitters(light: Light) -> list[tuple[np.ndarray, float]]:
    """A positional light as point emitters: (position, intensity in W/sr along its axis) each.
    An area light is a grid of them (their cosine at the light is applied in ``_incident``)."""
    if isinstance(light, (PointLight, SpotLight)):
        return [(np.asarray(light.position, np.float32), light.intensity)]
    if isinstance(light, AreaLight):
        corners = light.corners()
        n = AREA_SAMPLES
        s = (np.arange(n) + 0.5) / n
        origin, du, dv = corners[0], corners[1] - corners[0], corners[3] - corners[0]
        area = light.size[0] * light.size[1]
        pts = origin + s[:, None, None] * du + s[None, :, None] * dv
        return [(q.astype(np.float32), light.radiance * area / n ** 2) for q in pts.reshape(-1, 3)]
    raise RelitError(f"not a positional light: {light!r}")


def _incident(light: Light, p: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(unit direction to the emitter (M,3), distance (M,), irradiance normal to that direction (M,))."""
    if isinstance(light, DirectionalLight):
        m = p.shape[0]
        d = np.broadcast_to(np.asarray(light.direction, np.float32), (m, 3))
        return [(d, np.full(m, np.inf, np.float32), np.full(m, light.irradiance, np.float32))]
    out = []
    for pos, power in _point_emitters(light):
        delta = pos - p
        dist = np.linalg.norm(delta, axis=-1)
        d = delta / np.maximum(dist, 1e-8)[:, None]
        e = power / np.maximum(dist, 1e-8) ** 2
        if isinstance(light, SpotLight):
            cos_a = np.einsum("ij,j->i", -d, np.asarray(light.direction, np.float32))
            angle = np.degrees(np.arccos(np.clip(cos_a, -1, 1)))
            e = e * np.clip((light.cutoff_angle - angle) / (light.cutoff_angle - light.beam_width), 0, 1)
        elif isinstance(light, AreaLight):
            e = e * np.maximum(np.einsum("ij,j->i", -d, np.asarray(light.direction, np.float32)), 0)
        out.append((d.astype(np.float32), dist.astype(np.float32), e.astype(np.float32)))
    return out


def _shadow_rays(light: Light, p: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Directions/distances used for shadow tests (fewer than the shading samples for area lights)."""
    if isinstance(light, AreaLight):
        corners = light.corners()
        s = (np.arange(AREA_SHADOW_SAMPLES) + 0.5) / AREA_SHADOW_SAMPLES
        origin, du, dv = corners[0], corners[1] - corners[0], corners[3] - corners[0]
        out = []
        for a in s:
            for b in s:
                delta = (origin + a * du + b * dv).astype(np.float32) - p
                dist = np.linalg.norm(delta, axis=-1)
                out.append((delta / dist[:, None], dist))
        return out
    return [(d, dist) for d, dist, _ in _incident(light, p)[:1]]


def relight(stack: PassStack, lighting: Lighting, camera: Camera | None = None,
            background: np.ndarray | None = None, shadows: ShadowSettings | None = None,
            config: ocio.Config | None = None) -> PassStack:
    """Add ``diffuse``, ``specular``, ``relit`` (needs albedo) and ``composite`` (needs a background)."""
    stack.require("normals")
    stack.check_normals()
    if lighting.environment is None and not lighting.lights:
        raise RelitError("no lighting: give an environment and/or lights")
    camera = camera or Camera.from_metadata(stack.metadata)
    shadows = shadows or ShadowSettings()
    h, w = stack.shape
    alpha = stack.alpha[..., 0] if stack.alpha is not None else np.ones((h, w), np.float32)
    mask = alpha > 0
    n = stack.normals[mask]
    v = np.ascontiguousarray(np.broadcast_to(camera.view_vectors(h, w), (h, w, 3))[mask])
    rough = stack.roughness[mask][:, 0] if stack.roughness is not None else np.full(len(n), DEFAULT_ROUGHNESS, np.float32)
    f0 = (stack.specular_strength[mask][:, 0] if stack.specular_strength is not None
          else np.full(len(n), DEFAULT_SPECULAR_STRENGTH, np.float32))
    diffuse = np.zeros((len(n), 3), np.float32)
    specular = np.zeros((len(n), 3), np.float32)
    metadata = dict(stack.metadata)

    if lighting.environment is not None:
        env = lighting.environment
        maps = light_maps(env, config)
        diffuse += maps.irradiance(n) * env.scale
        specular += maps.specular_light(n, v, rough, f0) * env.scale

    if lighting.lights:
        points_full, source = _surface(stack, camera)
        metadata["depth_source"] = source
        depth_full = -points_full[..., 2]
        p = points_full[mask]
        for light in lighting.lights:
            colour = np.asarray(light.colour, np.float32)
            vis = np.ones(len(n), np.float32)
            if shadows.enabled:
                rays = _shadow_rays(light, p)
                acc = np.zeros((h, w), np.float32)
                for d, dist in rays:
                    d_full = np.zeros((h, w, 3), np.float32)
                    d_full[mask] = d
                    dist_full = np.zeros((h, w), np.float32)
                    dist_full[mask] = dist
                    acc += _march_shadows(points_full, depth_full, mask, camera, d_full, dist_full, shadows)
                vis = acc[mask] / len(rays)
            for d, _, e in _incident(light, p):
                nl = np.maximum(np.einsum("ij,ij->i", n, d), 0)
                diffuse += (e * nl * vis / math.pi)[:, None] * colour
                specular += (e * vis * _ggx_specular(n, v, d, rough, f0))[:, None] * colour

    def full(values: np.ndarray) -> np.ndarray:
        out = np.zeros((h, w, 3), np.float32)
        out[mask] = values
        return out

    passes: dict[str, np.ndarray] = {"diffuse": full(diffuse), "specular": full(specular)}
    if stack.albedo is not None:
        passes["relit"] = stack.albedo * passes["diffuse"] + passes["specular"]
        if background is not None:
            passes["composite"] = composite(passes["relit"], alpha, background)
    elif background is not None:
        raise RelitError("a composite needs the albedo pass")
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
