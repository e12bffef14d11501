"""The Houdini adapter without Houdini: the expanded HDA's text against the core's pass table and knob
names, and its cook module run for real (relit out of process, the core in process) against
tests/fakes/hou.py."""
import importlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from relit import data
from relit.dcc import LIGHT_KINDS, houdini_planes, knob_names, lighting_from_knobs
from relit.io import read_image, read_passes
from relit.relight import relight

HDA = Path(__file__).parents[1] / "houdini_hda"
OPERATOR = HDA / "otls" / "relit_passes.hda" / "relit_8_8Cop2_1passes"


# how Houdini evaluates each parm type's values (a DialogScript stores them all as strings)
EVAL_AS = {"toggle": int, "ordinal": int, "integer": int, "float": float, "color": float}


def _parms(dialog: str) -> dict[str, dict]:
    """name -> {type, size, default, menu} for every parm block of a DialogScript."""
    parms = {}
    for block in re.findall(r"parm \{(.*?)\n        \}", dialog, re.S):
        name = re.search(r'name\s+"(\w+)"', block).group(1)
        default = re.search(r"default \{ (.*?) \}", block).group(1)
        kind = re.search(r"type\s+(\w+)", block).group(1)
        cast = EVAL_AS.get(kind, str)
        parms[name] = {"type": kind,
                       "size": int(re.search(r"size\s+(\d+)", block).group(1)) if "size" in block else 1,
                       "default": tuple(cast(json.loads(v)) for v in re.findall(r'"[^"]*"', default)),
                       "menu": re.findall(r'^\s+"(\w+)"\s+"', block, re.M)}
    return parms


PARMS = _parms((OPERATOR / "DialogScript").read_text())


def test_hda_sections_and_index_are_consistent():
    listed = [ln.split("\t")[0] for ln in (OPERATOR / "Sections.list").read_text().splitlines()[1:]]
    assert sorted(listed) == sorted(p.name for p in OPERATOR.iterdir() if p.name != "Sections.list")
    index = (OPERATOR.parent / "INDEX__SECTION").read_text()
    assert "Table:        Cop2" in index and "Python:       true" in index and "Operator:     relit::passes" in index
    assert "relit_8_8Cop2_1passes\trelit::Cop2/passes" in (OPERATOR.parent / "Sections.list").read_text()
    package = json.loads((HDA / "relit.json").read_text())
    assert package["path"] == "$RELIT_HOUDINI" and (HDA / "python3.11libs" / "relit_houdini.py").is_file()


def test_parameters_are_the_shared_knob_names():
    assert set(PARMS) == {*knob_names(), "colourspace"}
    for i in range(3):
        assert PARMS[f"light{i}_type"]["menu"] == list(LIGHT_KINDS)
        assert PARMS[f"light{i}_position"]["size"] == 3


@pytest.fixture
def fake_hou(monkeypatch):
    from tests.fakes import hou
    hou.PROGRESS.clear()
    hou.INTERRUPT[0] = False
    monkeypatch.setitem(sys.modules, "hou", hou)
    monkeypatch.syspath_prepend(str(HDA / "python3.11libs"))
    import relit_houdini
    importlib.reload(relit_houdini)
    return hou, relit_houdini


def test_pythoncook_exposes_the_cook_module(fake_hou):
    _, relit_houdini = fake_hou
    names = re.search(r"from relit_houdini import (.*?)  #", (OPERATOR / "PythonCook").read_text()).group(1)
    for name in names.split(", "):
        assert callable(getattr(relit_houdini, name))
    assert relit_houdini.output_planes_to_cook(None) == tuple(houdini_planes())
    assert {"A", "N", "albedo", "diffuse", "specular", "C"} <= set(houdini_planes())


def _node(hou, tmp_path, **overrides):
    rgb = read_image(data.portrait()).to("Linear Rec.709 (sRGB)").pixels[::8, ::8, :3]
    h, w = rgb.shape[:2]
    plate = hou.CopNode("/img/plate", {}, pixels=np.ascontiguousarray(rgb[::-1], np.float32).tobytes(), res=(w, h))
    parms = {name: p["default"] for name, p in PARMS.items()}
    parms.update(cache=(str(tmp_path / "cache"),), hdri=(str(data.hdri("studio")),), rotation=(45.0,),
                 light0_type=(LIGHT_KINDS.index("point"),), light0_position=(0.5, 0.5, 0.0))
    parms.update(overrides)
    return hou.CopNode("/img/relit1", parms, inputs=[plate]), (h, w)


def test_cook_writes_every_plane_from_the_core(fake_hou, tmp_path, monkeypatch):
    hou, relit_houdini = fake_hou
    monkeypatch.setenv("RELIT_EXECUTABLE", str(Path(sys.executable).with_name("relit")))
    node, (h, w) = _node(hou, tmp_path)
    for plane in relit_houdini.output_planes_to_cook(node):
        node.cooking_plane = plane
        relit_houdini.cook(node, plane, (w, h))
    assert hou.PROGRESS and (tmp_path / "cache" / "passes.0001.exr").is_file()
    planes = {p: np.frombuffer(b, np.float32).reshape(h, w, -1)[::-1] for p, b in node.cooked.items()}
    assert set(planes) == set(houdini_planes())
    stack = read_passes(tmp_path / "cache" / "passes.0001.exr")
    assert np.allclose(planes["N"], stack.normals) and np.allclose(planes["A"], stack.alpha)
    values = {k: v.eval()[0] if len(v.eval()) == 1 else v.eval() for k, v in node.parms.items()}
    expected = relight(stack, lighting_from_knobs(values.__getitem__))
    assert np.allclose(planes["C"], expected.relit, atol=1e-5)
    assert np.allclose(planes["diffuse"], expected.diffuse, atol=1e-5)


def test_cook_reports_errors_and_interruption(fake_hou, tmp_path, monkeypatch):
    hou, relit_houdini = fake_hou
    monkeypatch.setenv("RELIT_EXECUTABLE", str(Path(sys.executable).with_name("relit")))
    node, (h, w) = _node(hou, tmp_path, cache=("",))
    node.cooking_plane = "C"
    with pytest.raises(hou.NodeError, match="set the pass cache folder"):
        relit_houdini.cook(node, "C", (w, h))
    node, _ = _node(hou, tmp_path)
    hou.INTERRUPT[0] = True
    with pytest.raises(hou.NodeError, match="cancelled"):
        relit_houdini.cook(node, "C", (w, h))
