"""Training the passes network for real on rendered stage samples: resume, export, ONNX == torch, and
the priors as inputs, computed by the code that computes them on plates."""
import io
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from relit import data as bundled  # noqa: E402
from relit.errors import RelitError  # noqa: E402
from relit.io import read_image  # noqa: E402
from relit.metrics import psnr  # noqa: E402
from relit.models import run, session  # noqa: E402
from relit.priors import PRIOR_CHANNELS, compute_priors, network_input  # noqa: E402
from relit.train.data import SLICES, StageData, _beside, _flag, _mirror_signs, sample_array  # noqa: E402
from relit.train.export import export  # noqa: E402
from relit.train.jpeg import jpeg  # noqa: E402
from relit.train.loop import CHECKPOINT, TrainSettings, _retinex, losses, train  # noqa: E402
from relit.train.net import PassesNet  # noqa: E402


def test_batches_pair_lightings_of_one_person(stage):
    folder, _ = stage
    data = StageData.load(folder, "train")
    assert data.samples.shape[1:] == (20, 64, 64) and all(len(p) == 2 for p in data.pairs)
    batch = data.batch(4, 32, torch.Generator().manual_seed(0))
    assert batch["image"].shape == (4, 3, 32, 32) and batch["matte"].shape == (4, 1, 32, 32)
    assert batch["priors"].shape == (4, PRIOR_CHANNELS, 32, 32)
    # variety (people behind, soft focus, greyscale) changes the images, not the crops or the labels
    varied = data.batch(4, 32, torch.Generator().manual_seed(0), variety=True)
    assert torch.equal(varied["alpha"], batch["alpha"]) and not torch.equal(varied["image"], batch["image"])
    n = batch["normals"]
    assert torch.allclose(n.norm(dim=1), torch.ones(1), atol=1e-3)
    # rows 0 and 1 are one person and one crop under two lightings: same geometry, different light
    assert torch.equal(batch["alpha"][0], batch["alpha"][1])
    assert not torch.equal(batch["image"][0], batch["image"][1])


def test_samples_carry_the_priors_of_their_render(stage):
    """The priors channels are ``network_input`` of the render's composite, as a plate's would be; a
    mirrored crop flips the face normals' x only."""
    from relit.colour import Image
    from relit.io import read_passes
    folder, manifest = stage
    path = folder / manifest["samples"][0]["file"]
    stack = read_passes(path)
    expected = network_input(compute_priors(Image(stack.composite, stack.colourspace)))
    got = sample_array(path)[SLICES["priors"]].transpose(1, 2, 0).astype(np.float32)
    assert np.abs(got - expected).max() <= 2e-3  # float16 storage
    flip = torch.tensor([-1.0, 1.0])
    signs = _mirror_signs(flip, [-1, 1, 1, 1, 1])
    assert signs.shape == (2, 5, 1, 1)
    assert signs[:, :, 0, 0].tolist() == [[-1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]


@pytest.mark.parametrize("quality", [30, 60, 90])
def test_the_jpeg_camera_loses_what_a_jpeg_encoder_loses(quality):
    """The bundled portrait through libjpeg (Pillow, 4:2:0) and through relit.train.jpeg: the two decoded
    images agree far better than either agrees with the original (measured 43.0-46.0 dB against a JPEG
    error of 29.7-38.3 dB), and the error itself is the encoder's within 0.5 dB (measured 0.01-0.14)."""
    image = pytest.importorskip("PIL.Image")
    original = np.round(np.clip(read_image(bundled.portrait()).pixels[100:356, 120:376, :3], 0, 1) * 255)
    buffer = io.BytesIO()
    image.fromarray(original.astype(np.uint8)).save(buffer, "JPEG", quality=quality, subsampling=2)
    encoder = np.asarray(image.open(buffer).convert("RGB"), np.float64) / 255
    ours = jpeg(torch.tensor(original / 255, dtype=torch.float32).permute(2, 0, 1)[None],
                torch.tensor([float(quality)]))[0].permute(1, 2, 0).numpy()
    everywhere = np.ones(original.shape[:2], bool)
    assert psnr(ours, encoder, everywhere, peak=1) > 42
    assert abs(psnr(ours, original / 255, everywhere, 1) - psnr(encoder, original / 255, everywhere, 1)) < 0.5


def test_a_person_behind_stands_to_one_side():
    """``_beside``: the other person is moved sideways (its centre by 20-90% of the frame) and sized
    0.7-1.25x; a person left in place (a copy behind the subject) would teach nothing."""
    alpha = torch.zeros(64, 1, 64, 64)
    alpha[..., 16:48, 24:40] = 1  # a 32x16 person in the middle
    person = alpha.repeat(1, 3, 1, 1) * 0.5
    moved, moved_alpha = _beside(person, alpha, torch.Generator().manual_seed(0))
    columns = torch.arange(64.0)
    centre = (moved_alpha.sum(2)[:, 0] * columns).sum(1) / moved_alpha.sum((1, 2, 3)).clamp(min=1e-6)
    inside = moved_alpha.sum((1, 2, 3)) > 1  # in frame at all
    shift = (centre[inside] - 31.5).abs() / 64
    assert inside.sum() >= 32 and shift.min() > 0.2  # the part in frame: at least a fifth of the width aside
    assert torch.allclose(moved, moved_alpha.repeat(1, 3, 1, 1) * 0.5, atol=1e-5)  # colour moves with alpha


def test_a_flag_is_stripes_of_saturated_colour_in_folds():
    """``_flag``: along the stripes the colour changes only with the folds' shading (its hue stays), across
    them it flips between bands; every flag is saturated somewhere and never black."""
    flags = _flag(16, 64, 96, torch.Generator().manual_seed(0))
    assert flags.shape == (16, 3, 64, 96) and flags.min() >= 0.01 and flags.max() <= 1.0
    hue = flags / flags.amax(1, keepdim=True)  # the shading divides out
    # a boundary between two rows (columns) where most of the row (column) changes hue: a stripe's edge;
    # the canton and its dots cover under half of any row or column
    rows = (hue[..., 1:, :] - hue[..., :-1, :]).abs().amax(1).median(2).values.gt(0.05).sum(1)
    columns = (hue[..., :, 1:] - hue[..., :, :-1]).abs().amax(1).median(1).values.gt(0.05).sum(1)
    assert (((rows > 0) & (columns == 0)) | ((rows == 0) & (columns > 0))).all(), (rows, columns)
    assert ((flags.amax(1) - flags.amin(1)) > 0.3).flatten(1).any(1).all()  # saturated colours


def test_skin_pixels_weigh_more_in_the_normals_loss(stage):
    folder, _ = stage
    batch = StageData.load(folder, "train").batch(4, 32, torch.Generator().manual_seed(0))
    skin = batch["skin"] > 0.5
    assert skin.any() and bool((batch["alpha"][skin] > 0.5).all())  # skin is part of the subject
    wrong = torch.where(skin, -batch["normals"], batch["normals"])  # every error on the skin
    pred = (batch["alpha"], wrong, batch["albedo"], batch["roughness"])
    plain, weighted = losses(pred, batch)["normals"], losses(pred, batch, skin=2.0)["normals"]
    subject = (batch["alpha"] > 0.5).float()
    share = float((skin.float() * subject).sum() / subject.sum())  # of the subject that is skin
    assert plain == pytest.approx(2 * share, rel=1e-3)  # 1 - cos(180 degrees) on the skin, 0 elsewhere
    assert weighted > plain * 1.5


def test_training_resumes_and_the_onnx_export_matches_torch(stage, tmp_path):
    folder, _ = stage
    settings = TrainSettings(steps=2, batch=2, res=32, checkpoint_every=1, priors=True, variety=True)
    ckpt = train(folder, tmp_path, settings)
    first = torch.load(ckpt, weights_only=False)
    assert first["step"] == 2 and len(first["history"]) == 2
    train(folder, tmp_path, TrainSettings(steps=3, batch=2, res=32, checkpoint_every=1, priors=True))
    resumed = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    assert resumed["step"] == 3 and resumed["history"][:2] == first["history"]

    card = export(ckpt, tmp_path / "passes.onnx", internal=64, version="test")
    assert json.loads((tmp_path / "passes.json").read_text()) == card
    assert card["steps"] == 3 and card["data"]["files"] == 4
    # the resumed run changed a setting: the card keeps how the first steps were made
    assert [(r["steps"], r["until_step"]) for r in card["earlier_training"]] == [(2, 2)]
    assert list(card["inputs"]) == ["image", "matte", "priors"]
    net = PassesNet(tuple(card["widths"]), priors=True)
    net.load_state_dict(resumed["model"])
    net.eval()
    rng = np.random.default_rng(0)
    inputs = {"image": rng.random((1, 3, 48, 80), dtype=np.float32),
              "matte": rng.random((1, 1, 48, 80), dtype=np.float32),
              "priors": rng.random((1, PRIOR_CHANNELS, 48, 80), dtype=np.float32)}
    with torch.no_grad():
        expected = [t.numpy() for t in net(*map(torch.from_numpy, inputs.values()))]
    got = run(session(tmp_path / "passes.onnx", "cpu"), **inputs)
    assert max(float(np.abs(a - b).max()) for a, b in zip(got, expected)) <= 1e-4


def test_inference_gives_a_priors_network_its_priors_mirrored_with_the_plate(stage, tmp_path, monkeypatch):
    """A network whose card takes the priors gets them from ``estimate_passes`` (with or without the
    fusion); with mirror averaging, a mirrored plate with mirrored priors gives the mirrored passes, which
    fails if the priors' face normals are not flipped with the plate. A network without them keeps two
    inputs."""
    import relit.estimate as estimate
    from relit.colour import Image
    from relit.priors import FacePasses, Priors
    folder, _ = stage
    train(folder, tmp_path, TrainSettings(steps=1, batch=2, res=32, priors=True))
    export(tmp_path / CHECKPOINT, tmp_path / "passes.onnx", internal=64, version="test")
    model = estimate.PassesModel.load(tmp_path / "passes.onnx")
    assert model.inputs == ("image", "matte", "priors")
    rng = np.random.default_rng(1)
    plate = rng.random((64, 96, 3), dtype=np.float32)
    normals = rng.normal(size=(64, 96, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    coverage = rng.random((64, 96, 1), dtype=np.float32)

    def priors_of(mirror: bool) -> Priors:
        flip = (lambda a: a[:, ::-1].copy()) if mirror else (lambda a: a)
        n = flip(normals) * (np.float32([-1, 1, 1]) if mirror else 1)
        return Priors(FacePasses(n, np.zeros_like(coverage), flip(coverage)), flip(coverage), ())

    passes = {}
    for mirror in (False, True):
        monkeypatch.setattr(estimate, "compute_priors", lambda image, device=None, steady=None, m=mirror: priors_of(m))
        image = Image(plate[:, ::-1].copy() if mirror else plate, estimate.NET_COLOURSPACE)
        passes[mirror] = estimate.estimate_passes(image, model=model, priors=False).normals
    back = passes[True][:, ::-1] * np.float32([-1, 1, 1])
    assert np.abs(back - passes[False]).max() < 1e-3
    monkeypatch.setattr(estimate, "compute_priors", lambda image, device=None, steady=None: priors_of(False))
    nothing = coverage * 0
    zeroed = Priors(FacePasses(normals * 0 + np.float32([0, 0, 1]), nothing, nothing), nothing, ())
    with_priors = estimate.estimate_passes(Image(plate, estimate.NET_COLOURSPACE), model=model, priors=False).normals
    monkeypatch.setattr(estimate, "compute_priors", lambda image, device=None, steady=None: zeroed)
    assert np.abs(estimate.estimate_passes(Image(plate, estimate.NET_COLOURSPACE), model=model,
                                           priors=False).normals - with_priors).max() > 1e-3  # the priors are read
    train(folder, tmp_path / "plain", TrainSettings(steps=1, batch=2, res=32, priors=False, widths=(8, 8, 8, 8, 8)))
    card = export(tmp_path / "plain" / CHECKPOINT, tmp_path / "plain.onnx", internal=64, version="test")
    assert list(card["inputs"]) == ["image", "matte"] and card["widths"] == [8] * 5
    assert estimate.PassesModel.load(tmp_path / "plain.onnx").inputs == ("image", "matte")


def test_real_portraits_train_with_teacher_mattes(stage, tmp_path):
    from relit.colour import Image
    from relit.io import write_image
    from relit.train.data import RealData
    photos, mattes = tmp_path / "photos", tmp_path / "mattes"
    photos.mkdir()
    mattes.mkdir()
    photo = read_image(bundled.portrait())
    for stem in ("a", "b"):
        write_image(photos / f"{stem}.jpg", photo)
        write_image(mattes / f"{stem}.png", Image(np.ones((photo.height, photo.width, 1), np.float32) * 0.9, "Raw"))
    real = RealData.load(photos, mattes, size=64)
    assert real.samples.shape == (2, 4 + PRIOR_CHANNELS, 64, 64) and real.files == ["a.jpg", "b.jpg"]
    assert float(real.samples[:, 3].float().mean()) == pytest.approx(230 / 255, abs=1e-3)  # the 8-bit matte given
    own = RealData.load(photos, size=64)  # no mattes: the person prior is the teacher
    assert torch.equal(own.samples[:, 3], own.samples[:, 3 + PRIOR_CHANNELS])
    assert float(own.samples[:, 3].float().mean()) < 0.8  # a person, not the whole frame
    batch = real.batch(4, 32, torch.Generator().manual_seed(1))
    assert torch.equal(batch["teacher"][0], batch["teacher"][1])  # one crop, two jitters
    assert not torch.equal(batch["image"][0], batch["image"][1])
    # the Retinex prior prefers an albedo that carries the photo's edges to one flat colour
    subject = torch.ones_like(batch["teacher"])
    own = _retinex(batch["image"], torch.expm1(batch["image"]).clamp(0, 1), subject)
    assert own < 0.5 * _retinex(batch["image"], torch.full_like(batch["image"], 0.4), subject)
    folder, _ = stage
    ckpt = train(folder, tmp_path / "ckpt", TrainSettings(steps=1, batch=2, res=32, real=str(photos),
                                                           teacher=str(mattes), real_batch=2))
    state = torch.load(ckpt, weights_only=False)
    assert state["data"]["real"] == ["a.jpg", "b.jpg"] and "real_teacher" in state["history"][-1]


class _Payload:
    """What a checkpoint from elsewhere could hold: an object whose unpickling runs code."""

    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('RAN').write_text('ran')",))


def test_a_checkpoint_that_is_not_plain_data_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"model": {}, "payload": _Payload()}, tmp_path / CHECKPOINT)
    with pytest.raises(RelitError, match="not a relit checkpoint"):
        export(tmp_path / CHECKPOINT, tmp_path / "out.onnx", 192, "x")
    assert not (tmp_path / "RAN").exists()
