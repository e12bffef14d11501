"""The Nuke adapter without Nuke: the gizmo's text against the core's pass table and the kernel, and its
callbacks run for real (relit out of process, real files) against tests/fakes/nuke.py."""
import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from relit import data
from relit.colour import Image
from relit.dcc import DCC_LIGHTS, LIGHT_KINDS, knob_names, nuke_channel, nuke_layers
from relit.io import describe, read_image, write_image
from tests.blink import Kernel
from tests.nk import read_gizmo

PLUGIN = Path(__file__).parents[1] / "nuke_plugin"
GIZMO = read_gizmo(PLUGIN / "gizmos" / "Relit.gizmo")
KERNEL_SOURCE = (PLUGIN / "relit_relight.blink").read_text()
KERNEL = Kernel(KERNEL_SOURCE)


@pytest.fixture
def fake_nuke(monkeypatch):
    from tests.fakes import nuke
    for store in (nuke.MESSAGES, nuke.PROGRESS, nuke.PLUGIN_PATHS, nuke.MENU_COMMANDS, nuke.THIS):
        store.clear()
    nuke.CANCEL_AFTER[0] = None
    monkeypatch.setitem(sys.modules, "nuke", nuke)
    monkeypatch.syspath_prepend(str(PLUGIN / "python"))
    import relit_nuke
    importlib.reload(relit_nuke)
    return nuke, relit_nuke


def test_layers_are_the_core_pass_table():
    assert GIZMO.layers == nuke_layers()
    assert nuke_channel("A") == "rgba.alpha"  # the alpha pass is Nuke's own alpha
    assert nuke_channel("albedo.R") == "albedo.red" and nuke_channel("normals.X") == "normals.X"
    shuffled = {GIZMO.node(n).knobs["in"] for n in ("NormalsIn", "AlbedoIn", "EnvSpecularIn")}
    assert shuffled <= set(nuke_layers())
    material = GIZMO.node("MaterialIn").knobs
    channels = {c for chans in nuke_layers().values() for c in chans}
    assert {material["expr0"], material["expr2"]} <= channels  # roughness.Y, depth.Z


def test_nodes_are_wired_as_the_kernel_declares():
    images = re.findall(r"Image<eRead[^>]*> (\w+);", KERNEL_SOURCE)
    by_image = {"normals": "NormalsIn", "albedo": "AlbedoIn", "material": "MaterialIn",
                "envSpecular": "EnvSpecularIn", "irradiance": "RelitIrradiance"}
    assert GIZMO.inputs["RelitKernel"] == [by_image[i] for i in images]
    assert GIZMO.inputs["LiveRelit"] == ["RelitPasses", "RelitKernel"]
    assert GIZMO.inputs["OverBackground"] == ["background", "Premult"]
    assert GIZMO.inputs["Output1"] == ["OverBackground"]
    assert GIZMO.inputs["RelitPlateWrite"] == ["plate"] and GIZMO.inputs["RelitMatteWrite"] == ["matte"]
    numbers = {n.name: int(n.knobs.get("number", 0)) for n in GIZMO.nodes if n.cls == "Input"}
    assert numbers == {"plate": 0, "matte": 1, "background": 2}


def test_every_kernel_parameter_is_driven_by_an_existing_knob(fake_nuke):
    _, relit_nuke = fake_nuke
    assert set(relit_nuke.KERNEL_LINKS) == set(KERNEL.params)
    internal = {n.name for n in GIZMO.nodes}
    for param, expressions in relit_nuke.KERNEL_LINKS.items():
        for expr in expressions:
            for knob in re.findall(r"parent\.(\w+)", expr):
                assert knob in GIZMO.user_knobs, (param, knob)
            for node in re.findall(r"\b(Relit\w+)\.", expr):
                assert node in internal, (param, node)
    for i in range(DCC_LIGHTS):
        assert GIZMO.user_knobs[f"light{i}_type"].menu == list(LIGHT_KINDS)
    assert set(knob_names()) <= set(GIZMO.user_knobs)


def test_on_create_compiles_the_kernel_file_and_links_it(fake_nuke):
    nuke, relit_nuke = fake_nuke
    group = nuke.group_from_gizmo(GIZMO, KERNEL.params)
    relit_nuke.on_create(group)
    kernel = group.node("RelitKernel")
    assert kernel["kernelSource"].value() == KERNEL_SOURCE and kernel["recompile"].executed == 1
    assert kernel["RelitRelight_envScale"].expressions == {
        i: f"parent.tint.{c} * pow(2, parent.exposure)" for i, c in enumerate("rgb")}
    assert kernel["RelitRelight_light2Type"].expressions == {0: "parent.light2_type - 1"}


def test_init_and_menu_register_the_gizmo(fake_nuke):
    nuke, _ = fake_nuke
    runpy = importlib.import_module("runpy")
    runpy.run_path(str(PLUGIN / "init.py"))
    runpy.run_path(str(PLUGIN / "menu.py"))
    assert {Path(p).name for p in nuke.PLUGIN_PATHS} == {"gizmos", "python"}
    assert nuke.MENU_COMMANDS == [("Relit", "nuke.createNode('Relit')")]


def _group(nuke, tmp_path, hdri: bool = True):
    plate = tmp_path / "src" / "plate.exr"
    plate.parent.mkdir()
    small = read_image(data.portrait()).pixels[::8, ::8]
    write_image(plate, Image(np.concatenate([small, np.ones_like(small[..., :1])], -1), "sRGB - Texture"))
    nuke.RENDERS.clear()
    nuke.RENDERS["plate"] = str(plate)
    group = nuke.group_from_gizmo(GIZMO, KERNEL.params)
    group.inputs = [group.node("plate"), None, None]
    group["cache"].setValue(str(tmp_path / "cache"))
    group["first"].setValue(1)
    group["last"].setValue(2)
    group["hdri"].setValue(str(data.hdri("studio")) if hdri else "")
    group["use_hdri"].setValue(hdri)
    group["rotation"].setValue(30.0)
    return group


def test_compute_runs_relit_and_loads_the_passes(fake_nuke, tmp_path, monkeypatch):
    nuke, relit_nuke = fake_nuke
    monkeypatch.setenv("RELIT_EXECUTABLE", str(Path(sys.executable).with_name("relit")))
    group = _group(nuke, tmp_path)
    relit_nuke.compute(group, wait=True)
    assert nuke.MESSAGES == []
    read = group.node("RelitPasses")
    assert read["file"].value() == str(tmp_path / "cache" / "relit.%04d.exr")
    assert (read["first"].value(), read["last"].value(), read["reload"].executed) == (1, 2, 1)
    layers = describe(tmp_path / "cache" / "relit.0002.exr")["layers"]
    assert {"normals", "albedo", "diffuse", "specular", "relit", "depth"} <= set(layers)
    assert group.node("RelitIrradiance")["file"].value() == str(tmp_path / "cache" / "irradiance.exr")
    assert nuke.PROGRESS[-1][0] == 100 and "rotation 30" in group["status"].value()


def test_cancel_and_bad_settings_are_reported(fake_nuke, tmp_path, monkeypatch):
    nuke, relit_nuke = fake_nuke
    monkeypatch.setenv("RELIT_EXECUTABLE", str(Path(sys.executable).with_name("relit")))
    group = _group(nuke, tmp_path, hdri=False)
    nuke.CANCEL_AFTER[0] = 1
    relit_nuke.compute(group, wait=True)
    assert len(nuke.MESSAGES) == 1 and "cancelled" in nuke.MESSAGES[0]
    assert group.node("RelitPasses")["file"].value() == ""  # nothing loaded
    group["cache"].setValue("")
    relit_nuke.compute(group, wait=True)
    assert "set the pass cache folder" in nuke.MESSAGES[-1]
