import os
import subprocess
import sys

import numpy as np
import OpenImageIO as oiio
import pytest

from relit.colour import Image
from relit.errors import RelitError
from relit.io import (
    PRECISIONS,
    STRIP,
    Sequence,
    atomic_path,
    describe,
    read_data,
    read_image,
    read_metadata,
    read_passes,
    remove_stale_temp,
    write_image,
    write_passes,
)
from relit.passes import PASSES, PassStack


def _stack(h=6, w=5, seed=0):
    rng = np.random.default_rng(seed)
    n = rng.normal(size=(h, w, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return PassStack(alpha=rng.random((h, w, 1)), normals=n, depth=rng.random((h, w, 1)) + 1,
                     albedo=rng.random((h, w, 3)), diffuse=rng.random((h, w, 3)) * 4, relit=rng.random((h, w, 3)),
                     metadata={"note": "test"})


def test_exr_layers_round_trip_bit_exact(tmp_path):
    stack = _stack(h=2 * STRIP + 7)  # written in strips: two whole ones and a short last one
    path = tmp_path / "passes.exr"
    write_passes(path, stack, "float")
    back = read_passes(path)
    for name, arr in stack.items():
        assert np.array_equal(getattr(back, name), arr), name
    assert back.metadata["note"] == "test" and back.colourspace == "ACEScg"
    assert read_metadata(path) == {**back.metadata, "colourspace": "ACEScg"}  # header only, same values
    again = tmp_path / "again.exr"  # a stack as read is views of the file's channel-planar buffer
    write_passes(again, back, "float")
    for name, arr in stack.items():
        assert np.array_equal(getattr(read_passes(again), name), arr), name


def test_exr_channel_names_follow_the_pass_table(tmp_path):
    path = tmp_path / "passes.exr"
    write_passes(path, _stack(), "half", compression="piz")
    spec = oiio.ImageInput.open(str(path)).spec()
    names = set(spec.channelnames)
    assert {"A", "normals.X", "normals.Y", "normals.Z", "depth.Z", "albedo.R", "albedo.G", "albedo.B",
            "relit.R", "R", "G", "B"} <= names
    assert spec.format == oiio.TypeDesc("half")
    # RGBA as OpenEXR defines it: the relit person premultiplied by A (read as premultiplied, a straight
    # RGB would wash the plate's background over a new one where A < 1)
    stack = _stack()
    pixels = oiio.ImageBuf(str(path)).get_pixels(oiio.FLOAT)
    rgba = pixels[..., [spec.channelnames.index(c) for c in ("R", "G", "B", "A")]]
    np.testing.assert_allclose(rgba[..., :3], stack.relit * stack.alpha, atol=2e-3)
    np.testing.assert_allclose(rgba[..., 3:], stack.alpha, atol=1e-3)
    passes_only = tmp_path / "passes_only.exr"  # a `relit passes` output: the albedo, premultiplied
    write_passes(passes_only, stack.replace(relit=None, composite=None))
    only = oiio.ImageInput.open(str(passes_only)).spec()
    assert {"R", "G", "B", "A"} <= set(only.channelnames)
    pixels = oiio.ImageBuf(str(passes_only)).get_pixels(oiio.FLOAT)
    np.testing.assert_allclose(pixels[..., [only.channelnames.index(c) for c in "RGB"]], stack.albedo * stack.alpha,
                               atol=1e-3)  # half floats
    assert spec.getattribute("compression") == "piz"
    assert spec.channelnames[spec.alpha_channel] == "A"


def test_sequence_of_three_frames_with_hashes_and_printf(tmp_path):
    for pattern in ("shot.####.exr", "shot.%04d.exr"):
        seq = Sequence(tmp_path / pattern, "1001-1003")
        for frame, path in seq:
            write_passes(path, _stack(seed=frame), "float")
        found = Sequence(tmp_path / pattern)  # no range: found on disk
        assert found.frames == [1001, 1002, 1003]
        for frame, path in found:
            assert path.name == f"shot.{frame:04d}.exr"
            assert np.array_equal(read_passes(path).albedo, _stack(seed=frame).albedo)


def test_a_literal_frame_number_is_a_still():
    still = Sequence("plates/shot.1001.exr")
    assert not still.is_sequence and still.frames == [None] and str(still.path(None)) == "plates/shot.1001.exr"
    assert all(Sequence(p, "1-2").is_sequence for p in ("s.####.exr", "s.%04d.exr", "s.$F4.exr", "s.@@@@.exr"))


def test_info_lists_layers(tmp_path):
    path = tmp_path / "p.exr"
    write_passes(path, _stack())
    d = describe(path)
    assert d["layers"]["normals"] == ["X", "Y", "Z"] and d["layers"]["albedo"] == ["R", "G", "B"]


def test_colourspace_inference_and_override(tmp_path, config):
    png, exr = tmp_path / "a.png", tmp_path / "a.exr"
    write_image(png, Image(np.full((4, 4, 3), 0.5), "srgb_tx", config))
    write_image(exr, Image(np.full((4, 4, 3), 0.5), "lin_rec709_srgb", config))
    assert read_image(png).colourspace == "sRGB Encoded Rec.709 (sRGB)"
    assert read_image(exr).colourspace == "Linear Rec.709 (sRGB)"  # from relit's metadata
    assert read_image(png, colourspace="ACEScg").colourspace == "ACEScg"


def test_grey_is_expanded_and_matte_is_read_as_data(tmp_path):
    path = tmp_path / "matte.exr"
    spec = oiio.ImageSpec(4, 3, 1, "float")
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(np.full((3, 4, 1), 0.25, np.float32))
    out.close()
    assert read_image(path).channels == 3
    assert read_data(path, 1).shape == (3, 4, 1)
    with pytest.raises(RelitError, match="has 1 channel\\(s\\); expected 3"):
        read_data(path, 3)


# ---- bad input: one-line errors naming the file and what was expected ----

def _raw(path, pixels, names):
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], "float")
    spec.channelnames = names
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(np.ascontiguousarray(pixels, np.float32))
    out.close()


def test_missing_file(tmp_path):
    with pytest.raises(RelitError, match=r"nope\.exr: no such file"):
        read_image(tmp_path / "nope.exr")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.exr"
    bad.write_bytes(b"\x76\x2f\x31\x01garbage" * 10)
    with pytest.raises(RelitError, match=r"bad\.exr: unreadable or corrupt image"):
        read_image(bad)


def test_unsupported_format(tmp_path):
    with pytest.raises(RelitError, match=r"x\.gif: cannot read \.gif; expected one of"):
        read_image(tmp_path / "x.gif")


def test_wrong_channel_count(tmp_path):
    path = tmp_path / "two.exr"
    _raw(path, np.zeros((2, 2, 2)), ("Y", "Z"))
    with pytest.raises(RelitError, match=r"two\.exr: has 2 channels .*expected grey, RGB or RGBA"):
        read_image(path)


def test_nan_and_inf_pixels(tmp_path):
    px = np.ones((3, 3, 3), np.float32)
    px[0, 0, 0], px[1, 1, 1] = np.nan, np.inf
    path = tmp_path / "nan.exr"
    _raw(path, px, ("R", "G", "B"))
    with pytest.raises(RelitError, match=r"nan\.exr: 2 NaN/Inf value\(s\)"):
        read_image(path)


def test_unknown_colourspace_names_the_file(tmp_path, config):
    path = tmp_path / "a.png"
    write_image(path, Image(np.zeros((2, 2, 3)), "srgb_tx", config))
    with pytest.raises(RelitError, match=r"a\.png: unknown colourspace 'bogus'"):
        read_image(path, colourspace="bogus")


def test_mismatched_pass_resolutions():
    with pytest.raises(RelitError, match="mismatched resolutions"):
        PassStack(alpha=np.ones((4, 4, 1)), albedo=np.ones((4, 5, 3)))


def test_wrong_pass_channel_count():
    with pytest.raises(RelitError, match="pass 'normals' needs 3 channel"):
        PassStack(normals=np.ones((4, 4, 2)))


def test_incomplete_and_missing_layers(tmp_path):
    part = tmp_path / "part.exr"
    _raw(part, np.zeros((2, 2, 2)), ("normals.X", "normals.Y"))
    with pytest.raises(RelitError, match=r"part\.exr: layer 'normals' is incomplete: missing normals.Z"):
        read_passes(part)
    plain = tmp_path / "plain.exr"
    _raw(plain, np.zeros((2, 2, 3)), ("R", "G", "B"))
    with pytest.raises(RelitError, match=r"plain\.exr: no relit pass layers"):
        read_passes(plain)


def test_non_unit_normals_in_a_file(tmp_path):
    path = tmp_path / "n.exr"
    _raw(path, np.full((2, 2, 3), 0.2), ("normals.X", "normals.Y", "normals.Z"))
    with pytest.raises(RelitError, match=r"n\.exr: normals are not unit length"):
        read_passes(path)


def test_unwritable_output_leaves_nothing(tmp_path):
    with pytest.raises(RelitError, match="folder .* does not exist"):
        write_passes(tmp_path / "missing" / "out.exr", _stack())
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions; the missing-folder case above still ran
            pytest.skip("running as root: directory permissions are not enforced")
        with pytest.raises(RelitError, match="cannot write"):
            write_passes(locked / "out.exr", _stack())
    finally:
        os.chmod(locked, 0o700)
    assert list(locked.iterdir()) == []


def test_failed_write_removes_its_temp_file(tmp_path):
    with pytest.raises(RelitError, match="unknown EXR compression"):
        write_passes(tmp_path / "out.exr", _stack(), compression="lzma")
    assert list(tmp_path.iterdir()) == []


def test_pass_table_is_consistent():
    names = [p.name for p in PASSES]
    assert len(set(names)) == len(names)
    assert all(p.channels == len(p.exr_channels) for p in PASSES)
    assert {p.name for p in PASSES if p.colour} == {"albedo", "diffuse", "specular", "relit", "composite"}


@pytest.mark.parametrize("name, expected", [
    ("plate.tif", "sRGB Encoded Rec.709 (sRGB)"),  # 16-bit integer: an encoded space
    ("plate.dpx", "sRGB Encoded Rec.709 (sRGB)"),
    ("plate.jpg", "sRGB Encoded Rec.709 (sRGB)"),
    ("plate.hdr", "Linear Rec.709 (sRGB)"),  # Radiance: linear Rec.709 primaries
])
def test_every_read_format_round_trips_with_its_colourspace(tmp_path, config, name, expected):
    ramp = np.linspace(0.05, 0.95, (STRIP + 4) * 6 * 3).reshape(STRIP + 4, 6, 3)  # a whole strip and a short one
    image = Image(ramp, expected, config)
    path = tmp_path / name
    write_image(path, image)
    back = read_image(path)
    assert back.colourspace == expected
    # measured: 7.5e-6 for the 16-bit TIFF and DPX (8 bits would read 2e-3), 0.0052 for lossy JPEG, 0.0039 for
    # RGBE's 8-bit mantissa (at most 1/256 of the largest channel)
    tolerance = {"plate.jpg": 0.015, "plate.hdr": 0.006}.get(name, 1e-4)
    assert np.abs(back.pixels[..., :3] - ramp).max() <= tolerance


def test_outputs_get_ordinary_permissions(tmp_path):
    path = tmp_path / "p.exr"
    write_passes(path, _stack())
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's private 0600


def test_a_stills_stale_temp_files_are_its_own(tmp_path):
    """Clearing relit.exr's temp files leaves relit.0001.exr's (a live writer's) alone, and atomic_path's
    own temp files are what it clears."""
    other = tmp_path / ".relit.0001.0a1b2c3d.tmp.exr"  # relit.0001.exr being written by another process
    other.write_bytes(b"live")
    with atomic_path(tmp_path / "relit.exr") as tmp:
        tmp.write_bytes(b"mine")
        assert tmp.name.startswith(".relit.") and tmp.name.endswith(".tmp.exr")
    killed = tmp_path / f".relit.{'f' * 8}.tmp.exr"  # what a killed run of relit.exr leaves
    killed.write_bytes(b"killed")
    remove_stale_temp(tmp_path / "relit.exr")
    assert other.exists() and not killed.exists() and not tmp.exists()
    assert (tmp_path / "relit.exr").read_bytes() == b"mine"


def test_importing_relit_leaves_the_umask_alone(tmp_path):
    """Houdini imports relit in its own process while other threads create files: setting the umask to 0,
    even for an instant, would give their files open permissions. The import makes no umask call."""
    code = ("import os\nold = os.umask\ncalls = []\nos.umask = lambda m: calls.append(m) or old(m)\n"
            "import relit.io, relit.cli\nprint(calls)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_colour_passes_are_half_floats_and_data_passes_full_floats_by_default(tmp_path):
    """As compositing tools write colour: a relit 1080p frame in full float was 163 MB. Data passes keep full
    floats (normals and depth lose precision in half); --half and --float write every channel one way."""
    stack = _stack()
    sizes = {}
    for precision in PRECISIONS:
        path = tmp_path / f"{precision}.exr"
        write_passes(path, stack, precision)
        spec = oiio.ImageInput.open(str(path)).spec()
        formats = dict(zip(spec.channelnames, [str(f) for f in spec.channelformats] or
                           [str(spec.format)] * spec.nchannels))
        sizes[precision] = formats
        back = read_passes(path)
        assert np.allclose(back.normals, stack.normals, atol=1e-3)
    mixed = sizes["mixed"]
    assert {mixed[c] for c in ("R", "G", "B", "albedo.R", "diffuse.B", "relit.G")} == {"half"}
    assert {mixed[c] for c in ("A", "normals.X", "normals.Z", "depth.Z")} == {"float"}
    assert set(sizes["half"].values()) == {"half"} and set(sizes["float"].values()) == {"float"}
    assert np.array_equal(read_passes(tmp_path / "mixed.exr").normals, stack.normals)  # exact
    with pytest.raises(RelitError, match="unknown precision 'double'"):
        write_passes(tmp_path / "x.exr", stack, "double")


def _aov(size: int = 16):
    """A renderer's AOVs of a disc: filtered edges (partial alpha, normals shortened by the filter) and, on
    the outermost edge pixels, zero normals (rendered with fewer samples than the beauty)."""
    y, x = (np.mgrid[0:size, 0:size] + 0.5) / size * 2 - 1
    r = np.hypot(x, y)
    alpha = np.select([r < 0.7, r < 0.85, r < 1.0], [1.0, 0.5, 0.02], 0.0).astype(np.float32)  # a soft edge
    n = np.stack([x, -y, np.sqrt(np.clip(1 - r ** 2, 0, 1)) + 0.2], -1)
    n = (n / np.linalg.norm(n, axis=-1, keepdims=True)).astype(np.float32)
    n *= np.where(alpha < 1, 0.5 + 0.5 * alpha, 1)[..., None]  # filtered: shorter at the edge
    edge = (alpha > 0) & (alpha < 0.05)
    n[edge] = 0
    return alpha, n, edge


def test_renderer_normals_at_edges_are_conformed(tmp_path):
    alpha, n, edge = _aov()
    assert edge.any() and ((alpha > 0) & (alpha < 1) & ~edge).any()
    path = tmp_path / "aov.exr"
    _raw(path, np.concatenate([alpha[..., None], n], -1), ("A", "normals.X", "normals.Y", "normals.Z"))
    stack = read_passes(path)
    under = alpha > 0
    np.testing.assert_allclose(np.linalg.norm(stack.normals[under], axis=-1), 1, atol=1e-5)
    shortened = under & ~edge
    np.testing.assert_allclose(stack.normals[shortened], n[shortened] / np.linalg.norm(n[shortened], axis=-1,
                                                                                        keepdims=True), atol=1e-6)
    assert (stack.normals[edge] @ np.float32([0, 0, 1]) > 0).all()  # filled from the disc, facing out of it


def test_renderer_normals_that_are_garbage_are_refused(tmp_path):
    alpha, n, _ = _aov()
    solid_zero = n.copy()
    solid_zero[8, 8] = 0  # in the middle of the disc
    nan = n.copy()
    nan[8, 8, 0] = np.nan
    wrong_layer = n * 0.5  # shorter everywhere, whole pixels too: not normals
    for pixels, message in ((solid_zero, r"1 zero normals where alpha >= 0.05"),
                            (nan, r"1 NaN/Inf value\(s\) in the pixels"),
                            (wrong_layer, "normals are not unit length")):
        path = tmp_path / "bad.exr"
        _raw(path, np.concatenate([alpha[..., None], pixels], -1), ("A", "normals.X", "normals.Y", "normals.Z"))
        with pytest.raises(RelitError, match=rf"bad\.exr: {message}"):
            read_passes(path)


def test_ci_fails_on_a_skip_it_does_not_expect():
    from tests.conftest import unexpected_skips
    assert unexpected_skips(["running as root: directory permissions are not enforced"]) == []
    assert unexpected_skips(["Debian's blender is not installed", "running as root: x"]) == [
        "Debian's blender is not installed"]


def test_reading_a_pass_stack_decodes_only_its_passes_channels(tmp_path, monkeypatch):
    """A relit stack's R/G/B (first in the file) are not decoded to read its passes back: the channels read
    run from the first pass channel to the last, and the passes come back in place."""
    import OpenImageIO as oiio
    stack = PassStack(alpha=np.full((4, 5, 1), 0.5, np.float32), albedo=np.full((4, 5, 3), 0.25, np.float32),
                      normals=np.broadcast_to(np.float32([0, 0, 1]), (4, 5, 3)).copy())
    write_passes(tmp_path / "s.exr", stack)
    ranges = []
    read_image = oiio.ImageInput.read_image

    class Spy:
        def __init__(self, inp):
            self.inp = inp

        def __getattr__(self, name):
            return getattr(self.inp, name)

        def read_image(self, *args):
            ranges.append(args[2:4])  # (subimage, miplevel, chbegin, chend, format)
            return read_image(self.inp, *args)

    open_ = oiio.ImageInput.open
    monkeypatch.setattr(oiio.ImageInput, "open", staticmethod(lambda path: Spy(open_(path))))
    back = read_passes(tmp_path / "s.exr")
    names = list(oiio.ImageInput.open(str(tmp_path / "s.exr")).spec().channelnames)
    assert names[:3] == ["R", "G", "B"] and ranges[0] == (3, len(names))
    assert np.array_equal(back.albedo, stack.albedo) and np.array_equal(back.normals, stack.normals)
