"""The shipped passes network through ONNX Runtime: a real photo in, every pass out at its resolution;
``relit passes`` on stills and sequences (with a matte, resuming); ``relit eval`` on stage samples."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from relit import data, estimate
from relit.colour import Image
from relit.estimate import PassesModel, Steadying, estimate_passes, face_window, face_windows, normalise
from relit.io import read_image, read_passes, write_image
from relit.metrics import angular_error
from relit.models import WEIGHTS
from relit.shading import ShadingModel
from relit.upsample import box

MAX_MODEL_BYTES = 25 * 2 ** 20


def relit(*args):
    return subprocess.run([sys.executable, "-m", "relit.cli", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("network", [PassesModel, ShadingModel])
def test_the_shipped_models_are_small_and_documented(network):
    model = network.load()
    assert model.path.stat().st_size <= MAX_MODEL_BYTES
    card = json.loads(model.card.read_text())
    assert {"version", "internal", "steps", "training", "data", "final_losses"} <= set(card)
    assert card["training"]["seed"] is not None and card["data"]["stage_seed"] is not None
    assert "validation" in card["evaluation"]  # relit eval --record


def test_passes_of_a_real_photo():
    photo = read_image(data.portrait())
    stack = estimate_passes(photo, prior_passes=True)
    h, w = photo.height, photo.width
    assert stack.shape == (h, w) and stack.names() == ["alpha", "normals", "albedo", "roughness", "face_normals",
                                                       "face_depth", "face", "person"]
    assert "fused with priors (1 face(s))" in stack.metadata["passes_source"]
    # the mesh's passes are held in the face's box: outside it there is no face
    assert 0 < stack.face.mean() < 0.5 and np.all(stack.face_normals[stack.face[..., 0] == 0] == (0, 0, 1))
    fused = estimate_passes(photo)
    assert fused.names() == ["alpha", "normals", "albedo", "roughness"] and np.array_equal(fused.normals, stack.normals)
    assert estimate_passes(photo, priors=False).names() == ["alpha", "normals", "albedo", "roughness"]
    assert np.allclose(np.linalg.norm(stack.normals, axis=-1), 1, atol=1e-4)
    assert 0 <= stack.alpha.min() and stack.alpha.max() <= 1 and 0 <= stack.albedo.min() and stack.albedo.max() <= 1
    assert stack.colourspace == "ACEScg" and "passes network" in stack.metadata["passes_source"]


def test_albedo_of_a_real_photo_follows_it():
    """The shipped network on the bundled real portrait: its albedo carries the photo's detail rather
    than one flat colour (model 0.1 failed this: spread 0.004, correlation 0.25; 0.2: 0.06-0.09, 0.68)."""
    photo = read_image(data.portrait()).to_working()
    stack = estimate_passes(photo)
    subject = stack.alpha[..., 0] > 0.5
    albedo, image = stack.albedo[subject], photo.pixels[..., :3][subject]
    assert albedo.std(axis=0).min() > 0.03
    assert np.corrcoef(np.log(image.mean(1) + 1e-3), np.log(albedo.mean(1) + 1e-3))[0, 1] > 0.5


def test_a_mirrored_photo_gets_mirrored_passes():
    """Each frame's passes average the network's on the plate and on its mirror image, so mirroring the
    photo mirrors every pass exactly (the normals' x changes sign) instead of giving other errors."""
    photo = read_image(data.portrait()).to_working()
    mirrored = Image(np.ascontiguousarray(photo.pixels[:, ::-1]), photo.colourspace)
    # the network's own symmetry (the face mesh of a mirrored photo is another fit, not a mirrored one)
    a, b = estimate_passes(photo, priors=False), estimate_passes(mirrored, priors=False)
    for name in ("alpha", "albedo", "roughness"):
        assert np.allclose(getattr(b, name)[:, ::-1], getattr(a, name), atol=1e-4), name
    assert np.allclose(b.normals[:, ::-1] * np.float32([-1, 1, 1]), a.normals, atol=1e-4)


def test_exposure_does_not_change_the_passes():
    """The network sees the image over its mean luminance: a plate two stops brighter gives the same passes."""
    photo = read_image(data.portrait()).to_working()
    a = estimate_passes(photo, priors=False)  # the priors see the plate as displayed, clipped
    b = estimate_passes(Image(photo.pixels * 4, photo.colourspace), priors=False)
    assert np.allclose(a.alpha, b.alpha, atol=1e-3) and np.allclose(a.normals, b.normals, atol=1e-3)
    rgb = np.random.default_rng(0).random((4, 4, 3)).astype(np.float32)
    assert np.allclose(normalise(rgb), normalise(rgb * 8), atol=1e-6)


def test_a_small_face_gets_the_passes_it_gets_seen_large(monkeypatch):
    """The bundled portrait in the middle of a frame three times its size (its edges carried outward): the
    frame's run sees the face small, so the network runs again on a crop around it. Within the crop, the
    network's passes (before the priors correct them) are those of the crop taken as a plate of its own;
    outside it they are the frame's run's, untouched (measured: 0.001 degrees from the crop's own passes,
    float rounding; the frame's run alone is 15 degrees from them)."""
    monkeypatch.setattr(estimate, "fuse", lambda up, rgb, found, grain=0: up)
    photo = read_image(data.portrait()).to_working()
    h, w = photo.height, photo.width
    big = Image(np.pad(photo.pixels, ((h, h), (w, w), (0, 0)), mode="edge"), photo.colourspace)
    rows, cols = face_window(estimate.compute_priors(big).faces[0].detection.box, 3 * h, 3 * w)
    assert h < rows.start and rows.stop < 2 * h and w < cols.start and cols.stop < 2 * w
    alone = estimate_passes(Image(np.ascontiguousarray(big.pixels[rows, cols]), big.colourspace))
    cropped = estimate_passes(big)
    monkeypatch.setattr(estimate, "FACE_DETAIL", np.inf)
    frame_only = estimate_passes(big)
    side = rows.stop - rows.start
    margin = int(np.ceil(estimate.FACE_FEATHER * side))
    inner = np.zeros((side, side), bool)
    inner[margin:-margin, margin:-margin] = True
    person = inner & (alone.alpha[..., 0] > 0.5)

    def error(stack):
        return float(angular_error(stack.normals[rows, cols], alone.normals, person).mean())
    assert error(cropped) < 0.01 < 5 < error(frame_only)
    assert np.abs(cropped.alpha[rows, cols] - alone.alpha)[inner].max() < 1e-4
    outside = np.ones((3 * h, 3 * w), bool)
    outside[rows, cols] = False
    for name in ("alpha", "normals", "albedo", "roughness"):
        assert np.array_equal(getattr(cropped, name)[outside], getattr(frame_only, name)[outside]), name


def test_a_sequence_steadies_its_frames_where_a_still_does_not(monkeypatch):
    """Stills fuse the priors with the plate as it is, from each face's own landmarks and crop; the frames of
    a sequence with the plate averaged over ``TemporalPasses.GRAIN`` pixels (whose grain would otherwise
    flicker in the albedo), their faces steadied along the frames (``Steadying``)."""
    seen = []
    fuse, priors, crops = estimate.fuse, estimate.compute_priors, estimate._face_crops
    monkeypatch.setattr(estimate, "fuse",
                        lambda up, rgb, found, grain: seen.append(grain) or fuse(up, rgb, found, grain))
    monkeypatch.setattr(estimate, "compute_priors",
                        lambda image, device, steady: seen.append(steady) or priors(image, device, steady))
    monkeypatch.setattr(estimate, "_face_crops", lambda *args: seen.append(args[-1]) or crops(*args))
    photo = read_image(data.portrait())
    small = Image(np.ascontiguousarray(photo.pixels[::4, ::4]), photo.colourspace)
    estimate_passes(small)
    assert seen == [None, estimate.face_windows, 0]
    seen.clear()
    temporal = estimate.TemporalPasses()
    temporal(small)
    assert seen[0].func == temporal.steady.faces and seen[1:] == [temporal.steady.crops, estimate.TemporalPasses.GRAIN]
    assert estimate.TemporalPasses.GRAIN >= 1


def _steadying(continued: list[bool]) -> Steadying:
    steady = Steadying(1, 0.3)
    steady.landmarks.continued = continued
    return steady


def test_a_sequence_holds_a_face_crop_while_the_face_stays_in_it():
    steady = _steadying([True])
    side = 150  # FACE_CROP times the box's 100 pixels
    windows = [steady.crops([np.float32([100 + k, 100, 200 + k, 200])], 600, 800)[0] for k in range(20)]
    own = [face_window(np.float32([100 + k, 100, 200 + k, 200]), 600, 800) for k in range(20)]
    moves = [k for k in range(1, 20) if windows[k] != windows[k - 1]]
    # held until the face's own crop is more than HOLD of the side away, then taken as it is
    assert moves == [int(Steadying.HOLD * side) + 1] and windows[moves[0]] == own[moves[0]]
    assert all(w[1].stop - w[1].start == side for w in windows)
    # two faces keep their own crops; a face larger by more than HOLD gets a crop of its own size
    steady.landmarks.continued = [True, True]
    steady.crops([np.float32([0, 0, 100, 100]), np.float32([500, 300, 600, 400])], 600, 800)
    first, second = steady.crops([np.float32([502, 301, 602, 401]), np.float32([0, 0, 130, 130])], 600, 800)
    assert first == face_window(np.float32([500, 300, 600, 400]), 600, 800)
    assert second == face_window(np.float32([0, 0, 130, 130]), 600, 800)
    # a face whose track started afresh takes its own crop
    steady.landmarks.continued = [False]
    box = [np.float32([503, 301, 603, 401])]
    assert steady.crops(box, 600, 800) == face_windows(box, 600, 800)


def test_a_face_s_change_is_explained_by_its_motion_unless_the_plate_changed_there():
    rng = np.random.default_rng(0)
    before = rng.random((120, 160, 3)).astype(np.float32)
    then = np.stack([rng.uniform(40, 100, 50), rng.uniform(30, 90, 50), np.zeros(50)], -1).astype(np.float32)
    steady = Steadying(1, 0.3)
    scale = np.float32([0.5, 0.5])  # the network's pixels a plate pixel
    now = np.roll(before, (2, 3), axis=(0, 1))  # the face moved 3 network pixels right, 2 down
    moved = then + [6, 4, 0]  # in plate pixels
    assert steady.explained(now, before, scale, then, moved)
    assert not steady.explained(now, before, scale, then, then)  # the landmarks say it did not move
    changed = now.copy()
    changed[20:40, 25:45] = changed[20:40, 25:45][::-1, ::-1]  # a part of the face turned over
    assert not steady.explained(changed, before, scale, then, moved)
    assert not steady.explained(now, None, scale, then, moved)  # no frame before


def test_a_face_crop_fades_in_only_inside_the_plate():
    rows, cols = face_window(np.float32([-20, 100, 60, 180]), 400, 300)  # a face cut by the left edge
    assert (rows.start, rows.stop, cols.start, cols.stop) == (80, 200, 0, 120)  # 1.5 x 80, moved inside
    weight = estimate._feather((rows, cols), 400, 300)[..., 0]
    assert weight.shape == (120, 120) and weight[60, 0] == 1 and weight[60, 60] == 1
    assert weight[60, -1] < 0.1 and weight[0, 60] < 0.1 and weight[-1, 60] < 0.1


def test_a_matte_guides_the_alpha():
    photo = read_image(data.portrait())
    h, w = photo.height, photo.width
    nothing = estimate_passes(photo, np.zeros((h, w), np.float32))
    everything = estimate_passes(photo, np.ones((h, w), np.float32))
    assert nothing.alpha.mean() < everything.alpha.mean()


def test_passes_cli_still_and_sequence_with_a_matte(tmp_path):
    photo = read_image(data.portrait())
    small = Image(photo.pixels[::4, ::4], photo.colourspace)
    h, w = small.height, small.width
    for frame in (1, 2, 3):
        write_image(tmp_path / f"plate.{frame:04d}.png", small)
        write_image(tmp_path / f"matte.{frame:04d}.exr", Image(np.ones((h, w, 1), np.float32), "Raw"))
    result = relit("passes", tmp_path / "plate.0001.png", "-o", tmp_path / "still.exr", "--hfov", 35)
    assert result.returncode == 0, result.stderr
    still = read_passes(tmp_path / "still.exr")
    assert still.shape == (h, w) and float(still.metadata["camera_hfov"]) == 35
    assert still.face is None and "fused with priors (1 face(s))" in still.metadata["passes_source"]
    result = relit("passes", tmp_path / "plate.0001.png", "-o", tmp_path / "priors.exr", "--priors")
    assert result.returncode == 0, result.stderr
    priors = read_passes(tmp_path / "priors.exr")  # the prior passes as layers, the same passes beside them
    assert priors.face.max() == 1.0 and priors.person.max() > 0.9 and priors.face_depth.max() > 0
    assert np.allclose(np.linalg.norm(priors.face_normals, axis=-1), 1, atol=1e-3)
    assert np.array_equal(priors.normals, still.normals) and np.array_equal(priors.alpha, still.alpha)
    result = relit("passes", tmp_path / "plate.0001.png", "-o", tmp_path / "alone.exr", "--no-priors")
    alone = read_passes(tmp_path / "alone.exr")
    assert result.returncode == 0 and "priors" not in alone.metadata["passes_source"]
    face = priors.face[..., 0] > 0.99  # the face mesh's normals replace the network's there
    assert np.abs(priors.normals - alone.normals)[face].mean() > 0.05
    shutil.copyfile(tmp_path / "still.exr", tmp_path / "out.0002.exr")  # as if a killed run had written it
    before = (tmp_path / "out.0002.exr").stat().st_mtime_ns
    result = relit("passes", tmp_path / "plate.####.png", "-o", tmp_path / "out.####.exr", "--frames", "1-3",
                   "--matte", tmp_path / "matte.####.exr")
    assert result.returncode == 0, result.stderr
    assert "1 of 3 frame(s) already written" in result.stderr
    assert (tmp_path / "out.0002.exr").stat().st_mtime_ns == before
    assert read_passes(tmp_path / "out.0003.exr").alpha.mean() > 0.5


def test_passes_cli_errors(tmp_path):
    write_image(tmp_path / "plate.png", Image(np.full((16, 16, 3), 0.5, np.float32), "sRGB - Texture"))
    write_image(tmp_path / "matte.exr", Image(np.ones((8, 8, 1), np.float32), "Raw"))
    result = relit("passes", tmp_path / "plate.png", "-o", tmp_path / "o.exr", "--matte", tmp_path / "matte.exr")
    assert result.returncode == 1 and "matte is 8x8 but the plate is 16x16" in result.stderr
    result = relit("passes", tmp_path / "plate.png", "-o", tmp_path / "o.exr", "--model", tmp_path / "none.onnx")
    assert result.returncode == 1 and "none.onnx: no such ONNX model" in result.stderr
    (tmp_path / "cardless.onnx").write_bytes(b"")  # the card is looked for before the model is read
    result = relit("passes", tmp_path / "plate.png", "-o", tmp_path / "o.exr", "--model", tmp_path / "cardless.onnx")
    assert result.returncode == 1 and "cardless.json: no model card" in result.stderr


def test_eval_prints_every_table_with_its_baselines(stage_validation, tmp_path):
    """On two rendered people (one relabelled validation): every table, method and metric is there."""
    result = relit("eval", stage_validation, "--json", tmp_path / "eval.json")
    assert result.returncode == 0, result.stderr
    tables = json.loads((tmp_path / "eval.json").read_text())
    assert set(tables) == {"alpha", "normals (skin)", "normals (subject)", "albedo", "relit",
                           "reconstruction (own lighting)"}
    assert "baseline: facing the camera" in tables["normals (skin)"]
    assert "exact passes (engine bound)" in tables["relit"]
    for methods in tables.values():
        for values in methods.values():
            assert all(np.isfinite(v) for v in values.values())
    assert tables["relit"]["exact passes (engine bound)"]["PSNR"] > 20
    assert "normals (skin)" in result.stdout and "PSNR" in result.stdout


def test_temporal_passes_smooth_noise_and_follow_change():
    """On a static plate with noise the temporal result changes less than per-frame inference; where the
    plate changes in a way the subject's motion does not explain (part of the person turned upside
    down, or the whole frame: a cut) the new frame is taken as it is, with no ghost of the one before."""
    from relit.estimate import TemporalPasses
    photo = read_image(data.portrait()).to_working()
    rng = np.random.default_rng(0)
    frames = [Image(photo.pixels * (1 + 0.05 * rng.standard_normal(photo.pixels.shape)).astype(np.float32),
                    photo.colourspace) for _ in range(3)]
    alone = [estimate_passes(f) for f in frames]
    h, w = photo.height, photo.width
    part, block = frames[2].pixels.copy(), np.s_[h * 9 // 20:h * 17 // 20, w * 3 // 10:w * 7 // 10]
    part[block] = part[block][::-1, ::-1]
    for other in (Image(part, photo.colourspace), Image(frames[2].pixels[::-1].copy(), photo.colourspace)):
        temporal = TemporalPasses()
        smooth = [temporal(f) for f in frames]
        assert np.allclose(smooth[0].normals, alone[0].normals)  # the first frame has no past
        assert np.abs(smooth[2].albedo - smooth[1].albedo).mean() < np.abs(alone[2].albedo - alone[1].albedo).mean()
        changed = np.abs(normalise(other.to("Linear Rec.709 (sRGB)").pixels)
                         - normalise(frames[2].to("Linear Rec.709 (sRGB)").pixels)).mean(-1)
        changed = box(changed[..., None].astype(np.float32), 8)[..., 0] > 0.5
        assert changed.mean() > 0.1
        result, alone_other = temporal(other), estimate_passes(other)
        for name in ("normals", "albedo"):  # the albedo has a gate of its own
            previous, now = getattr(smooth[2], name), getattr(alone_other, name)
            ghost = np.abs(getattr(result, name) - now)[changed].mean()
            assert ghost < 0.02 * np.abs(previous - now)[changed].mean(), name  # under 2% of the old frame shows


def test_eval_sequences_compares_per_frame_and_temporal(stage_sequence, tmp_path):
    """... and --record stores the same tables in the model's card (a copy of the shipped model here)."""
    folder, _ = stage_sequence
    for name in ("passes.onnx", "passes.json"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    result = relit("eval", folder, "--sequences", "--json", tmp_path / "t.json", "--model", tmp_path / "passes.onnx",
                   "--record")
    assert result.returncode == 0, result.stderr
    tables = json.loads((tmp_path / "t.json").read_text())
    card = json.loads((tmp_path / "passes.json").read_text())
    assert card["evaluation"][f"sequences: {folder.name}"]["results"] == tables
    assert card["version"] == json.loads((WEIGHTS / "passes.json").read_text())["version"]
    kinds = ("temporal error", "temporal error along the motion")
    assert set(tables) == {"accuracy", *(f"{kind} ({region})" for kind in kinds for region in ("subject", "skin"))}
    for kind in kinds:
        rows = tables[f"{kind} (subject)"]
        assert set(rows) == {"per-frame", "temporal", "ground truth's own frame-to-frame change"}
        for row in rows.values():
            assert set(row) == {"normals", "albedo", "relit"} and all(np.isfinite(v) and v >= 0 for v in row.values())


def test_eval_real_portraits_against_teacher_mattes(tmp_path):
    from relit.evaluate import evaluate_real
    photo = read_image(data.portrait())
    write_image(tmp_path / "p.jpg", photo)
    write_image(tmp_path / "p.png", Image(np.ones((photo.height, photo.width, 1), np.float32), "Raw"))
    table = evaluate_real(tmp_path, tmp_path)["alpha on real portraits (vs teacher)"]
    assert table["baseline: everything is subject"] == {"IoU": 1.0, "MSE": 0.0}
    # against an all-ones teacher, IoU is the share of the frame the network calls subject, and MSE its
    # alpha's mean squared distance from 1: worked out here from the passes themselves
    alpha = estimate_passes(read_image(tmp_path / "p.jpg")).alpha
    assert table["network"]["IoU"] == pytest.approx(float((alpha > 0.5).mean()), abs=1e-6)
    assert table["network"]["MSE"] == pytest.approx(float(((alpha - 1) ** 2).mean()), rel=1e-5)
    assert 0.2 < table["network"]["IoU"] < 0.8  # a portrait, neither empty nor the whole frame


def test_sequence_chunks_give_the_frames_of_one_run(tmp_path):
    """Temporal smoothing carries across resumed runs and farm chunks: each first infers the plate's
    frames before (up to ``TemporalPasses.WARMUP``), and a run that skips frames already done goes on
    from the frame its history holds, so where that covers the history, as here, frames computed in
    chunks equal those of a single run."""
    photo = read_image(data.portrait())
    rng = np.random.default_rng(1)
    small = photo.pixels[::4, ::4]
    for frame in (1, 2, 3, 4):
        noisy = small * (1 + 0.05 * rng.standard_normal(small.shape)).astype(np.float32)
        write_image(tmp_path / f"plate.{frame:04d}.exr", Image(noisy, photo.colourspace))
    plate = tmp_path / "plate.####.exr"
    (tmp_path / "one").mkdir()
    (tmp_path / "chunks").mkdir()
    assert relit("passes", plate, "-o", tmp_path / "one" / "p.####.exr", "--frames", "1-4").returncode == 0
    # frame 3 needs both frames before; the last run skips 1 and 3, and frame 4's history is 1, 2, 3
    for chunk in ("1-1", "3-3", "1-4"):
        assert relit("passes", plate, "-o", tmp_path / "chunks" / "p.####.exr", "--frames", chunk).returncode == 0
    for frame in (2, 3, 4):
        a, b = (read_passes(tmp_path / run / f"p.{frame:04d}.exr") for run in ("one", "chunks"))
        assert np.allclose(a.albedo, b.albedo, atol=1e-6) and np.allclose(a.normals, b.normals, atol=1e-6)

