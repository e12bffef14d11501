"""Real-light evaluation (``relit.real_light``): photometric stereo on an exact Lambertian sphere, the protocol
on a synthetic Yale folder rendered with the README's direction convention, the real subject's baselines
where the README puts them, and ``relit eval --real-light``."""
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import relit.real_light as real_light
from relit.metrics import angular_error
from relit.models import WEIGHTS
from relit.passes import PassStack
from relit.real_light import evaluate_real_light, photometric_stereo, read_subject
from tests.conftest import sphere_stack
from tests.test_cli import relit

YALE = Path(__file__).parents[2] / "shared/assets/yaleb"
# strobes like the database's: azimuth to +-110 and elevation -35 to +45 (the frontal one among them)
STROBES = [(a, e) for a in (-110, -70, -35, -20, 0, 20, 35, 70, 110) for e in (-35, -20, 0, 20, 45)]
SIZE, WIDTH = 40, 48  # a sphere 40 pixels across in a frame 48 wide: rows and columns cannot be swapped
AMBIENT = 0.03  # the synthetic room light, on top of every strobe photo


def readme_direction(azimuth: float, elevation: float) -> np.ndarray:
    """Toward the strobe, as ../shared/assets/yaleb/README.md states it (not relit's own function)."""
    a, e = math.radians(azimuth), math.radians(elevation)
    return np.array([-math.sin(a) * math.cos(e), math.sin(e), math.cos(a) * math.cos(e)])


def sphere(height: int = SIZE, width: int = WIDTH) -> PassStack:
    """The exact passes of an orthographic sphere SIZE across centred in a height x width frame, with an
    albedo that varies across it (0.3 to 0.7) and no specular reflection: what a Lambertian render shows."""
    inner = sphere_stack(SIZE)
    top, left = (height - SIZE) // 2, (width - SIZE) // 2
    place = (slice(top, top + SIZE), slice(left, left + SIZE))
    alpha, albedo = np.zeros((height, width, 1), np.float32), np.zeros((height, width, 3), np.float32)
    normals = np.broadcast_to(np.float32([0, 0, 1]), (height, width, 3)).copy()
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    pattern = 0.5 + 0.2 * np.sin(cols / 3.0) * np.cos(rows / 5.0)  # drawn on the sphere: it moves with it
    alpha[place], normals[place], albedo[place] = inner.alpha, inner.normals, pattern[..., None]
    return PassStack(alpha=alpha, normals=normals, albedo=albedo, specular_strength=np.zeros_like(alpha))


def render(stack: PassStack, direction: np.ndarray) -> np.ndarray:
    """A linear strobe photo of ``stack``: albedo x max(n . l, 0), black off the sphere."""
    shade = stack.albedo[..., 0] * np.maximum(stack.normals @ direction, 0)
    return np.where(stack.alpha[..., 0] > 0, shade, 0).astype(np.float32)


def write_pgm(path: Path, linear: np.ndarray) -> None:
    """8-bit binary PGM of values taken as linear in [0, 1], as the database stores them: written by hand,
    top row first (OpenImageIO 3.2's PNM writer stores the rows bottom-up, its reader reads them top-down)."""
    header = f"P5\n{linear.shape[1]} {linear.shape[0]}\n255\n".encode()
    path.write_bytes(header + np.round(np.clip(linear, 0, 1) * 255).astype(np.uint8).tobytes())


@pytest.fixture
def yale_like(tmp_path) -> Path:
    """A Yale-like folder (``yaleSYN/`` inside it): the sphere under STROBES, plus the ambient photo."""
    folder = tmp_path / "yale" / "yaleSYN"
    folder.mkdir(parents=True)
    stack = sphere()
    write_pgm(folder / "yaleSYN_P00_Ambient.pgm", np.full(stack.shape, AMBIENT))
    for a, e in STROBES:
        write_pgm(folder / f"yaleSYN_P00A{a:+04d}E{e:+03d}.pgm", AMBIENT + render(stack, readme_direction(a, e)))
    return folder.parent


def exact_passes(image) -> PassStack:
    """The passes callable that knows the truth: the sphere's exact passes, centred in the photo's frame."""
    return sphere(image.height, image.width)


def test_photometric_stereo_recovers_a_lambertian_sphere():
    """Exact renders (no quantisation): where it calls the face, the fit gives the normals and albedo back,
    clipped pixels aside; the face is most of the sphere and nothing off it; a pixel that is not Lambertian
    (a highlight under the strobes near the camera) is left out of the face."""
    stack = sphere()
    directions = np.array([readme_direction(a, e) for a, e in STROBES])
    photos = np.stack([render(stack, d) for d in directions])
    clip = 0.6  # a sensor's white: 700 values of the brightest pixels under the nearer strobes are over it
    glint = (20, 24)  # the sphere's centre, facing the camera: a mirror highlight under the strobes near it
    shiny = photos.copy()
    shiny[directions[:, 2] > 0.9, glint[0], glint[1]] += 0.5
    disc = stack.alpha[..., 0] > 0
    for case, values, saturated in (("exact", photos, np.zeros(photos.shape, bool)),
                                    ("clipped", np.minimum(photos, clip), photos >= clip),
                                    ("highlight", shiny, np.zeros(photos.shape, bool))):
        reference = photometric_stereo(values, saturated, directions)
        face = reference.face
        assert not face[~disc].any() and face.sum() > 0.8 * disc.sum(), case
        # float32 normals: arccos resolves about 0.03 degrees near 0 (0.028 measured)
        assert angular_error(reference.normals, stack.normals, face).max() < 0.05, case
        assert np.abs(reference.albedo[face] - stack.albedo[face, 0]).max() < 1e-4, case
    assert not face[glint]


def test_reading_a_folder_subtracts_the_ambient_and_finds_the_strobes(yale_like):
    subject = read_subject(yale_like / "yaleSYN")
    assert subject.name == "yaleSYN" and len(subject.tags) == len(STROBES) and "A-035E+20" in subject.tags
    frontal = subject.photo("A+000E+00")
    assert frontal.shape == (SIZE, WIDTH)
    # two 8-bit roundings, the photo's and the ambient's
    assert np.abs(frontal - render(sphere(), readme_direction(0, 0))).max() <= 1 / 255 + 1e-6
    for tag, direction in zip(subject.tags, subject.directions):
        a, e = int(tag[1:5]), int(tag[6:])
        assert np.allclose(direction, readme_direction(a, e))


def test_exact_passes_relight_the_synthetic_folder_like_photometric_stereo(yale_like, monkeypatch):
    """With the exact passes the engine's relight matches the photos as well as photometric stereo's does
    (both are Lambertian up to 8-bit rounding), far above the unrelit photo, in both framings. With the
    azimuth's sign flipped (a plausible misreading of the README) the same passes come within a few dB of
    the unrelit photo: that margin is the check of the direction convention."""
    seen = []

    def spy(image) -> PassStack:
        seen.append(image)
        return exact_passes(image)

    results = evaluate_real_light(yale_like, spy)
    # the network is shown the frontal photo as linear grey (no sRGB decoding), alone, then centred in black
    frontal = read_subject(yale_like / "yaleSYN").photo("A+000E+00")
    for image, pad in zip(seen, (1, 3), strict=True):
        rgb = image.to("lin_rec709_srgb").pixels
        top, left = (pad - 1) // 2 * SIZE, (pad - 1) // 2 * WIDTH
        assert rgb.shape == (pad * SIZE, pad * WIDTH, 3)
        assert np.allclose(rgb[top:top + SIZE, left:left + WIDTH], frontal[..., None], atol=1e-5)
        rgb[top:top + SIZE, left:left + WIDTH] = 0
        assert np.abs(rgb).max() < 1e-6
    for framing in ("close-up", "dark surround"):
        prefix = f"real light, {framing}: "
        relight = results[prefix + "relight"]
        exact, unrelit = relight["relit passes"]["PSNR"], relight["baseline: unrelit photo"]["PSNR"]
        headroom = relight["photometric-stereo relight (headroom)"]["PSNR"]
        # measured: exact passes 54.6 dB, photometric stereo 55.5 dB (8-bit rounding, and its fit), unrelit 13.1
        assert exact > 50 and abs(exact - headroom) < 2 and exact > unrelit + 30, (framing, relight)
        normals = results[prefix + "normals (face)"]  # 0.08 and 42 degrees measured
        assert normals["relit passes"]["mean"] < 0.5 and normals["baseline: facing the camera"]["mean"] > 30
        albedo = results[prefix + "albedo (face)"]  # 1e-6 and 0.083 measured
        assert albedo["relit passes"]["siMSE"] < 1e-4 and albedo["baseline: the frontal photo"]["siMSE"] > 0.01
        assert results[prefix + "alpha (face)"]["relit passes"] == {"mean": 1.0, ">0.5 %": 100.0}
    region = results["real light: face region"]["photometric stereo"]
    frontal = readme_direction(0, 0)
    expected = [(a, e) for a, e in STROBES if abs(a) <= 70 and abs(e) <= 45
                and math.degrees(math.acos(min(1.0, readme_direction(a, e) @ frontal))) >= 15]
    assert region["targets"] == len(expected) == 34
    disc = math.pi * (SIZE / 2) ** 2
    assert 0.8 * disc < region["pixels"] < disc  # 1122 of 1257: the limb, lit by few strobes, is left out

    def flipped(azimuth: float, elevation: float) -> np.ndarray:
        return readme_direction(-azimuth, elevation)

    assert evaluate_real_light(yale_like / "yaleSYN", exact_passes) == results  # the person's folder itself
    monkeypatch.setattr(real_light, "strobe_direction", flipped)
    wrong = evaluate_real_light(yale_like, exact_passes)["real light, close-up: relight"]
    assert wrong["relit passes"]["PSNR"] < wrong["baseline: unrelit photo"]["PSNR"] + 10  # +2.5 dB measured


@pytest.mark.skipif(not YALE.is_dir(), reason=f"the Yale subject is not here ({YALE}): shared assets not checked out")
def test_the_real_subject_lands_where_the_readme_says():
    """yaleB01 with the shipped network: the baselines, which do not depend on it, where the README puts
    them (photometric-stereo relight about 25 dB, the unrelit photo about 14). Measured 24.45 and 14.81 dB,
    each held to +-0.6 dB of that: the plausible slips move them further (without the gain fit they fall
    1.1 and 1.6 dB; a peak of 1 instead of the photo's face maximum raises both 1.0 dB). The ambient photo
    is faint on this subject (0.005 on average): leaving it in moves them under 0.2 dB, so the synthetic
    folder's test, with a stronger ambient, is the one that checks its subtraction.
    The direction convention on the photos: the photometric-stereo normals point right (+X) on the image's
    right half of the face and left on its left half, and down (-Y) under the jaw; and the engine fed the
    photometric-stereo passes relights the photos at least as well as the Lambertian formula (24.84 dB
    measured against 24.45: its shadows and sheen help)."""
    results = evaluate_real_light(YALE)
    region = results["real light: face region"]["photometric stereo"]
    assert region["targets"] == 36 and 28000 < region["pixels"] < 30500  # 29347 of the crop's 32256
    for framing in ("close-up", "dark surround"):
        relight = results[f"real light, {framing}: relight"]
        assert 23.85 < relight["photometric-stereo relight (headroom)"]["PSNR"] < 25.05, relight
        assert 14.2 < relight["baseline: unrelit photo"]["PSNR"] < 15.4, relight
        # the shipped passes with the priors (issue 18): measured +4.43 / +4.09 dB over the unrelit photo (close-up
        # / dark surround), normals 15.34 / 15.14 degrees from photometric stereo, mean alpha 0.998 / 0.996 on the
        # face; the network alone measured -1.8 / -1.8 dB, 41 / 35 degrees, alpha 0.13 / 0.09. Margins: 0.3 dB and
        # 0.3 degrees for other CPUs' arithmetic, which moves a landmark by a fraction of a pixel
        gain = relight["relit passes"]["PSNR"] - relight["baseline: unrelit photo"]["PSNR"]
        assert gain > 3.8, (framing, gain)
        assert results[f"real light, {framing}: normals (face)"]["relit passes"]["mean"] < 15.65
        assert results[f"real light, {framing}: alpha (face)"]["relit passes"]["mean"] > 0.98
    subject = read_subject(YALE / "yaleB01")
    reference = photometric_stereo(subject.photos, subject.saturated, subject.directions)
    face, normals = reference.face, reference.normals
    h, w = face.shape
    rows, cols = np.mgrid[0:h, 0:w]
    assert normals[face & (cols >= w / 2), 0].mean() > 0.3  # 0.55 measured
    assert normals[face & (cols < w / 2), 0].mean() < -0.3  # -0.47
    assert normals[face & (rows >= h * 5 / 6), 1].mean() < -0.1  # -0.21; the forehead's top rows +0.29
    albedo = np.repeat(reference.albedo[..., None], 3, axis=2)

    def reference_passes(image) -> PassStack:
        top, left = (image.height - h) // 2, (image.width - w) // 2
        full = np.broadcast_to(np.float32([0, 0, 1]), (image.height, image.width, 3)).copy()
        colour = np.zeros((image.height, image.width, 3), np.float32)
        full[top:top + h, left:left + w], colour[top:top + h, left:left + w] = normals, albedo
        return PassStack(normals=full, albedo=colour)

    engine = evaluate_real_light(YALE, reference_passes)["real light, close-up: relight"]
    assert engine["relit passes"]["PSNR"] > engine["photometric-stereo relight (headroom)"]["PSNR"]


@pytest.mark.parametrize("args, message", [
    ([], "nothing to evaluate: give a `relit stage render` folder (DATA), --real-light DIR and/or --mattes"),
    (["--real-light", "empty"], "empty: no Yale face folder here"),
    (["--real-light", "missing"], "missing: no such folder"),
])
def test_eval_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    result = relit("eval", *args, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_eval_real_light_prints_and_records_the_tables(yale_like, tmp_path):
    """``relit eval --real-light`` alone (no stage folder): the tables printed, written as JSON and, with
    --record, stored under "real light" in the model's card (a copy of the shipped model here)."""
    for name in ("passes.onnx", "passes.json"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    result = relit("eval", "--real-light", yale_like, "--model", tmp_path / "passes.onnx", "--json",
                   tmp_path / "t.json", "--record")
    assert result.returncode == 0, result.stderr
    for table in ("real light: face region", "real light, close-up: relight", "real light, dark surround: relight"):
        assert table in result.stdout
    assert "photometric-stereo relight (headroom)" in result.stdout
    tables = json.loads((tmp_path / "t.json").read_text())
    card = json.loads((tmp_path / "passes.json").read_text())
    assert card["evaluation"]["real light"]["results"] == tables
    assert card["evaluation"]["real light"]["data"] == str(yale_like)
