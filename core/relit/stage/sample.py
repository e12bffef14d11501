"""One virtual-light-stage sample: a person, framed and lit like a real plate, path-traced with every pass.

Per lighting, one Mitsuba render (``relit.stage.integrator``): the image, the part of it whose first
bounce was a diffuse lobe, and normals and positions as AOVs. Once per pose, two AOV-only renders of
the same camera samples (so one coverage serves both) give the albedo, and the roughness and
specular strength (F0). In linear Rec.709 (Mitsuba's RGB space), each unpremultiplied by
coverage: relit = image, diffuse = diffuse part / albedo, specular = image - diffuse part, so
relit = albedo * diffuse + specular exactly; specular is the GGX lobes (under dielectric Fresnel,
as the engine shades them) and all of the hair's light (Mitsuba's hair BSDF has no
diffuse lobe, so hair, as in a production renderer's AOVs, is specular; its albedo pass is its colour).
"""
from __future__ import annotations

import json
import math
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..environment import view
from ..lighting import light_from_dict
from ..passes import PassStack
from ..reference import area_light_shape
from . import hair as hair_mod
from .hands import sample_arms, sample_hand
from .look import Look, sample_look, skin_textures
from .person import REGIONS, Person, sample_person
from .scene import (
    F0,
    FIXED_ROUGHNESS,
    HAIR_ROUGHNESS,
    Shot,
    StageLighting,
    hdri_radiance,
    placement,
)
from .wardrobe import GARMENT_F0, Wardrobe, sample_wardrobe

TARGET_RADIANCE = 0.5  # mean environment radiance is scaled to about this, then jittered by +-1 stop
HAIR_STRANDS = 12000
SPECULAR_SHARE = 0.2  # of a material's BSDF samples, drawn from its GGX lobe



HALF_BODY_SHARE = 0.3  # of shots framed from the waist up; the rest are head and shoulders
# the ranges (metres of the subject in frame, and tilt) each framing draws from
HEAD_AND_SHOULDERS = ((0.36, 0.6), (0.12, 0.22))
HALF_BODY = ((0.7, 0.95), (0.27, 0.35))
EXTREME_SHARE = 1 / 3  # of close-ups that are extreme: brows to mouth
CLOSE_UP_TILT = 0.015  # metres: the head's origin (about the eyes) above the frame's centre, the nose at it


def sample_shot(rng: np.random.Generator, close_ups: float = 0.0) -> Shot:
    """A lens, a framing (head and shoulders, or half body: waist up, the head near the top) and a turn.
    A ``close_ups`` share are close-ups instead, on a longer lens: the face filling the frame, cut at
    forehead and chin, or (EXTREME_SHARE of them) brows to mouth. With none, no number is drawn for them,
    so a stage rendered before they existed is rendered again with the same people."""
    hfov, yaw = float(rng.uniform(18, 42)), float(rng.uniform(-30, 30))
    if close_ups and rng.uniform() < close_ups:
        extreme = rng.uniform() < EXTREME_SHARE
        height = float(rng.uniform(0.12, 0.16) if extreme else rng.uniform(0.18, 0.24))
        return Shot(float(rng.uniform(10, 24)), frame_height=height, yaw=yaw, tilt=CLOSE_UP_TILT / height)
    (height, tilt) = HALF_BODY if rng.uniform() < HALF_BODY_SHARE else HEAD_AND_SHOULDERS
    return Shot(hfov, frame_height=float(rng.uniform(*height)), yaw=yaw, tilt=float(rng.uniform(*tilt)))


def showing_the_arms(shot: Shot) -> Shot:
    """A head-and-shoulders shot widened to half body, its draws carried to the same places in that
    framing's ranges: folded arms lie below a head-and-shoulders frame. Other shots stay."""
    if shot.framing != "head and shoulders":
        return shot
    (h0, h1), (t0, t1) = HEAD_AND_SHOULDERS
    (to_h0, to_h1), (to_t0, to_t1) = HALF_BODY
    return replace(shot, frame_height=to_h0 + (shot.frame_height - h0) / (h1 - h0) * (to_h1 - to_h0),
                   tilt=to_t0 + (shot.tilt - t0) / (t1 - t0) * (to_t1 - to_t0))


RIG_SHARE = 1 / 3  # of lightings that are a light-stage rig over a dim HDRI
OLAT_SHARE = 0.25  # of rigs that are one small light alone (one light at a time, as on a light stage)
ACESCG_LUMA = np.array([0.2722, 0.6741, 0.0537])  # the working space's luminance weights


def sample_lighting(rng: np.random.Generator, hdris: list[str], shot: Shot) -> StageLighting:
    """An HDRI at a random rotation, exposure and colour cast; one time in three a rig of 1-4 area lights
    over a dim HDRI, a quarter of those a single small light (one light at a time)."""
    hdri = str(rng.choice(hdris))
    scale = TARGET_RADIANCE / max(float(hdri_radiance(hdri).mean()), 1e-6) * 2.0 ** rng.uniform(-1, 1)
    warm, green = float(np.clip(rng.normal(0, 0.08), -0.2, 0.2)), float(np.clip(rng.normal(0, 0.03), -0.08, 0.08))
    tint = np.array([1 + warm, 1 + green, 1 - warm])
    tint /= tint @ ACESCG_LUMA  # a colour cast, not a change of exposure
    lights = []
    if rng.uniform() < RIG_SHARE:
        olat = rng.uniform() < OLAT_SHARE
        scale *= 0.02 if olat else 0.15
        for _ in range(1 if olat else int(rng.integers(1, 5))):
            theta, phi = rng.uniform(-80, 80), rng.uniform(-20, 60)  # around the subject, mostly from the front
            d = np.array([math.sin(math.radians(theta)) * math.cos(math.radians(phi)), math.sin(math.radians(phi)),
                          math.cos(math.radians(theta)) * math.cos(math.radians(phi))])
            centre = np.array([0.0, 0.0, -shot.distance]) + d * rng.uniform(0.8, 1.6)
            size = float(rng.uniform(0.1, 0.3) if olat else rng.uniform(0.2, 0.8))
            lights.append({"type": "area", "position": centre.tolist(), "direction": (-d).tolist(),
                           "size": [size, size], "radiance": float(rng.uniform(2, 8) / size ** 2 * 0.3)})
    return StageLighting(hdri, float(rng.uniform(0, 360)), float(scale), lights, tuple(float(t) for t in tint))


def _write_ply(path: Path, vertices: np.ndarray, normals: np.ndarray, faces: np.ndarray, uvs: np.ndarray) -> None:
    """Binary PLY with per-vertex UVs: vertices are split where a corner's UV differs."""
    corner_v = faces.reshape(-1)
    corner_uv = uvs.reshape(-1, 2)
    key = np.column_stack([corner_v, np.round(corner_uv * 1e6).astype(np.int64)])
    unique, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    v, n, uv = vertices[unique[:, 0]], normals[unique[:, 0]], corner_uv[first]
    f = inverse.reshape(-1, 3).astype(np.int32)
    data = np.empty(len(v), dtype=[(c, "<f4") for c in ("x", "y", "z", "nx", "ny", "nz", "u", "v")])
    for i, c in enumerate("xyz"):
        data[c] = v[:, i]
        data["n" + c] = n[:, i]
    data["u"], data["v"] = uv[:, 0], uv[:, 1]
    tri = np.empty(len(f), dtype=[("n", "u1"), ("i", "<i4", 3)])
    tri["n"], tri["i"] = 3, f
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex %d\n" % len(v)
              + "".join(f"property float {c}\n" for c in ("x", "y", "z", "nx", "ny", "nz", "u", "v"))
              + "element face %d\nproperty list uchar int vertex_indices\nend_header\n" % len(f))
    path.write_bytes(header.encode() + data.tobytes() + tri.tobytes())


def _placed(person: Person, shot: Shot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The person turned by the shot's yaw and placed in front of the camera (camera frame)."""
    rot, offset = placement(shot)
    return rot, offset, (person.vertices @ rot.T + offset)


def texture(mi, values: np.ndarray) -> dict:
    """An (H, W, C) array as a Mitsuba bitmap texture, its values as they are (no colour conversion)."""
    return {"type": "bitmap", "bitmap": mi.Bitmap(np.ascontiguousarray(values, dtype=np.float32)), "raw": True}


def reflectance(mi, albedo, scale: float = 1.0) -> dict:
    """An albedo, a texture map (H, W, 3) or one RGB colour, times ``scale``, as a Mitsuba reflectance."""
    albedo = np.asarray(albedo, np.float32) * scale
    return texture(mi, albedo) if albedo.ndim == 3 else {"type": "rgb", "value": [float(x) for x in albedo]}


def plastic(mi, albedo, f0: float, alpha) -> dict:
    """The engine's material model: Lambert of the albedo plus a GGX lobe (roughness ``alpha``, a number or
    a texture) under dielectric Fresnel of reflectance F0 at normal incidence (a conductor of index eta(F0)
    and no absorption has exactly a dielectric's reflection), so relit = albedo * diffuse + specular with
    the albedo and specular_strength passes as they are. Mitsuba has no additive BSDF, so it is a blend
    that draws the lobe in SPECULAR_SHARE of the samples, each lobe scaled up by the inverse of its weight."""
    root = math.sqrt(f0)
    glossy = {"type": "roughconductor", "distribution": "ggx", "alpha": alpha, "eta": (1 + root) / (1 - root),
              "k": 0.0, "specular_reflectance": 1.0 / SPECULAR_SHARE}
    diffuse = {"type": "diffuse", "reflectance": reflectance(mi, albedo, 1.0 / (1.0 - SPECULAR_SHARE))}
    return {"type": "blendbsdf", "weight": SPECULAR_SHARE, "bsdf_0": diffuse, "bsdf_1": glossy}


def _materials(mi, look: Look, dress: Wardrobe, albedo_map: np.ndarray, rough_map: np.ndarray,
               diffuse_only: bool) -> dict:
    """Full materials (``plastic``; hair is Mitsuba's fibre BSDF), or (for the albedo pass) their diffuse
    lobe alone."""
    def material(albedo, f0: float, alpha) -> dict:
        return {"type": "diffuse", "reflectance": reflectance(mi, albedo)} if diffuse_only else \
            plastic(mi, albedo, f0, alpha)

    hair = ({"type": "diffuse", "reflectance": reflectance(mi, look.hair_albedo())} if diffuse_only else
            {"type": "hair", "eumelanin": look.hair_eumelanin, "pheomelanin": look.hair_pheomelanin,
             "longitudinal_roughness": HAIR_ROUGHNESS})
    return {
        "skin": material(albedo_map, look.skin_f0, texture(mi, rough_map[..., None])),
        "cloth": material(look.cloth if dress.shirt is None else dress.shirt, F0["cloth"], look.cloth_roughness),
        "eye_front": material(look.iris, F0["eye_front"], FIXED_ROUGHNESS["eye_front"]),
        "eye_back": material([0.55, 0.5, 0.48], F0["eye_back"], FIXED_ROUGHNESS["eye_back"]),
        "mouth": material([0.12, 0.03, 0.03], F0["mouth"], FIXED_ROUGHNESS["mouth"]),
        "hair": hair,
        "beard": hair,
        **{g.name: material(g.albedo, GARMENT_F0, g.roughness) for g in dress.garments},
    }


def _surface_materials(mi, look: Look, dress: Wardrobe, rough_map: np.ndarray) -> dict:
    """Diffuse materials whose reflectance is (roughness, 1, F0): their albedo AOV gives the roughness and
    specular_strength passes filtered over each pixel like every other pass, and (green) the render's
    coverage."""
    skin = np.stack([rough_map, np.ones_like(rough_map), np.full_like(rough_map, look.skin_f0)], axis=-1)
    values = {"skin": texture(mi, skin),
              "cloth": (look.cloth_roughness, F0["cloth"]),
              **{region: (rough, F0[region]) for region, rough in FIXED_ROUGHNESS.items()},
              "beard": (HAIR_ROUGHNESS, F0["hair"]),
              **{g.name: (g.roughness, GARMENT_F0) for g in dress.garments}}
    return {region: {"type": "diffuse", "reflectance": value if isinstance(value, dict) else
                     {"type": "rgb", "value": [float(value[0]), 1.0, float(value[1])]}}
            for region, value in values.items()}


def _render(mi, shapes: dict, lighting: StageLighting, shot: Shot, res: int, spp: int, seed: int,
            integrator: dict) -> dict[str, np.ndarray]:
    """The film's layers: ``image`` (RGBA) and each AOV's."""
    scene = {
        "type": "scene",
        "integrator": integrator,
        "sensor": {"type": "perspective", "fov": shot.hfov, "fov_axis": "x",
                   "to_world": mi.ScalarTransform4f().look_at(origin=[0, 0, 0], target=[0, 0, -1], up=[0, 1, 0]),
                   "film": {"type": "hdrfilm", "width": res, "height": res, "rfilter": {"type": "box"},
                            "pixel_format": "rgba"},
                   "sampler": {"type": "independent", "sample_count": spp, "seed": seed}},
        "env": {"type": "envmap", "bitmap": mi.Bitmap(np.ascontiguousarray(lighting.radiance())),
                "to_world": mi.ScalarTransform4f().rotate(axis=[0, 1, 0], angle=lighting.rotation)},
        **shapes,
    }
    for i, light in enumerate(lighting.lights):
        scene[f"light{i}"] = area_light_shape(mi, light_from_dict(light), np.zeros(3))
    loaded = mi.load_dict(scene)
    mi.render(loaded)
    layers = loaded.sensors()[0].film().bitmap().split()
    return {"image" if name == "<root>" else name: np.array(bitmap, dtype=np.float32) for name, bitmap in layers}


def render_sample(seed: int, hdris: list[str], res: int = 256, spp: int = 64, lightings: int = 2,
                  turn: tuple[float, ...] = (), truth_spp: int | None = None, close_ups: float = 0.0,
                  wardrobe: float = 0.0, hands: float = 0.0, arms: float = 0.0) -> list[PassStack]:
    """A new person (deterministic for ``seed``) under ``lightings`` lightings drawn from ``hdris``: one stack
    each. With ``turn``, a sequence instead: one frame per entry, the person turned by that many more
    degrees, under the first lighting (fixed light, moving subject: video flicker is measured on it).

    ``truth_spp`` (more than ``spp``) renders the lighting-independent passes (alpha, normals, depth,
    albedo, roughness) with that many samples, in renders of their own, and the image with ``spp`` as
    always. At 64 spp a hair strand's or an edge's normals differ between two renders of the same frame
    (0.0067 on the subject): a noise of the truth, as large as the flicker measured against it.
    ``close_ups`` is the share of close-up shots (``sample_shot``), ``wardrobe`` the share of people
    dressed beyond the plain shirt (``relit.stage.wardrobe``), ``hands`` the share with a hand raised
    near the face and ``arms`` the share with folded arms (``relit.stage.hands``; folded arms keep their
    hands off the face, and are framed from the waist up where the shot would have cut them off)."""
    from .integrator import NAME, mi
    rng = np.random.default_rng(seed)
    raised, folded = sample_hand(seed, hands), sample_arms(seed, arms)
    person = sample_person(rng, folded or ((raised,) if raised else ()))
    look, shot = sample_look(rng), sample_shot(rng, close_ups)
    if folded:
        shot = showing_the_arms(shot)
    albedo_map, rough_map = skin_textures(look, rng)
    hair = np.concatenate([hair_mod.strands(person, look, rng, HAIR_STRANDS), hair_mod.eyebrows(person, look, rng)])
    plans = [sample_lighting(rng, hdris, shot) for _ in range(lightings)]
    dress = sample_wardrobe(seed, person, look, wardrobe)
    hair = dress.visible_hair(hair)
    camera = Camera(shot.hfov)
    poses = [(k, plan, 0.0) for k, plan in enumerate(plans)] if not turn else \
        [(f, plans[0], float(d)) for f, d in enumerate(turn)]
    stacks = []
    geometry: dict[float, dict] = {}
    with tempfile.TemporaryDirectory(prefix="relit-stage-") as tmp:
        def shapes(materials: dict, extra_yaw: float) -> dict:
            folder = Path(tmp) / f"yaw{extra_yaw:+.4f}"
            if not folder.is_dir():  # the person's meshes and hair, turned and placed, once per pose
                folder.mkdir()
                posed = replace(shot, yaw=shot.yaw + extra_yaw)
                rot, offset, vertices = _placed(person, posed)
                for region in REGIONS:
                    sel = person.region == REGIONS.index(region)
                    if sel.any():
                        _write_ply(folder / f"{region}.ply", vertices, person.normals @ rot.T, person.faces[sel],
                                   person.uvs[sel])
                for garment in dress.garments:
                    mesh = garment.mesh
                    _write_ply(folder / f"{garment.name}.ply", mesh.vertices @ rot.T + offset, mesh.normals @ rot.T,
                               mesh.faces, mesh.uvs)
                for name, curves in (("hair", hair), ("beard", dress.beard)):
                    if len(curves):
                        hair_mod.write_curves(curves @ rot.T + offset, str(folder / f"{name}.txt"))
            out = {}
            for path in sorted(folder.iterdir()):
                region = path.stem
                kind = "linearcurve" if path.suffix == ".txt" else "ply"
                shape = {"type": kind, "filename": str(path), "bsdf": materials[region]}
                if kind == "ply":  # smooth normals; anny's UVs have v up, Mitsuba's PLY default does not flip
                    shape.update(face_normals=False, flip_tex_coords=True)
                out[region] = shape
            return out

        path_tracer = {"type": NAME, "max_depth": 8, "hide_emitters": True}
        aov_only = {"type": "aov", "aovs": "aa:albedo"}
        for k, plan, extra_yaw in poses:
            render_seed = (seed * 7 + 2 * k) % 2 ** 32  # Mitsuba takes 32-bit seeds
            full = _render(mi, shapes(_materials(mi, look, dress, albedo_map, rough_map, False), extra_yaw), plan, shot,
                           res, spp, render_seed, path_tracer)
            if extra_yaw not in geometry:  # one seed for all: the same camera samples, the same coverage
                samples = max(truth_spp or spp, spp)
                first_hit = full if samples == spp else _render(
                    mi, shapes(_materials(mi, look, dress, albedo_map, rough_map, False), extra_yaw), plan, shot, res,
                    samples, render_seed + 1, {**path_tracer, "max_depth": 1})  # the AOVs are the first hit's
                albedo = _render(mi, shapes(_materials(mi, look, dress, albedo_map, rough_map, True), extra_yaw), plan,
                                 shot, res, samples, render_seed + 1, aov_only)
                surface = _render(mi, shapes(_surface_materials(mi, look, dress, rough_map), extra_yaw), plan, shot,
                                  res, samples, render_seed + 1, aov_only)
                geometry[extra_yaw] = _geometry(first_hit, albedo, surface)
            meta = {"seed": str(seed), "person": json.dumps(person.params), "look": json.dumps(look.to_dict()),
                    "wardrobe": json.dumps(dress.params),
                    "shot": json.dumps(asdict(replace(shot, yaw=shot.yaw + extra_yaw))),
                    "lighting": json.dumps(asdict(plan)), **camera.to_metadata()}
            meta.update({"frame": str(k), "turn": str(extra_yaw)} if turn else {"lighting_index": str(k)})
            stacks.append(_passes(full, geometry[extra_yaw], plan, camera, res, meta))
    return stacks


def _geometry(full: dict, albedo: dict, surface: dict) -> dict[str, np.ndarray]:
    """The lighting-independent passes. The AOV-only renders share their camera samples, so the surface
    render's coverage (its green) divides both; the path-traced AOVs are divided by that render's alpha."""
    alpha = full["image"][..., 3:4]
    cover = np.maximum(alpha, 1e-6)
    aov_cover = surface["aa"][..., 1:2]
    valid = (alpha > 0) & (aov_cover > 0)
    rough, f0 = (np.where(valid, surface["aa"][..., c:c + 1] / np.maximum(aov_cover, 1e-6), 0) for c in (0, 2))
    albedo = np.where(valid, albedo["aa"] / np.maximum(aov_cover, 1e-6), 0)
    n = full["nn"]
    n = np.where(alpha > 0, n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-8), np.float32([0, 0, 1]))
    depth = np.where(alpha > 0, -full["pp"][..., 2:3] / cover, 0)
    return {"alpha": alpha, "normals": n.astype(np.float32), "depth": depth.astype(np.float32),
            "albedo": albedo.astype(np.float32), "roughness": np.clip(rough, 0, 1).astype(np.float32),
            "specular_strength": np.clip(f0, 0, 1).astype(np.float32)}


def _passes(full: dict, geometry: dict, plan: StageLighting, camera: Camera, res: int,
            metadata: dict[str, str]) -> PassStack:
    coverage = full["image"][..., 3:4]  # the image's own: the passes' alpha may come from a render of their own

    def unpremultiply(image: np.ndarray) -> np.ndarray:
        return np.where(coverage > 0, image / np.maximum(coverage, 1e-6), 0)

    relit, lambert = unpremultiply(full["image"][..., :3]), unpremultiply(full["diffuse"])
    albedo = geometry["albedo"]
    diffuse = np.where(albedo > 0.005, lambert / np.maximum(albedo, 0.005), 0)
    specular = relit - lambert  # so relit = albedo * diffuse + specular wherever albedo > 0.005
    rgb = full["image"][..., :3]
    background = view(plan.radiance(), camera, res, res, plan.rotation)
    composite = rgb + (1 - coverage) * background
    return PassStack(alpha=geometry["alpha"], normals=geometry["normals"], depth=geometry["depth"], albedo=albedo,
                     roughness=geometry["roughness"], specular_strength=geometry["specular_strength"],
                     diffuse=diffuse.astype(np.float32), specular=specular.astype(np.float32),
                     relit=relit.astype(np.float32), composite=composite.astype(np.float32),
                     colourspace="Linear Rec.709 (sRGB)", metadata=metadata)
