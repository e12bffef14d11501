"""The command line as users run it: a real subprocess, real files, one-line errors, non-zero exits."""
import json
import subprocess
import sys

import numpy as np
import OpenImageIO as oiio
import pytest

from relit.io import read_image, read_passes, write_passes
from relit.passes import PassStack
from tests.conftest import sphere_stack


def relit(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "relit.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_help_and_version():
    assert relit("--help").returncode == 0
    assert "relit" in relit("--version").stdout


def test_demo_writes_layers_and_a_contact_sheet(tmp_path):
    result = relit("demo", "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    spec = oiio.ImageInput.open(str(tmp_path / "demo.exr")).spec()
    layers = {c.split(".")[0] for c in spec.channelnames if "." in c}
    assert {"normals", "albedo", "diffuse", "specular", "relit", "composite"} <= layers
    assert "A" in spec.channelnames
    sheet = read_image(tmp_path / "demo_sheet.png")
    assert sheet.width > 1000 and sheet.pixels.std() > 0.05  # a real picture, not a blank


def test_info_prints_layers(tmp_path):
    path = tmp_path / "p.exr"
    write_passes(path, sphere_stack(16))
    out = relit("info", path).stdout
    assert "normals: X, Y, Z" in out and "colourspace ACEScg" in out


def test_convert_through_ocio(tmp_path):
    src = tmp_path / "a.exr"
    stack = sphere_stack(8).replace(relit=np.full((8, 8, 3), 0.18, np.float32))
    write_passes(src, stack)
    assert relit("convert", src, tmp_path / "b.exr", "--to", "lin_rec709_srgb").returncode == 0
    img = read_image(tmp_path / "b.exr")
    assert img.colourspace == "Linear Rec.709 (sRGB)"
    # grey stays grey across primaries (the file's RGB is the relit pass premultiplied by A)
    assert np.allclose(img.pixels[..., :3], 0.18 * stack.alpha, atol=1e-3)


def test_relight_a_pass_stack_with_lights_and_background(tmp_path):
    src = tmp_path / "passes.exr"
    write_passes(src, sphere_stack(32))
    lights = tmp_path / "lights.json"
    lights.write_text(json.dumps([{"type": "directional", "direction": [0, 0, 1], "irradiance": 3.14159}]))
    from relit.colour import Image
    from relit.io import write_image
    bg = tmp_path / "bg.png"
    write_image(bg, Image(np.full((32, 32, 3), 0.5), "srgb_tx"))
    out = tmp_path / "out.exr"
    result = relit("relight", src, "--light", lights, "--background", bg, "-o", out, "--float")
    assert result.returncode == 0, result.stderr
    stack = read_passes(out)
    inside = stack.alpha[..., 0] > 0
    assert np.allclose(stack.diffuse[inside, 0], stack.normals[inside, 2], atol=1e-4)
    assert stack.composite is not None and stack.metadata["depth_source"] == "depth pass"
    # a still asked for again with other settings is written again (a sequence's frames resume instead)
    lights.write_text(json.dumps([{"type": "directional", "direction": [1, 0, 0], "irradiance": 3.14159}]))
    result = relit("relight", src, "--light", lights, "--background", bg, "-o", out, "--float")
    assert result.returncode == 0 and "already written" not in result.stderr, result.stderr
    again = read_passes(out)
    assert np.allclose(again.diffuse[inside, 0], np.clip(again.normals[inside, 0], 0, None), atol=1e-4)
    result = relit("relight", src, "--light", lights, "-o", tmp_path)
    assert result.returncode == 1 and f"{tmp_path}: is a folder; expected the output file's path" in result.stderr


def test_relight_a_sequence(tmp_path):
    for f in (1, 2, 3):
        write_passes(tmp_path / f"in.{f:04d}.exr", sphere_stack(16))
    result = relit("relight", tmp_path / "in.####.exr", "--light", '{"type": "point", "position": [0, 0, 2]}',
                   "-o", tmp_path / "out.####.exr", "--frames", "1-3")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("out.*.exr")) == ["out.0001.exr", "out.0002.exr", "out.0003.exr"]


def test_envmap_from_a_background(tmp_path):
    from relit.colour import Image
    from relit.io import write_image
    bg = tmp_path / "plate.png"
    px = np.zeros((40, 60, 3))
    px[:20] = (0.3, 0.5, 0.9)  # sky
    px[20:] = (0.3, 0.25, 0.2)  # ground
    write_image(bg, Image(px, "srgb_tx"))
    assert relit("envmap", bg, "-o", tmp_path / "env.exr", "--size", "32").returncode == 0
    env = read_image(tmp_path / "env.exr").pixels
    assert env.shape == (32, 64, 3)
    assert env[2, :, 2].mean() > env[2, :, 0].mean() and env[-3, :, 0].mean() > env[-3, :, 2].mean()


@pytest.mark.parametrize("args, message", [
    (["info", "missing.exr"], "missing.exr: no such file"),
    (["relight", "missing.exr", "-o", "x.exr", "--light", '{"type": "point", "position": [0, 0, 1]}'],
     "missing.exr: no such file"),
    (["relight", "p.exr", "-o", "x.exr", "--light", '{"type": "laser"}'], "unknown light type 'laser'"),
    (["relight", "p.exr", "-o", "x.exr", "--hdri", "square.exr"], "square.exr: a lat-long environment must be"),
    (["relight", "p.exr", "-o", "x.exr", "--light", '{"type": "point", "position": [0, 0, 1]}', "--background",
      "small.exr"], "small.exr: background is 4x4 but the passes are 16x16"),
    (["convert", "p.exr", "nodir/out.exr"], "folder nodir does not exist"),
    (["convert", "p.exr", "out.exr", "--to", "nope"], "unknown colourspace 'nope'"),
    (["passes", "folder", "-o", "x.exr"], "folder: is a folder; expected an image file (or a #### pattern"),
    (["relight", "p.exr", "-o", "x.exr", "--hdri", "folder"], "folder: is a folder; expected a lat-long HDR"),
    (["relight", "bare.exr", "-o", "x.exr", "--light", '{"type": "point", "position": [0, 0, 1]}'],
     "bare.exr: missing pass(es) normals; present: alpha"),
    (["relight", "p.exr", "-o", "x.exr", "--light", '{"type": "directional", "direction": [0, 0, 1], "color": 1}'],
     "a directional light: unknown field 'color' (did you mean 'colour'?)"),
    (["relight", "p.exr", "-o", "x.exr"], "no lighting: give an environment (--hdri ENV.exr) and/or lights"),
    (["info", "cut.exr"], "cut.exr: unreadable or corrupt image (Some scanline chunks were missing"),
])
def test_errors_are_one_line_with_the_file(tmp_path, args, message):
    from relit.colour import Image
    from relit.io import write_image
    (tmp_path / "folder").mkdir()
    write_passes(tmp_path / "bare.exr", PassStack(alpha=np.ones((4, 4, 1), np.float32)))
    write_image(tmp_path / "whole.exr", Image(np.random.default_rng(0).random((64, 64, 3)), "ACEScg"))
    data = (tmp_path / "whole.exr").read_bytes()
    (tmp_path / "cut.exr").write_bytes(data[:len(data) // 2])  # a copy interrupted half way: its header is whole
    write_passes(tmp_path / "p.exr", sphere_stack(16).replace(relit=np.zeros((16, 16, 3), np.float32)))
    write_image(tmp_path / "square.exr", Image(np.ones((8, 8, 3)), "ACEScg"))
    write_image(tmp_path / "small.exr", Image(np.ones((4, 4, 3)), "ACEScg"))
    result = relit(*args, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "x.exr").exists() and not (tmp_path / "out.exr").exists()
    assert not list(tmp_path.glob(".*tmp*"))  # no partial temp files


def test_irradiance_of_a_uniform_environment_is_its_radiance(tmp_path):
    """A white Lambertian under uniform radiance L has diffuse light (irradiance / pi) L in every direction."""
    from relit.colour import Image
    from relit.io import write_image
    write_image(tmp_path / "uniform.exr", Image(np.full((32, 64, 3), 0.5, np.float32), "ACEScg"))
    result = relit("irradiance", tmp_path / "uniform.exr", "-o", tmp_path / "irr.exr", "--height", 16)
    assert result.returncode == 0, result.stderr
    irr = read_image(tmp_path / "irr.exr").pixels
    assert irr.shape == (16, 32, 3) and np.allclose(irr, 0.5, rtol=0.01)


def test_an_unexpected_error_fails_its_frame_not_the_sequence(tmp_path):
    """Out of memory on one frame of a long sequence (or any error that is not relit's own): the other frames
    are written and the failure is summarised, instead of the whole run aborting."""
    from relit.cli import _each_frame
    from relit.errors import RelitError
    from relit.io import Sequence
    for frame in (1, 2, 3):
        (tmp_path / f"in.{frame:04d}.txt").write_text("x")

    def work(frame, path, out):
        if frame == 2:
            raise MemoryError("cannot allocate 12.8 GB")
        out.write_text("done")

    with pytest.raises(RelitError, match=r"1 of 3 frame\(s\) failed:\n  frame 2: MemoryError: cannot allocate"):
        _each_frame(Sequence(tmp_path / "in.####.txt"), str(tmp_path / "out.####.txt"), False, "test", work)
    assert sorted(p.name for p in tmp_path.glob("out.*")) == ["out.0001.txt", "out.0003.txt"]


def test_a_renderers_stack_with_empty_edge_normals_relights_with_a_warning(tmp_path):
    """Zero normals under alpha < 0.05 (a production AOV's edge) used to make relight refuse the frame."""
    from tests.test_io import _aov, _raw
    alpha, n, edge = _aov()
    albedo = np.full(n.shape, 0.5, np.float32)
    _raw(tmp_path / "aov.exr", np.concatenate([alpha[..., None], n, albedo], -1),
         ("A", "normals.X", "normals.Y", "normals.Z", "albedo.R", "albedo.G", "albedo.B"))
    result = relit("relight", tmp_path / "aov.exr", "-o", tmp_path / "lit.exr", "--light",
                   '{"type": "directional", "direction": [0, 0, 1]}')
    assert result.returncode == 0, result.stderr
    assert f"{int(edge.sum())} edge pixel(s) under alpha < 0.05 had no normal" in result.stderr
    lit = read_passes(tmp_path / "lit.exr")
    assert np.isfinite(lit.relit).all() and (lit.relit[edge] > 0).all()
