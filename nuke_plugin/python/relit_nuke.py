"""The Relit gizmo's callbacks: set up the interactive relight kernel, and compute the passes.

Nuke's Python has no bulk pixel access, so "Compute passes" renders the plate (and matte) through
the gizmo's internal Write nodes, runs relit out of process on the frame range (``relit.dcc.PassesJob``,
in a thread with a progress bar that can cancel), and points the internal Read nodes at the result.
Everything else the gizmo shows is node math on those cached passes.
"""
from __future__ import annotations

import os
import threading
from typing import cast

import nuke

from relit.dcc import DCC_LIGHTS, PassesJob, light_knob
from relit.errors import RelitError

KERNEL_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "relit_relight.blink")
KERNEL_NAME = "RelitRelight"  # the kernel's name in the .blink: its parameters are knobs "RelitRelight_<param>"


def _light_links(i: int) -> dict[str, list[str]]:
    def knob(name: str) -> str:
        return f"parent.{light_knob(i, name)}"
    return {
        f"light{i}Type": [f"{knob('type')} - 1"],  # menu "none" is index 0, the kernel's -1
        f"light{i}Position": [f"{knob('position')}.{c}" for c in "xyz"],
        f"light{i}Direction": [f"{knob('direction')}.{c}" for c in "xyz"],
        f"light{i}Colour": [f"{knob('colour')}.{c}" for c in "rgb"],
        f"light{i}Intensity": [knob("intensity")],
        f"light{i}Cutoff": [knob("cone")],
        f"light{i}Beam": [knob("beam")],
    }


# every kernel parameter and the expression(s) that drive it from the gizmo's knobs and internal nodes
KERNEL_LINKS: dict[str, list[str]] = {
    "hfov": ["parent.hfov"],
    "orthoWidth": ["1"],
    "frameSize": ["RelitPasses.width", "RelitPasses.height"],
    "envSize": ["RelitIrradiance.width", "RelitIrradiance.height"],
    "envRotation": ["parent.rotation"],
    "envScale": [f"parent.tint.{c} * pow(2, parent.exposure)" for c in "rgb"],
    "useEnvironment": ["parent.use_hdri"],
}
for _i in range(DCC_LIGHTS):
    KERNEL_LINKS.update(_light_links(_i))


def _internal(node: nuke.Group, name: str) -> nuke.Node:
    """One of the gizmo's internal nodes, by name (Group.node returns None for a name it lacks)."""
    child = node.node(name)
    if child is None:
        raise LookupError(f"the Relit gizmo has no internal node {name}: the gizmo and relit_nuke.py disagree")
    return child


def _button(node: nuke.Node, name: str) -> nuke.Script_Knob:
    """A button knob (BlinkScript's recompile, Read's reload): Node[] is typed as the base Knob, which has
    no execute(); these are Script_Knobs. (A string, so the cast needs no nuke.Script_Knob at run time.)"""
    return cast("nuke.Script_Knob", node[name])


def on_create(node: nuke.Group) -> None:
    """Load the kernel from relit_relight.blink (the one source the tests check against the core),
    compile it, and link its parameters to the gizmo's knobs."""
    kernel = _internal(node, "RelitKernel")
    with open(KERNEL_FILE) as f:
        kernel["kernelSource"].setValue(f.read())
    _button(kernel, "recompile").execute()
    for param, expressions in KERNEL_LINKS.items():
        knob = kernel[f"{KERNEL_NAME}_{param}"]
        for channel, expression in enumerate(expressions):
            knob.setExpression(expression, channel)
    if not node["last"].value():
        node["first"].setValue(nuke.root().firstFrame())
        node["last"].setValue(nuke.root().lastFrame())


def job_for(node: nuke.Group) -> PassesJob:
    """The job a node's knobs describe; the plate (and matte) are rendered into its cache folder."""
    folder = node["cache"].value()
    if not folder:
        raise RelitError("set the pass cache folder first (where the plate and the passes are written)")
    first, last = int(node["first"].value()), int(node["last"].value())
    if last < first:
        raise RelitError(f"frame range {first}-{last} is empty")
    matte = os.path.join(folder, "matte.####.exr") if node.input(1) is not None else None
    return PassesJob(plate=os.path.join(folder, "plate.####.exr"), folder=folder, first=first, last=last,
                     matte=matte, hdri=node["hdri"].value() or None if node["use_hdri"].value() else None,
                     rotation=float(node["rotation"].value()), hfov=float(node["hfov"].value()),
                     refine_matte=bool(node["refine_matte"].value()), shading_net=bool(node["shading_net"].value()))


def compute(node: nuke.Group | None = None, wait: bool = False) -> threading.Thread | None:
    """The "Compute passes" button: render the inputs, then run relit in a thread."""
    node = node or cast("nuke.Group", nuke.thisNode())  # the button's node: the Relit gizmo, a Group
    try:
        job = job_for(node)
    except RelitError as exc:
        nuke.message(f"relit: {exc}")
        return None
    assert job.first is not None and job.last is not None  # job_for always gives a frame range
    os.makedirs(job.folder, exist_ok=True)
    for name, pattern in (("RelitPlateWrite", job.plate), ("RelitMatteWrite", job.matte)):
        if pattern:
            write = _internal(node, name)
            write["file"].setValue(pattern.replace("####", "%04d"))
            nuke.execute(write, job.first, job.last)
    thread = threading.Thread(target=_run, args=(node, job), name="relit")
    thread.start()
    if wait:
        thread.join()
    return thread


def _run(node: nuke.Group, job: PassesJob) -> None:
    task = nuke.ProgressTask("relit: computing passes")

    def progress(fraction: float, message: str) -> bool:
        task.setProgress(int(fraction * 100))
        task.setMessage(message)
        return not task.isCancelled()

    try:
        job.run(progress)
    except RelitError as exc:
        nuke.executeInMainThread(nuke.message, args=(f"relit: {exc}",))
        return
    nuke.executeInMainThread(load, args=(node, job))  # the progress bar closes when ``task`` is released


def load(node: nuke.Group, job: PassesJob) -> None:
    """Point the internal Read nodes at the computed passes (main thread only)."""
    read = _internal(node, "RelitPasses")
    read["file"].setValue(job.output.replace("####", "%04d"))
    for knob in ("first", "origfirst"):
        read[knob].setValue(job.first)
    for knob in ("last", "origlast"):
        read[knob].setValue(job.last)
    _button(read, "reload").execute()
    if job.hdri:
        _internal(node, "RelitIrradiance")["file"].setValue(job.irradiance)
    node["status"].setValue(f"passes {job.first}-{job.last}" + (
        f"; environment specular computed at rotation {job.rotation:g} (compute again after rotating)"
        if job.hdri else "; no HDRI: lights only"))

