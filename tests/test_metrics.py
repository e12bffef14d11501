"""Metrics against values worked out by hand."""
import math

import numpy as np

from relit.metrics import FAR, angular_error, gross_matte_error, matte_errors, psnr, scale_invariant_mse, ssim


def test_psnr_and_ssim():
    ref = np.full((16, 16, 3), 0.5, np.float32)
    ref[::2] = 1.0
    mask = np.ones((16, 16), bool)
    assert math.isinf(psnr(ref, ref, mask))
    assert np.isclose(psnr(ref + 0.1, ref, mask), 20.0)  # peak 1, rms error 0.1
    assert np.isclose(ssim(ref, ref, mask), 1.0)
    assert ssim(ref * 0.5, ref, mask) < 0.9


def test_angular_error_and_scale_invariance():
    up = np.broadcast_to(np.float32([0, 1, 0]), (2, 2, 3))
    tilted = np.broadcast_to(np.float32([0, math.cos(0.5), math.sin(0.5)]), (2, 2, 3))
    assert np.allclose(angular_error(tilted, up, np.ones((2, 2), bool)), math.degrees(0.5), atol=1e-3)
    albedo = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    mask = np.ones((8, 8), bool)
    assert scale_invariant_mse(albedo * np.float32([2, 0.5, 3]), albedo, mask) < 1e-10
    assert scale_invariant_mse(albedo[::-1], albedo, mask) > 1e-3


def test_matte_errors():
    truth = np.zeros((10, 10, 1), np.float32)
    truth[:, 5:] = 1
    assert matte_errors(truth, truth) == {"SAD": 0.0, "MSE": 0.0, "Grad": 0.0}
    errors = matte_errors(np.zeros_like(truth), truth)
    assert np.isclose(errors["SAD"], 50 / 1000) and np.isclose(errors["MSE"], 0.5) and errors["Grad"] > 0


def test_gross_matte_error_counts_each_kind_apart():
    """A 60x60 square subject in a 100x100 frame: clean, then with a 4x4 hole, a 3x3 blob away from it, and
    a 2x5 patch of soft alpha in the far corner; each is counted in its own share of the subject's area."""
    alpha = np.zeros((100, 100, 1), np.float32)
    alpha[20:80, 20:80] = 1
    assert gross_matte_error(alpha) == {"holes": 0.0, "blobs": 0.0, "far soft": 0.0, "gross": 0.0}
    alpha[40:44, 40:44] = 0.2  # an enclosed hole (not connected to the frame's edge)
    alpha[2:5, 2:5] = 0.7  # a detached blob, soft but >= 0.5, so a blob rather than soft alpha
    alpha[95:97, 90:95] = 0.3  # soft alpha 15 pixels from the subject, beyond FAR of the diagonal
    alpha[81, 30:40] = 0.3  # soft alpha beside the outline: an edge, not an error
    area = 60 * 60 - 16 + 9
    errors = gross_matte_error(alpha)
    assert FAR * np.hypot(100, 100) < 15
    assert np.isclose(errors["holes"], 16 / area) and np.isclose(errors["blobs"], 9 / area)
    assert np.isclose(errors["far soft"], 10 / area) and np.isclose(errors["gross"], 35 / area)
    alpha[40:44, 0:45] = 0  # opened to the left edge of the frame, the hole is background
    assert gross_matte_error(alpha)["holes"] == 0
