"""Cook module of the relit::passes COP2 filter HDA (its PythonCook section calls these functions).

Per frame: the input's colour plane is written to the pass cache as an EXR, the passes network runs
out of process (``relit.dcc.PassesJob``, skipped when they are cached from this plate and these settings), then
the core relights the cached passes in process under the node's HDRI and lights, and each plane of
the pass table is handed to Houdini. Houdini's Python must import relit (see README, Houdini).
"""
from __future__ import annotations

import os
from typing import Any, cast

import hou
import numpy as np

from relit.colour import Image, resolve_config
from relit.dcc import PassesJob, houdini_planes, knob_names, lighting_from_knobs
from relit.errors import RelitError
from relit.io import read_passes, write_image
from relit.passes import PassStack
from relit.relight import relight
from relit.shading import ShadingModel, refine


def output_planes_to_cook(cop_node: hou.Cop2Node) -> tuple[str, ...]:
    return tuple(houdini_planes())


def required_input_planes(cop_node: hou.Cop2Node, output_plane: str) -> tuple[str, ...]:
    return ("0", "C")  # every plane is computed from the plate's colour


def depth(cop_node: hou.Cop2Node, plane: str) -> hou.EnumValue:
    return hou.imageDepth.Float32


def _value(cop_node: hou.Cop2Node, name: str) -> object:
    parm = cop_node.parmTuple(name)
    if parm is None:  # parmTuple returns None for a name the node lacks
        raise hou.NodeError(f"{cop_node.path()} has no parameter {name}: the HDA and relit_houdini.py disagree")
    values = cast("tuple[int | float | str, ...]", parm.eval())  # eval() may give a hou.Ramp; no ramps here
    return values[0] if len(values) == 1 else tuple(values)


def _settings(cop_node: hou.Cop2Node) -> tuple:
    """Every parameter the result depends on, hashable: the cache key beside the node and frame."""
    return tuple((name, _value(cop_node, name)) for name in (*knob_names(), "colourspace"))


CACHE_SIZE = 8  # relit frames kept, so each plane of a frame reuses one computation
_cache: dict[tuple, PassStack] = {}


def cook(cop_node: hou.Cop2Node, plane: str, resolution: tuple[int, int]) -> None:
    key = (cop_node.path(), hou.intFrame(), _settings(cop_node))
    try:
        if key not in _cache:
            while len(_cache) >= CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = _relit(cop_node, key[1], dict(key[2]))
        stack = _cache[key]
    except RelitError as exc:
        raise hou.NodeError(str(exc)) from None
    spec = houdini_planes()[plane]
    pixels = getattr(stack, spec.name)
    if pixels is None:
        pixels = np.zeros(stack.shape + (spec.channels,), np.float32)
    # COP2 planes run bottom-up
    cop_node.setPixelsOfCookingPlaneFromString(np.ascontiguousarray(pixels[::-1], np.float32).tobytes())


def _relit(cop_node: hou.Cop2Node, frame: int, values: dict[str, Any]) -> PassStack:
    folder = str(values["cache"])
    if not folder:
        raise RelitError("set the pass cache folder (where the plate and the passes are written)")
    job = PassesJob(plate=os.path.join(folder, "plate.####.exr"), folder=folder, first=frame, last=frame,
                    hfov=float(values["hfov"]), refine_matte=bool(values["refine_matte"]))
    raw = job.path(job.raw, frame)
    plate = cop_node.inputs()[0]
    if plate is None:
        raise RelitError("connect the plate to the node's input")
    w, h = plate.xRes(), plate.yRes()
    rgb = np.frombuffer(plate.allPixelsAsString("C"), np.float32).reshape(h, w, 3)[::-1]
    os.makedirs(folder, exist_ok=True)
    write_image(job.path(job.plate, frame), Image(rgb, str(values["colourspace"]), resolve_config()))
    if not job.up_to_date():  # passes cached from this plate with these settings are kept
        with hou.InterruptableOperation("relit: computing passes", open_interrupt_dialog=True) as operation:
            def progress(fraction: float, message: str) -> bool:
                try:
                    operation.updateProgress(fraction)
                except hou.OperationInterrupted:
                    return False  # PassesJob stops relit; the next cook resumes
                return True

            job.run(progress)
    stack = read_passes(raw)
    lighting = lighting_from_knobs(values.__getitem__)
    if lighting.environment is None and not lighting.lights:
        return stack
    lit = relight(stack, lighting)
    return refine(lit, ShadingModel.load()) if values["shading_net"] else lit
