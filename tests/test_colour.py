import numpy as np
import pytest

from relit.colour import Image, convert_in_place, resolve_config, shipped_config_path, srgb_space, working_space
from relit.errors import RelitError
from relit.io import read_image, write_image


def test_shipped_config_is_the_default_and_acescg_is_working(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    cfg = resolve_config()
    assert shipped_config_path().is_file()
    assert working_space(cfg) == "ACEScg"
    assert srgb_space(cfg) == "sRGB Encoded Rec.709 (sRGB)"


def test_ocio_env_var_is_honoured(monkeypatch, tmp_path):
    import PyOpenColorIO as ocio
    path = tmp_path / "studio.ocio"
    path.write_text(ocio.Config.CreateFromFile("ocio://studio-config-v2.2.0_aces-v1.3_ocio-v2.4").serialize())
    monkeypatch.setenv("OCIO", str(path))
    assert "Studio" in resolve_config().getName() or "studio" in resolve_config().getName()


def test_bad_config_names_the_file(tmp_path):
    bad = tmp_path / "bad.ocio"
    bad.write_text("not a config")
    with pytest.raises(RelitError, match="bad.ocio: not a usable OCIO config"):
        resolve_config(bad)


def test_srgb_png_to_acescg_and_back_to_the_same_codes(tmp_path, config):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (32, 48, 3)).astype(np.uint8)
    src = tmp_path / "in.png"
    write_image(src, Image(codes / 255.0, srgb_space(config), config))
    linear = read_image(src).to_working()
    assert linear.colourspace == "ACEScg"
    out = tmp_path / "out.png"
    write_image(out, linear)  # scene-linear -> sRGB for an 8-bit file
    back = read_image(out)
    # every code comes back (measured 1.5e-5 of a code off; the old bound of 1.0 let every code be one off)
    assert np.abs(back.pixels * 255 - codes).max() < 0.01


def test_conversion_matches_ocio_reference_value(config):
    # sRGB-encoded mid grey 0.5 is 0.214 linear; grey has the same value in ACEScg (same white).
    img = Image(np.full((1, 1, 3), 0.5, np.float32), "srgb_tx", config).to_working()
    assert np.allclose(img.pixels, 0.21404, atol=1e-4)


def test_alpha_passes_through_conversion(config):
    px = np.float32([[[0.5, 0.2, 0.1, 0.3]]])
    out = Image(px, "srgb_tx", config).to("ACEScg")
    assert out.pixels[0, 0, 3] == pytest.approx(0.3)


def test_unknown_colourspace_is_a_clear_error(config):
    with pytest.raises(RelitError, match="unknown colourspace 'not-a-space'"):
        Image(np.zeros((2, 2, 3)), "not-a-space", config)




def test_a_view_into_a_larger_array_converts_in_place_as_an_image_does(config):
    """The passes network's albedo is three channels of an (H, W, 8) array: it is converted there, a strip of
    rows at a time, and every other channel is left as it was."""
    rng = np.random.default_rng(3)
    passes = rng.random((70, 9, 8), dtype=np.float32)  # more rows than one strip, not a multiple of it
    before = passes.copy()
    convert_in_place(passes[..., 4:7], "Linear Rec.709 (sRGB)", "ACEScg", config, rows=16)
    expected = Image(before[..., 4:7], "Linear Rec.709 (sRGB)", config).to("ACEScg").pixels
    assert np.allclose(passes[..., 4:7], expected, atol=1e-6) and np.abs(expected - before[..., 4:7]).max() > 0.01
    assert np.array_equal(np.delete(passes, [4, 5, 6], axis=2), np.delete(before, [4, 5, 6], axis=2))
