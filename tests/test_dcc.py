"""What the DCC adapters share: pass names per DCC, knob names, lights from knobs, the relit job."""
import math
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from relit.colour import Image
from relit.dcc import (
    DCC_LIGHTS,
    LIGHT_KINDS,
    PassesJob,
    exr_payload,
    houdini_planes,
    knob_names,
    light_from_knobs,
    lighting_from_knobs,
    nuke_layers,
    write_exr,
)
from relit.errors import RelitError
from relit.io import read_image, write_image
from relit.lighting import DirectionalLight, SpotLight
from relit.passes import PASS_BY_NAME


def test_names_come_from_the_pass_table():
    for plane, spec in houdini_planes().items():
        assert PASS_BY_NAME[spec.name].houdini_plane == plane
    assert nuke_layers()["albedo"] == ["albedo.red", "albedo.green", "albedo.blue"]
    assert len(knob_names()) == len(set(knob_names())) == 4 + 5 + 7 * DCC_LIGHTS


def test_lights_from_knobs():
    spot = light_from_knobs("spot", (0, 1, 0), (0, -1, 0), (1, 1, 1), 2.0, cone=30, beam=20)
    assert isinstance(spot, SpotLight) and spot.cutoff_angle == 30 and spot.beam_width == 20
    assert light_from_knobs("none", (0, 0, 0), (0, 0, 1), (1, 1, 1), 1.0) is None
    with pytest.raises(RelitError, match="unknown light type 'laser'"):
        light_from_knobs("laser", (0, 0, 0), (0, 0, 1), (1, 1, 1), 1.0)
    values = {name: 0 for name in knob_names()}
    values.update(use_hdri=1, hdri="", rotation=0.0, exposure=0.0, tint=(1, 1, 1),
                  light1_type=LIGHT_KINDS.index("directional"), light1_direction=(0, 0, 2), light1_colour=(1, 1, 1),
                  light1_intensity=3.0, light1_position=(0, 0, 0))
    lighting = lighting_from_knobs(values.__getitem__)
    assert lighting.environment is None and len(lighting.lights) == 1
    light = lighting.lights[0]
    assert isinstance(light, DirectionalLight) and light.direction == (0, 0, 1) and math.isclose(light.irradiance, 3)


def test_job_commands(tmp_path):
    job = PassesJob(plate=str(tmp_path / "plate.####.exr"), folder=str(tmp_path), first=1001, last=1002,
                    matte=str(tmp_path / "matte.####.exr"), hdri="env.exr", rotation=30, hfov=35, refine_matte=True,
                    shading_net=True, command=["relit"])
    (passes, raw), (relight, out), (irradiance, none) = job.commands()
    assert passes == ["relit", "passes", job.plate, "-o", raw, "--hfov", "35", "--frames", "1001-1002",
                      "--matte", job.matte, "--refine-matte"]
    assert relight[:4] == ["relit", "relight", raw, "-o"] and "--rotate" in relight and out == job.output
    assert relight[-1] == "--shading"
    assert irradiance == ["relit", "irradiance", "env.exr", "-o", job.irradiance] and none is None
    assert [job.path(raw, f).name for f in job.frames()] == ["passes.1001.exr", "passes.1002.exr"]
    still = PassesJob(plate="photo.jpg", folder=str(tmp_path), command=["relit"])
    assert [cmd[1] for cmd, _ in still.commands()] == ["passes"] and still.output.endswith("passes.exr")


def test_a_failing_step_is_reported(tmp_path):
    job = PassesJob(plate=str(tmp_path / "missing.jpg"), folder=str(tmp_path))
    with pytest.raises(RelitError, match="relit passes failed: .*missing.jpg"):
        job.run()


def _fake_job(tmp_path, **settings) -> PassesJob:
    return PassesJob(plate=str(tmp_path / "plate.####.exr"), folder=str(tmp_path / "cache"), first=1, last=2,
                     hdri="env.exr", command=[sys.executable, str(Path(__file__).parent / "fakes" / "relit_cli.py")],
                     **settings)


def test_a_job_reuses_frames_of_the_same_inputs_and_redoes_the_others(tmp_path, monkeypatch):
    """Recomputing after a change (a rotation, a new plate) recomputes what the change touches and keeps the
    rest; nothing runs when nothing changed. relit's chatter (300 KB of stderr here) does not block the job."""
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("RELIT_FAKE_CALLS", str(calls))
    for frame in (1, 2):
        write_image(tmp_path / f"plate.{frame:04d}.exr", Image(np.full((4, 4, 3), frame, np.float32), "ACEScg"))

    def run(job: PassesJob) -> list[str]:
        calls.write_text("")
        thread = threading.Thread(target=job.run, kwargs={"poll": 0.01}, daemon=True)
        thread.start()
        thread.join(60)
        assert not thread.is_alive(), "the job hung"
        return [line.split()[0] for line in calls.read_text().splitlines()]

    job = _fake_job(tmp_path, rotation=0.0)
    assert run(job) == ["passes", "relight", "irradiance"] and job.up_to_date()
    relit_frame = job.path(job.output, 1)
    first = relit_frame.read_bytes()
    assert run(job) == ["irradiance"]  # the frames are kept; the still irradiance map is cheap
    rotated = _fake_job(tmp_path, rotation=90.0)
    assert not rotated.up_to_date()
    assert run(rotated) == ["relight", "irradiance"] and b"--rotate 90.0" in relit_frame.read_bytes()
    # the plate's frame 2 re-rendered with other pixels (frame 1 written again, same pixels, another time)
    time.sleep(1.1)
    write_image(tmp_path / "plate.0001.exr", Image(np.full((4, 4, 3), 1, np.float32), "ACEScg"))
    write_image(tmp_path / "plate.0002.exr", Image(np.full((4, 4, 3), 7, np.float32), "ACEScg"))
    assert run(rotated) == ["passes", "relight", "irradiance"]
    assert job.path(job.raw, 1).stat().st_mtime_ns < job.path(job.raw, 2).stat().st_mtime_ns  # only 2 redone
    assert run(_fake_job(tmp_path, rotation=0.0)) == ["relight", "irradiance"]  # back: made again, the same
    assert relit_frame.read_bytes() == first


def test_exr_payload_ignores_the_time_of_writing(tmp_path):
    image = Image(np.random.default_rng(0).random((8, 8, 3)).astype(np.float32), "ACEScg")
    write_image(tmp_path / "a.exr", image)
    time.sleep(1.1)  # the header's DateTime changes
    write_image(tmp_path / "b.exr", image)
    write_image(tmp_path / "c.exr", Image(image.pixels * 1.01, "ACEScg"))
    a, b, c = (exr_payload((tmp_path / f"{n}.exr").read_bytes()) for n in "abc")
    assert (tmp_path / "a.exr").read_bytes() != (tmp_path / "b.exr").read_bytes()
    assert a == b and a != c and exr_payload(b"not an exr") == b"not an exr"


def test_write_exr_writes_what_relit_reads(tmp_path):
    """The standard-library EXR writer a DCC's Python uses for the plate: rows bottom-up in, top-down in the
    file, the colourspace as relit's metadata, no temp file left; wrong sizes are refused."""
    with pytest.raises(RelitError, match="not 2x2 pixels"):
        write_exr(tmp_path / "x.exr", 2, 2, ("R", "G", "B"), bytes(12), "ACEScg")
    rgba = np.random.default_rng(1).random((3, 5, 4), np.float32)
    write_exr(tmp_path / "x.exr", 5, 3, ("R", "G", "B", "A"), rgba[::-1].tobytes(), "ACEScg")
    image = read_image(tmp_path / "x.exr")
    assert image.colourspace == "ACEScg" and np.array_equal(image.pixels, rgba)
    assert not list(tmp_path.glob(".*.tmp"))
