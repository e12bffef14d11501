"""relit's EXRs in a real compositing host: Debian's Blender, headless, opens a relit pass stack in a
compositor node tree (tests/blender/compositor_check.py) and shows every pass as a socket named after its
layer, with the values relit wrote; its Alpha Over of the file's RGBA on a background equals relit's own
composite, which holds only if the RGBA is premultiplied as OpenEXR defines it."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from relit.colour import Image
from relit.io import read_image, write_image, write_passes
from relit.relight import composite
from tests.conftest import sphere_stack

BLENDER = shutil.which("blender")
SCRIPT = Path(__file__).parent / "blender" / "compositor_check.py"


@pytest.mark.skipif(BLENDER is None, reason="Debian's blender is not installed (scripts/install.sh test installs it "
                    "where apt is usable)")
def test_blender_compositor_reads_every_pass_and_composites_the_rgba_as_relit_does(tmp_path):
    size = 24
    rng = np.random.default_rng(0)
    sphere = sphere_stack(size)
    alpha = np.clip(sphere.alpha * rng.uniform(0.3, 1.0, (size, size, 1)), 0, 1).astype(np.float32)  # soft
    stack = sphere.replace(alpha=alpha, albedo=rng.random((size, size, 3)).astype(np.float32),
                           diffuse=rng.random((size, size, 3)).astype(np.float32) * 2,
                           relit=rng.random((size, size, 3)).astype(np.float32))
    write_passes(tmp_path / "passes.exr", stack, "float")
    write_image(tmp_path / "bg.exr", Image(rng.random((size, size, 3)).astype(np.float32), stack.colourspace))
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([BLENDER, "-b", "--factory-startup", "--python", str(SCRIPT), "--",
                             str(tmp_path / "passes.exr"), str(tmp_path / "bg.exr"), str(size), str(size), str(out)],
                            capture_output=True, text=True, timeout=300)
    assert (out / "over.exr").is_file(), result.stdout[-2000:] + result.stderr[-2000:]
    sockets = json.loads((out / "sockets.json").read_text())
    assert sockets == ["Combined", "Alpha", "albedo", "depth", "diffuse", "normals", "relit"]  # layers by name
    shown = oiio.ImageBuf(str(next(out.glob("passes*.exr"))))
    names, pixels = list(shown.spec().channelnames), shown.get_pixels(oiio.FLOAT)

    def socket(layer: str, channels: str) -> np.ndarray:
        return pixels[..., [names.index(f"{layer}.{c}") for c in channels]]

    # the values relit wrote, exactly (float EXR in, float EXR out, no colour conversion of data)
    for layer in ("albedo", "diffuse", "normals", "relit"):
        np.testing.assert_array_equal(socket(layer, "RGB"), getattr(stack, layer), err_msg=layer)
    np.testing.assert_array_equal(socket("depth", "V"), stack.depth)
    np.testing.assert_array_equal(socket("Alpha", "V"), stack.alpha)
    over = oiio.ImageBuf(str(out / "over.exr")).get_pixels(oiio.FLOAT)[..., :3]
    expected = composite(stack.relit, stack.alpha, read_image(tmp_path / "bg.exr").pixels)
    # measured 0 (the same float arithmetic); a straight RGB read as premultiplied is off by up to the bg's value
    np.testing.assert_allclose(over, expected, atol=1e-6)
