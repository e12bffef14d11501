"""What the DCC adapters share: pass names per DCC, knob names, lights from knobs, the relit job."""
import math

import pytest

from relit.dcc import (
    DCC_LIGHTS,
    LIGHT_KINDS,
    PassesJob,
    houdini_planes,
    knob_names,
    light_from_knobs,
    lighting_from_knobs,
    nuke_layers,
)
from relit.errors import RelitError
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
