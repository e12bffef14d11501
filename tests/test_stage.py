"""The virtual light stage, rendered for real at a small size: consistency of the passes it writes."""
import json
import os
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("anny")

from relit.camera import Camera  # noqa: E402
from relit.io import read_passes  # noqa: E402
from relit.relight import relight  # noqa: E402
from relit.stage.job import is_validation, render_stage  # noqa: E402
from relit.stage.sample import render_sample, sample_shot  # noqa: E402
from relit.stage.scene import Shot, StageLighting  # noqa: E402
from relit.visibility import ShadowSettings  # noqa: E402


def test_samples_manifest_and_resume(stage):
    out, manifest = stage
    files = sorted(p.name for p in out.glob("*_L*.exr"))
    assert files == ["000000_L0.exr", "000000_L1.exr", "000001_L0.exr", "000001_L1.exr"]
    assert [s["file"] for s in manifest["samples"]] == files
    assert {s["identity"] for s in manifest["samples"]} == {0, 1}
    assert all(s["split"] == ("validation" if is_validation(s["identity"]) else "train") for s in manifest["samples"])
    before = {p: p.stat().st_mtime_ns for p in out.glob("*_L*.exr")}
    from relit import data
    assert render_stage(out, 2, 64, 64, 5, data.path(""), workers=1)["rendered_now"] == 0  # resumed: nothing to do
    assert {p: p.stat().st_mtime_ns for p in out.glob("*_L*.exr")} == before


def test_without_close_ups_the_shots_draw_what_they_drew_before():
    """close_ups=0 draws no number for them, so seed 7's stage (model 0.4's people) renders again as it was:
    a shot draws five numbers, and the generator goes on where five uniform draws leave it."""
    for seed in range(20):
        rng, same = np.random.default_rng(seed), np.random.default_rng(seed)
        shot = sample_shot(rng)
        same.uniform(size=5)
        assert rng.uniform() == same.uniform() and shot.framing in ("head and shoulders", "half body")
    framings = [sample_shot(np.random.default_rng(seed), close_ups=0.5).framing for seed in range(300)]
    share = {name: framings.count(name) / len(framings) for name in set(framings)}
    # 0.5 of shots, a third of them extreme: 1/6 and 1/3 expected; 300 draws put them within 0.06
    assert abs(share["extreme close-up"] - 1 / 6) < 0.06 and abs(share["close-up"] - 1 / 3) < 0.06


def test_close_ups_fill_the_frame_with_the_face():
    """An extreme close-up (brows to mouth) is all subject and mostly skin (measured alpha 1.0, skin 0.90 at
    32 px); a close-up (the face cut at forehead and chin) leaves the background at its sides (0.77,
    0.45)."""
    from relit import data
    from relit.stage.scene import skin_mask
    for seed, framing, alpha, skin in ((2, "extreme close-up", 0.97, 0.8), (3, "close-up", 0.7, 0.38)):
        stack = render_sample(seed, [str(data.hdri())], res=32, spp=4, lightings=1, close_ups=1.0)[0]
        assert Shot(**json.loads(stack.metadata["shot"])).framing == framing
        assert stack.alpha.mean() > alpha and skin_mask(stack).mean() > skin


def test_passes_are_consistent(stage):
    from relit.stage.job import MAX_BAD_SHARE, defects
    out, _ = stage
    for path in sorted(out.glob("*_L*.exr")):
        s = read_passes(path)
        assert defects(s) <= MAX_BAD_SHARE
        inside = s.alpha[..., 0] >= 0.999
        n = s.normals[inside]
        assert np.allclose(np.linalg.norm(n, axis=1), 1, atol=2e-3)  # unit (half-float file)
        assert np.mean(n[:, 2] > -0.05) > 0.97  # visible surfaces face the camera
        assert s.albedo.min() >= 0 and s.albedo.max() <= 1.0 + 2e-3  # not clipped: the AOV over coverage
        assert 0.04 <= s.roughness[inside].min() and s.roughness[inside].max() <= 0.95  # the materials' range
        # relit = albedo * diffuse + specular (the two renders' split; exact up to half-float rounding)
        recon = s.albedo * s.diffuse + s.specular
        ok = inside & (s.albedo.min(axis=2) > 0.01)
        assert np.allclose(recon[ok], s.relit[ok], rtol=2e-2, atol=2e-3)
        assert s.depth[inside].min() > 0


def test_the_recorded_lighting_reproduces_the_render(stage):
    """relit's own engine, fed a sample's normals and its recorded lighting, must see the light come from
    the same directions: this checks that the HDRI orientation and rotation in Mitsuba match the
    metadata (measured at 96 px, 128 spp: correlation 0.89 with the recorded rotation, -0.63 mirrored)."""
    out, _ = stage
    checked = 0
    for path in sorted(out.glob("*_L*.exr")):
        s = read_passes(path)
        plan = StageLighting(**json.loads(s.metadata["lighting"]))
        if plan.lights or abs(np.sin(np.radians(plan.rotation))) < 0.3:
            continue  # rigs add lights near the subject; near 0 or 180 degrees a mirrored rotation looks alike
        skin = (s.alpha[..., 0] >= 0.999) & (s.diffuse.mean(axis=2) > 0)
        corr = {}
        for sign in (1, -1):
            mirrored = StageLighting(plan.hdri, sign * plan.rotation, plan.scale, [])
            lit = relight(s.replace(diffuse=None, specular=None, relit=None, composite=None), mirrored.to_lighting(),
                          Camera.from_metadata(s.metadata), shadows=ShadowSettings(enabled=False))
            corr[sign] = np.corrcoef(lit.diffuse[skin].mean(axis=1), s.diffuse[skin].mean(axis=1))[0, 1]
        assert corr[1] > 0.4 and corr[1] > corr[-1] + 0.2, (path.name, corr)
        checked += 1
    assert checked, "no HDRI-only sample to check"


def test_a_broken_render_is_detected(stage):
    from relit.stage.job import MAX_BAD_SHARE, defects
    out, _ = stage
    s = read_passes(sorted(out.glob("*_L0.exr"))[0])
    broken = s.normals.copy()
    broken[:, broken.shape[1] // 2:] = (0.0, 0.7, -0.7)  # half the frame facing away, as once seen
    assert defects(s.replace(normals=broken)) > MAX_BAD_SHARE


def test_hair_has_fractional_alpha(tmp_path):
    from relit import data
    seed = next(s for s in range(50) if _hair(s))
    stack = render_sample(seed, [str(data.hdri())], res=64, spp=16, lightings=1)[0]
    soft = (stack.alpha > 0.05) & (stack.alpha < 0.95)
    assert soft.sum() > 0.02 * (stack.alpha > 0).sum()


def _hair(seed):
    from relit.stage.look import sample_look
    from relit.stage.person import sample_person
    rng = np.random.default_rng(seed)
    sample_person(rng)
    return sample_look(rng).hair_length > 0.05


def test_a_seed_renders_the_same_sample():
    """Deterministic for a seed: the same person, look, framing and lighting, and the same pixels up to
    the path tracer's floating-point reduction order."""
    from relit import data
    a = render_sample(77, [str(data.hdri())], res=32, spp=4, lightings=1)[0]
    b = render_sample(77, [str(data.hdri())], res=32, spp=4, lightings=1)[0]
    for key in ("person", "look", "shot", "lighting"):
        assert a.metadata[key] == b.metadata[key]
    assert np.array_equal(a.alpha, b.alpha)
    assert np.allclose(a.relit, b.relit, atol=1e-4)


def test_truth_spp_renders_the_passes_with_less_noise_and_the_same_plate():
    """``truth_spp`` renders the passes apart, with more samples, and leaves the image as it was."""
    from relit import data

    def frame(truth_spp=None):
        return render_sample(77, [str(data.hdri())], res=32, spp=4, lightings=1, turn=(0.0,), truth_spp=truth_spp)[0]
    plain, clean, reference = frame(), frame(64), frame(512)
    assert np.allclose(clean.composite, plain.composite, atol=1e-4)
    assert np.allclose(clean.relit, plain.relit, atol=1e-4)
    inside = reference.alpha[..., 0] > 0.5
    noise = {name: np.abs(s.normals - reference.normals)[inside].mean() for name, s in (("4", plain), ("64", clean))}
    assert noise["64"] < 0.5 * noise["4"], noise


def test_a_worker_whose_run_was_killed_writes_nothing(tmp_path):
    """A pool worker outlives a killed run and finishes its person; it must not write into a folder
    that may have been made again for another run."""
    import subprocess

    from relit import data
    from relit.stage.job import _Job, _render_one
    gone = subprocess.Popen(["true"])
    gone.wait()
    job = _Job(str(tmp_path), 32, 4, 5, (str(data.hdri()),), 1, (), None, 0.0, 0.0, 0.0, 0.0, gone.pid)
    assert _render_one((0, job))[1] == "abandoned" and not list(tmp_path.iterdir())
    assert _render_one((0, replace(job, owner=os.getpid())))[1] == "rendered" and list(tmp_path.glob("*.exr"))


def test_specular_is_the_glossy_lobe_not_a_residual(stage):
    """The diffuse-only render carries the effective albedo (1 - w) * albedo, so the specular pass is the
    GGX sheen: non-negative at every pixel (measured: at least 1.7e-4; the lobe's and the image's float
    rounding aside), a share of the light (measured 5.5-10.3% of relit), not a signed residual around zero."""
    out, _ = stage
    for path in sorted(out.glob("*_L*.exr")):
        s = read_passes(path)
        inside = s.alpha[..., 0] > 0.99
        assert s.specular[inside].min() > -1e-3, path.name
        assert s.specular[inside].mean() > 0.03 * s.relit[inside].mean(), path.name


def test_a_sequence_turns_one_person_under_fixed_light(stage_sequence):
    folder, manifest = stage_sequence
    frames = sorted((folder / "seq0000").glob("frame.*.exr"))
    assert [f.name for f in frames] == [f"frame.{i:04d}.exr" for i in range(3)]
    assert manifest["sequences"] == {"seq0000": 3}
    a, b = (read_passes(f) for f in frames[:2])
    assert a.metadata["look"] == b.metadata["look"] and a.metadata["lighting"] == b.metadata["lighting"]
    yaw = [json.loads(s.metadata["shot"])["yaw"] for s in (a, b)]
    assert abs(yaw[1] - yaw[0] - 3.0) < 1e-9 and (b.metadata["frame"], b.metadata["turn"]) == ("1", "3.0")
    assert not np.array_equal(a.normals, b.normals)  # the person moved


def test_previous_pixels_follow_the_turn(stage_sequence):
    """The exact motion between a sequence's frames: the frame before's depth, looked up where each point
    was, is that point's depth then, and its normals there, turned by the frame's turn, are the normals
    now. Looked up in place (no motion), both are further off, and with the motion reversed further
    still. (At 256 px and 1.5 degrees a frame: normals 0.0012 along the motion, 0.014 in place.)"""
    from relit.latlong import rotate_y
    from relit.stage.scene import previous_pixels
    from relit.upsample import bilinear
    folder, _ = stage_sequence
    before, now = (read_passes(f) for f in sorted((folder / "seq0000").glob("frame.*.exr"))[:2])
    row, col, depth = previous_pixels(now, before)
    still_row, still_col = np.mgrid[0:now.shape[0], 0:now.shape[1]].astype(np.float32)
    solid = (before.alpha > 0.99).astype(np.float32)
    errors = {}
    for name, (r, c) in {"along": (row, col), "in place": (still_row, still_col),
                         "reversed": (2 * still_row - row, 2 * still_col - col)}.items():
        inside = (now.alpha[..., 0] > 0.99) & (bilinear(solid, r, c)[..., 0] > 0.999)
        turned = rotate_y(bilinear(before.normals, r, c), 3.0)  # the person turned 3 degrees about +Y
        errors[name] = np.array([np.median(np.abs(bilinear(before.depth, r, c)[..., 0] - depth)[inside]),
                                 np.median(np.linalg.norm(turned - now.normals, axis=-1)[inside])])
    assert np.all(errors["along"] < errors["in place"]) and np.all(errors["in place"] < errors["reversed"])
    assert np.all(errors["along"] < 0.5 * errors["reversed"]), errors


def test_skin_mask_leaves_out_pixels_partly_hair():
    """A pixel 30% covered by hair strands over the skin has a blend of their roughness, which is neither
    skin's map nor hair's fixed value, so roughness alone took it for skin; its F0 is off skin's too."""
    from relit.passes import PassStack
    from relit.stage.scene import F0, FIXED_ROUGHNESS, skin_mask
    skin_rough, skin_f0, share = 0.45, 0.03, 0.3
    rough = [skin_rough, (1 - share) * skin_rough + share * FIXED_ROUGHNESS["hair"], FIXED_ROUGHNESS["hair"]]
    f0 = [skin_f0, (1 - share) * skin_f0 + share * F0["hair"], F0["hair"]]
    stack = PassStack(alpha=np.ones((1, 3, 1), np.float32), roughness=np.float32(rough).reshape(1, 3, 1),
                      specular_strength=np.float32(f0).reshape(1, 3, 1),
                      metadata={"look": json.dumps({"cloth_roughness": 0.8, "skin_f0": skin_f0})})
    assert skin_mask(stack).tolist() == [[True, False, False]]
    assert skin_mask(stack.replace(specular_strength=None)).tolist() == [[True, True, False]]  # roughness alone


def test_specular_follows_the_engines_model(stage):
    """Skin's specular is a GGX lobe under dielectric Fresnel with the sample's specular_strength (F0), as
    the engine shades it: the engine fed the exact passes and the recorded lighting gives the level of
    the path-traced specular pass on the skin."""
    from relit.colour import resolve_config
    from relit.stage.scene import skin_mask
    out, _ = stage
    config = resolve_config()
    checked = 0
    for path in sorted(out.glob("*_L*.exr")):
        raw = read_passes(path)
        skin = skin_mask(raw)  # pure skin: pixels shared with hair (whose light is all specular) are left out
        assert skin.sum() > 100
        plan = StageLighting(**json.loads(raw.metadata["lighting"]))
        if plan.lights:
            continue  # rig lights are close to the subject: its shadows, not the lobe, would dominate
        s = raw.to_working(config)
        lit = relight(s.replace(diffuse=None, specular=None, relit=None, composite=None), plan.to_lighting(),
                      Camera.from_metadata(s.metadata), config=config)
        from relit.colour import Image
        truth = Image(raw.specular, raw.colourspace, config).to_working().pixels
        # measured 0.916 and 0.948 here (the engine has no interreflection); 0.69-0.91 while the stage's split
        # counted part of the diffuse light as specular; 1.5 with its earlier lobe (weight 0.03-0.08, F = 1)
        ratio = lit.specular[skin].mean() / truth[skin].mean()
        assert 0.85 < ratio < 1.05, (path.name, ratio)
        checked += 1
    assert checked, "no HDRI-only sample to check"


def test_people_have_expressions_and_eyebrows(monkeypatch):
    from relit.stage import person as people
    from relit.stage.hair import eyebrows
    from relit.stage.look import sample_look
    from relit.stage.person import REGIONS, sample_person
    rng = np.random.default_rng(3)
    person, look = sample_person(rng), sample_look(rng)
    # the expression's weights are anny's own action units, and they move the face: the same person with every
    # weight 0 (the same draws) differs by up to 12 mm at the mouth (measured), the clothes not at all (2e-5)
    weights = person.params["facial_actions"]
    assert weights and set(weights) <= set(people._model()[0].facial_action_labels)
    drawn = people.sample_expression
    monkeypatch.setattr(people, "sample_expression", lambda r, labels: dict.fromkeys(drawn(r, labels), 0.0))
    neutral = sample_person(np.random.default_rng(3))
    moved = np.linalg.norm(person.vertices - neutral.vertices, axis=1)
    cloth = np.unique(person.faces[person.region == REGIONS.index("cloth")])
    assert moved.max() > 0.006 and moved[cloth].max() < 1e-4
    brows = eyebrows(person, look, rng)
    assert len(brows) > 200
    eyes = person.vertices[person.faces[person.region == REGIONS.index("eye_front")]].mean(axis=1)
    for side in (-1, 1):  # a brow above each eye: higher than its centre, within a few centimetres of it
        eye = eyes[np.sign(eyes[:, 0]) == side].mean(axis=0)
        roots = brows[np.sign(brows[:, 0, 0]) == side, 0]
        assert len(roots) > 100
        assert 0.005 < np.median(roots[:, 1] - eye[1]) < 0.03 and np.abs(roots[:, 0] - eye[0]).max() < 0.04
