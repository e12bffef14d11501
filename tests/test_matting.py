"""Matte refinement (closed-form matting on a trimap from the network's alpha) on real OCIO images."""
import subprocess
import sys

import numpy as np
from scipy.ndimage import gaussian_filter

from relit import data
from relit.colour import Image
from relit.io import read_image, read_passes, write_image
from relit.matting import CERTAIN, refine_alpha, trimap
from relit.metrics import matte_errors


def _plate(size: int = 96) -> tuple[Image, np.ndarray]:
    """A textured red subject over a textured blue-green background, with a soft edge of known alpha."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot(x - size / 2, y - size / 2)
    alpha = np.clip((size * 0.3 - r) / 3 + 0.5, 0, 1)[..., None]
    rng = np.random.default_rng(0)
    fg = np.float32([0.7, 0.2, 0.1]) * (1 + 0.1 * rng.standard_normal((size, size, 1)))
    bg = np.float32([0.05, 0.3, 0.4]) * (1 + 0.1 * rng.standard_normal((size, size, 1)))
    return Image((alpha * fg + (1 - alpha) * bg).astype(np.float32), "ACEScg"), alpha.astype(np.float32)


def test_trimap_keeps_the_certain_parts_and_a_band():
    alpha = np.zeros((20, 20), np.float32)
    alpha[5:15, 5:15] = 1
    alpha[4, 5:15] = 0.5
    tri = trimap(alpha)
    assert set(np.unique(tri)) == {0.0, 0.5, 1.0}
    assert tri[10, 10] == 1 and tri[0, 0] == 0 and tri[4, 10] == 0.5
    assert tri[5, 10] == 0.5  # the certain regions give a pixel to the band
    assert (tri[alpha < CERTAIN] <= 0.5).all() and (tri[alpha > 1 - CERTAIN] >= 0.5).all()


def test_refinement_recovers_a_soft_edge_from_a_rough_matte():
    plate, truth = _plate()
    rough = np.clip(gaussian_filter(truth[..., 0], 4) * 1.2 - 0.1, 0, 1)[..., None]  # blurred and grown
    refined = refine_alpha(plate, rough)
    assert refined.shape == truth.shape and refined.dtype == np.float32
    before, after = matte_errors(rough, truth), matte_errors(refined, truth)
    # measured: SAD 0.29x and gradient error 0.14x the rough matte's
    assert after["SAD"] < 0.35 * before["SAD"] and after["Grad"] < 0.2 * before["Grad"]


def test_refinement_above_its_resolution_is_upsampled_and_nothing_to_solve_is_kept(monkeypatch):
    import relit.matting
    plate, truth = _plate(128)
    monkeypatch.setattr(relit.matting, "REFINE_RESOLUTION", 64)  # solve at half size
    rough = np.clip(gaussian_filter(truth[..., 0], 4) * 1.2 - 0.1, 0, 1)[..., None]
    refined = refine_alpha(plate, rough)
    assert refined.shape == truth.shape
    before, after = matte_errors(rough, truth), matte_errors(refined, truth)
    # solved at half size, the edge is upsampled: measured SAD 0.90x and gradient error 0.50x the rough matte's
    assert after["SAD"] < 0.95 * before["SAD"] and after["Grad"] < 0.6 * before["Grad"]
    solid = np.ones_like(truth)
    assert refine_alpha(plate, solid) is solid  # no background known: nothing to solve from


def test_passes_cli_refines_the_matte(tmp_path):
    photo = read_image(data.portrait())
    write_image(tmp_path / "plate.png", Image(photo.pixels[::4, ::4], photo.colourspace))
    for name, extra in (("plain", []), ("refined", ["--refine-matte"])):
        result = subprocess.run([sys.executable, "-m", "relit.cli", "passes", str(tmp_path / "plate.png"),
                                 "-o", str(tmp_path / f"{name}.exr"), *extra], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    plain, refined = read_passes(tmp_path / "plain.exr"), read_passes(tmp_path / "refined.exr")
    assert "alpha_refinement" in refined.metadata and "alpha_refinement" not in plain.metadata
    assert np.allclose(refined.normals, plain.normals)
    # the matte is solved in the trimap's band (measured: mean change 0.17) and kept where the network was
    # certain (measured: within 0.0036, the network's own distance from 0 or 1 there)
    band = trimap(plain.alpha[..., 0]) == 0.5
    change = np.abs(refined.alpha - plain.alpha)[..., 0]
    assert change[band].mean() > 0.1 and change[~band].max() <= CERTAIN
