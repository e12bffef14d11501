"""Guided upsampling keeps the plate's edges; the separable resize is plain bilinear."""
import numpy as np
import pytest

from relit.upsample import LOOKUPS_PER_BLOCK, Resized, bilinear, block_mean, box, guided_upsample, resize


def test_resize_is_bilinear_with_aligned_centres():
    img = np.random.default_rng(0).random((9, 13, 2)).astype(np.float32)
    out = resize(img, 20, 31)
    y = (np.arange(20) + 0.5) * (9 / 20) - 0.5
    x = (np.arange(31) + 0.5) * (13 / 31) - 0.5
    yy, xx = np.meshgrid(y, x, indexing="ij")
    assert np.allclose(out, bilinear(img, yy.ravel(), xx.ravel()).reshape(20, 31, 2), atol=1e-6)
    assert np.allclose(resize(np.ones((64, 64, 1), np.float32), 8, 8), 1)  # area-averaged shrink


def test_bilinear_in_blocks_is_the_formula_everywhere():
    """More look-ups than one block, in a 2D grid of coordinates: each is the weighted mean of its four
    neighbours, and the borders clamp."""
    rng = np.random.default_rng(3)
    img = rng.random((40, 50, 3)).astype(np.float32)
    row = rng.uniform(-2, 41, (LOOKUPS_PER_BLOCK // 300 + 7, 300)).astype(np.float32)
    col = rng.uniform(-2, 51, row.shape).astype(np.float32)
    out = bilinear(img, row, col)
    r, c = np.clip(row, 0, 39), np.clip(col, 0, 49)
    r0, c0 = np.minimum(np.floor(r), 38).astype(int), np.minimum(np.floor(c), 48).astype(int)
    fr, fc = (r - r0)[..., None], (c - c0)[..., None]
    expected = (img[r0, c0] * (1 - fr) * (1 - fc) + img[r0, c0 + 1] * (1 - fr) * fc
                + img[r0 + 1, c0] * fr * (1 - fc) + img[r0 + 1, c0 + 1] * fr * fc)
    assert out.shape == row.shape + (3,)
    assert np.abs(out - expected).max() < 1e-5  # float32 arithmetic in another order


def test_box_filter_is_a_window_mean():
    img = np.random.default_rng(1).random((7, 8, 1)).astype(np.float32)
    before = img.copy()
    assert np.isclose(box(img, 1)[3, 4, 0], img[2:5, 3:6, 0].mean(), atol=1e-6)
    assert np.array_equal(img, before)  # summed into a new array, not into the image
    assert np.isclose(box(img, 1)[0, 0, 0], img[:2, :2, 0].mean(), atol=1e-6)  # shrinks at the border
    big = np.random.default_rng(2).random((1080, 1920, 1)).astype(np.float32)  # far corner: sums of 2M pixels
    assert np.isclose(box(big, 2)[-3, -3, 0], big[-5:, -5:, 0].mean(), atol=1e-6)


def test_block_mean_averages_each_block_and_drops_the_remainder():
    img = np.random.default_rng(3).random((11, 17, 2)).astype(np.float32)
    out = block_mean(img, 5)  # 10 x 15 of the 11 x 17 are whole blocks
    assert out.shape == (2, 3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 2], img[5:10, 10:15].mean(axis=(0, 1)), atol=1e-6)
    mask = np.zeros((4, 4), bool)
    mask[0, :3] = True
    np.testing.assert_array_equal(block_mean(mask, 2)[..., 0], [[0.5, 0.25], [0.0, 0.0]])  # masks: coverage


def test_a_low_resolution_matte_takes_the_plate_s_edge():
    """A silhouette edge between two pixels of the network's grid lands where the plate has it."""
    size, factor = 128, 8
    x = np.arange(size)
    guide = np.where(x[None, :] < 61, 0.2, 1.0).astype(np.float32).repeat(size, 0)  # edge at column 61
    truth = (guide > 0.5).astype(np.float32)
    guide_low = resize(guide[..., None], size // factor, size // factor)[..., 0]
    low = resize(truth[..., None], size // factor, size // factor)
    guided = guided_upsample(low, guide_low, guide)[..., 0]
    plain = resize(low, size, size)[..., 0]
    assert np.abs(guided - truth).mean() < 0.1 * np.abs(plain - truth).mean()  # measured 0.058x
    flat = guided_upsample(np.full((16, 16, 3), 0.3, np.float32), guide_low, guide)
    assert np.allclose(flat, 0.3, atol=1e-4)  # a constant pass stays constant


@pytest.mark.parametrize("size", [(101, 133), (13, 17)])  # upsampling in blocks of rows; shrinking
def test_a_pass_linear_in_the_guide_follows_the_full_resolution_guide(size):
    """The local linear model recovers pass = 2 * luminance + 1 and applies it at the plate's resolution,
    every row block and channel alike (eps shrinks the slope by a few per cent)."""
    y, x = np.mgrid[0:size[0], 0:size[1]] / np.float32(max(size) / 34)  # coordinates at the network's scale
    guide = (0.5 + 0.5 * np.sin(x / 3) * np.cos(y / 4)).astype(np.float32)
    guide_low = resize(guide[..., None], 26, 34)[..., 0]
    low = np.stack([2 * guide_low + 1, 1 - guide_low], -1)
    out = guided_upsample(low, guide_low, guide)
    assert out.shape == size + (2,)
    # measured 0.0058 (101 x 133) and 0.0071 (13 x 17); a plain bilinear resize of the pass reads 0.029, 0.027
    assert np.abs(out - np.stack([2 * guide + 1, 1 - guide], -1)).mean() < 0.012


def test_a_window_of_a_resize_is_that_window_of_the_whole():
    """``Resized`` makes any window (steps too) of a resize without the whole: the same values as cutting the
    whole resize, up and down (where it area-averages first)."""
    rng = np.random.default_rng(5)
    small = rng.random((40, 30, 2), dtype=np.float32)
    for height, width in ((173, 251), (13, 9)):
        whole = resize(small, height, width)
        lazy = Resized(small, height, width)
        assert lazy.shape == whole.shape and np.array_equal(np.asarray(lazy), whole)
        for window in ((slice(3, 11), slice(None)), (slice(None, None, 4), slice(1, None, 3)), (slice(5, 6),)):
            assert np.array_equal(lazy[window], whole[window]), window


def test_fill_near_carries_values_ring_by_ring_and_stops():
    """One defined pixel's value spreads as a diamond, ``steps`` 4-neighbour rings wide, the rest stays 0; a
    pixel between two defined ones takes their mean; a view that is not contiguous is refused (its reshape
    would be filled in vain)."""
    from relit.upsample import fill_near
    values = np.zeros((9, 9, 2), np.float32)
    defined = np.zeros((9, 9), bool)
    values[4, 4], defined[4, 4] = (5, 1), True
    fill_near(values, defined, 2)
    rows, cols = np.mgrid[0:9, 0:9]
    ring = np.abs(rows - 4) + np.abs(cols - 4)
    assert np.all(values[ring <= 2] == (5, 1)) and not values[ring > 2].any()
    gap = np.zeros((1, 3, 1), np.float32)
    gap[0, 0], gap[0, 2] = 2, 4
    fill_near(gap, np.array([[True, False, True]]), 1)
    assert gap[0, 1, 0] == 3
    with pytest.raises(ValueError):
        fill_near(np.zeros((4, 4, 3), np.float32)[..., :2], np.ones((4, 4), bool), 1)
