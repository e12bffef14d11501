"""Physical relighting of a pass stack: diffuse and specular light, self-shadowing, relit, composite.

relit = albedo * diffuse + specular, where diffuse is irradiance / pi and specular is the GGX
(Mitsuba ``roughconductor``/``roughplastic`` lobe) radiance scaled by Schlick Fresnel from
``specular_strength`` (F0). All maths runs on the pixels the matte covers.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import PyOpenColorIO as ocio

from .camera import Camera
from .direct import area_grid, direct_light
from .environment import light_maps
from .errors import RelitError
from .lighting import AreaLight, DirectionalLight, Lighting
from .passes import PassStack, check_unit_normals
from .upsample import fill_near
from .visibility import (
    OcclusionSettings,
    ShadowSettings,
    at_pixels,
    multi_bounce,
    occlusion_map,
    shadow_maps,
    surface_points,
)

DEFAULT_ROUGHNESS = 0.45  # skin: a broad sheen
DEFAULT_SPECULAR_STRENGTH = 0.028  # F0 of skin (index of refraction about 1.4)
# Pixels shaded per task: each task's arrays stay in a core's cache (256k-pixel halves of a 1080p
# matte shade 1.6x slower on 2 threads than these chunks do); smaller frames are shaded on one thread
PIXELS_PER_CHUNK = 65536
PIXEL = np.dtype((np.void, 12))  # one RGB float32 pixel as a record
# The light's passes (and an integrated depth) are carried this many pixels past the matte, each pixel the
# mean of its neighbours: where a soft matte is 0 between strands of hair, a straight pass seen on its own
# (or under another matte) shows no black specks. Where alpha is 0 they change no composite.
EDGE_FILL = 8


def key_visibility(normals: np.ndarray, directions: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(M,) how much of a key light each pixel sees: its directions' visibilities (M, S), each weighted
    by the light it brings to the pixel (the directions share the key's power equally; the cosine
    toward each); their mean where the pixel faces none of them."""
    facing = np.maximum(normals @ directions.T, 0)
    total = facing.sum(axis=1)
    return np.where(total > 1e-6, (facing * visible).sum(axis=1) / np.maximum(total, 1e-6), visible.mean(axis=1))


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
        points, metadata["depth_source"] = surface_points(stack, camera)
        px["p"] = at(points)
        if stack.depth is None:  # the integrated surface, for tools downstream (a DCC's interactive relight)
            passes["depth"] = np.where(mask, -points[..., 2], 0)[..., None].astype(np.float32)
        # visibility of the user's lights and the environment's key lights, then occlusion: reduced-resolution
        # maps brought to the matte's pixels together
        keys = maps.keys if maps is not None else []
        shadowed = [*lighting.lights, *(DirectionalLight(d) for k in keys for d in k.directions)] \
            if shadows.enabled else []
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
        if shadows.enabled and keys:  # each key's visibility along each of its directions, (M, directions)
            per_key = values[len(lighting.lights):len(shadowed)]
            starts = np.cumsum([0] + [len(k.directions) for k in keys])
            px["key_vis"] = [np.stack(per_key[a:b], -1) for a, b in zip(starts[:-1], starts[1:])]
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
                for key, light, vis in zip(maps.keys, maps.key_irradiance(n), c["key_vis"]):
                    env_diffuse += light * key_visibility(n, key.directions, vis)[:, None]
            if "ao" in c:
                env_diffuse *= multi_bounce(c["ao"], c["albedo"])
            diffuse[chunk] += env_diffuse * env.scale
            specular[chunk] += env_specular * env.scale
        soa = [np.ascontiguousarray(x.T) for x in (c["p"], n, v)] if visible else []
        for light, vis, grid in visible:
            light_diffuse, light_specular = direct_light(light, *soa, rough, f0, grid)
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

    # the light's passes in one frame, each a view of it: (M, 3) values at the matte's pixels scattered as
    # whole 12-byte records (twice as fast as assigning rows), then carried EDGE_FILL pixels past the matte
    lit = {"diffuse": diffuse, "specular": specular}
    if stack.albedo is not None:
        lit["relit"] = at(stack.albedo) * diffuse + specular
    frame = np.zeros((h, w, 3 * (len(lit) + ("depth" in passes))), np.float32)
    for i, values in enumerate(lit.values()):
        frame.reshape(h * w, -1, 3).view(PIXEL)[:, i, 0][where] = \
            np.ascontiguousarray(values, np.float32).view(PIXEL)[:, 0]
    if "depth" in passes:  # the surface integrated from the normals (in a channel of three of its own)
        frame[..., -3:-2] = passes["depth"]
    fill_near(frame, mask, EDGE_FILL)
    passes.update({name: frame[..., 3 * i:3 * i + 3] for i, name in enumerate(lit)})
    if "depth" in passes:
        passes["depth"] = frame[..., -3:-2]
    if "relit" in passes and background is not None:
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
