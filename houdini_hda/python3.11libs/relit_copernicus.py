"""The relit::passes_cop Copernicus HDA (Houdini 20.5 and 21): its network and its Compute button.

Copernicus has no Python cook in 20.5 (21.0's Python Snippet COP cooks apart from its node), so nothing here
runs while the network cooks: the cook is Houdini's own File COPs and an OpenCL COP. "Compute" (this module's
``compute``) reads the plate's layers through ``hou.CopNode.layerAtFrame`` (``hou.ImageLayer``), writes them as
EXRs into the pass cache, runs relit out of process on the frame range (``relit.dcc.PassesJob``: cached, keyed
by the plate's pixels and the settings) and points the HDA's File COPs at the result. The OpenCL COP
(``relit_relight.cl``) then relights the cached passes live under the HDA's HDRI rotation, exposure, tint and
lights. Like relit.dcc, this module needs only the standard library and ``hou``: Houdini's Python needs none of
relit's dependencies, and finds relit.dcc in the repository's core/ folder (relit.json).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple, cast

import hou

from relit.dcc import PassesJob, dcc_specs, houdini_planes, knob_names, write_exr
from relit.errors import RelitError

KERNEL_FILE = Path(__file__).resolve().parents[1] / "relit_relight.cl"
BLACK_HDRI = "black_environment.exr"  # lights only: the passes are lit by a black environment (no HDRI light)
BLACK_SIZE = (16, 8)

# What Houdini calls the nodes and parameters the network is made of. SideFX's documentation does not name
# them: these are as Houdini 21.0 saves them in public assets and build scripts (docs/houdini-copernicus.md,
# "Not settled by the documentation"), the first thing to check when a Houdini version refuses the network.
FILE_COP = "file"
OPENCL_COP = "opencl"
OUTPUT_COP = "output"
FILE_TYPE = {1: "float", 3: "vector", 4: "vector4"}  # a File COP AOV's type: Mono, RGB, RGBA
OPENCL_TYPE = {1: 2, 3: 4, 4: 5}  # an OpenCL COP input's or output's signature menu index: Mono, RGB, RGBA
OPENCL_BINDING_TYPE = {"int": 0, "float": 1}  # a constant binding's type menu index

PASSES_FILE = "passes"  # File COP: the multi-layer EXR relit writes (relit relight's output)
IRRADIANCE_FILE = "irradiance"  # File COP: relit irradiance's lat-long
LIVE = "relight"  # OpenCL COP: relit_relight.cl
OUTPUT = "output"


def _layer(exr_channels: tuple[str, ...]) -> str:
    """The EXR layer a pass's channels are in (``normals.X`` -> ``normals``); ``C`` for the root R/G/B/A."""
    layer = exr_channels[0].rpartition(".")[0]
    return layer or "C"


# The passes file's AOVs the network reads: C (relit premultiplied, with the matte in its alpha), then each pass
# the HDA shows (relit.dcc.DCC_PASSES, the matte being C's alpha), by its EXR layer name, with its channel count.
PASS_AOVS: tuple[tuple[str, int], ...] = (("C", 4), *((_layer(spec.exr_channels), spec.channels)
                                                     for spec in dcc_specs() if spec.exr_channels != ("A",)))


class Wire(NamedTuple):
    """A connection: ``node``'s output ``output`` (a name) feeds input ``input`` of the node it is listed under."""

    input: str
    node: str
    output: str


# What feeds the OpenCL COP's layer inputs (relit_relight.cl's #bind layer names; optional ones may stay unwired)
KERNEL_INPUTS = (Wire("beauty", PASSES_FILE, "C"), Wire("normals", PASSES_FILE, "normals"),
                 Wire("depth", PASSES_FILE, "depth"), Wire("albedo", PASSES_FILE, "albedo"),
                 Wire("roughness", PASSES_FILE, "roughness"), Wire("specular", PASSES_FILE, "specular"),
                 Wire("irradiance", IRRADIANCE_FILE, "C"))


def hda_outputs() -> tuple[Wire, ...]:
    """The HDA's outputs in order (the DialogScript's ``output`` lines): the live relight C (RGBA, premultiplied)
    and the matte A from the OpenCL COP, then every other plane of relit.dcc.houdini_planes as cached, and the
    cached ``relit`` (the core's relight with shadows, which COP2 shows as C)."""
    wires = [Wire("C", LIVE, "C"), Wire("A", LIVE, "A")]
    for plane, spec in houdini_planes().items():
        if plane not in ("C", "A"):
            wires.append(Wire(plane, PASSES_FILE, _layer(spec.exr_channels)))
    relit = next(spec for spec in dcc_specs() if spec.name == "relit")
    return (*wires, Wire(relit.name, PASSES_FILE, _layer(relit.exr_channels)))


# ---------------------------------------------------------------------------------------------------------------
# The kernel's bindings


class Binding(NamedTuple):
    """One ``#bind`` line of relit_relight.cl: a layer (flags ``&`` writable, ``?`` optional) or a constant."""

    kind: str  # "layer" or "parm"
    name: str
    flags: str
    type: str
    default: str


LAYER_CHANNELS = {"float": 1, "float3": 3, "float4": 4}


def kernel_bindings(source: str) -> list[Binding]:
    """relit_relight.cl's ``#bind`` lines, in order: ``#bind layer|parm [flags]name[?] type [val=default]``."""
    bindings = []
    for line in source.splitlines():
        words = line.split("//")[0].split()
        if len(words) < 4 or words[0] != "#bind":
            continue
        name = words[2].strip("!&?")
        default = next((w[4:] for w in words[4:] if w.startswith("val=")), "")
        bindings.append(Binding(words[1], name, words[2].replace(name, ""), words[3], default))
    return bindings


# Houdini names a 3-float parameter's components <name>x/y/z and a colour's <name>r/g/b
COMPONENTS = {"position": "xyz", "direction": "xyz", "colour": "rgb", "tint": "rgb"}


def parm_components() -> set[str]:
    """The names of the HDA's parameters (relit.dcc.knob_names) and of their components: a kernel constant of
    one of these names is bound to it (ch("../tintr"))."""
    names = set()
    for name in knob_names():
        suffix = name.rpartition("_")[2]
        names |= {name + c for c in COMPONENTS[suffix]} if suffix in COMPONENTS else {name}
    return names


# kernel constants that are not HDA parameters, and their values: relit irradiance's lat-long height (its
# default; PassesJob runs it without --height)
KERNEL_CONSTANTS = {"irradiance_height": "128"}


# ---------------------------------------------------------------------------------------------------------------
# The network inside the HDA


def _child(hda: hou.CopNode, name: str, kind: str) -> hou.CopNode:
    """The child of that name, made if it is missing (a Copernicus network's children are CopNodes)."""
    child = hda.node(name) or hda.createNode(kind, name)
    return cast("hou.CopNode", child)


def _parm(node: hou.CopNode, name: str) -> hou.Parm:
    parm = node.parm(name)
    if parm is None:  # parm() gives None for a name the node lacks
        raise RelitError(f"{node.path()} has no parameter {name}: this Houdini's {node.type().name()} COP is not "
                         "the one relit_copernicus.py was written for (docs/houdini-copernicus.md)")
    return parm


def build(hda: hou.CopNode) -> None:
    """Make (or complete) the network inside an instance of the HDA: the File COPs of the passes and the
    irradiance, the OpenCL COP of relit_relight.cl with its constants bound to the HDA's parameters, and the
    output. The definition holds no contents, so this runs when the node is created and before each Compute;
    the instance's contents are editable (``allowEditingOfContents``), as the network is made here."""
    if hda.isLockedHDA():
        hda.allowEditingOfContents()
    passes = _child(hda, PASSES_FILE, FILE_COP)
    _parm(passes, "aovs").set(len(PASS_AOVS))
    for i, (aov, count) in enumerate(PASS_AOVS, start=1):
        _parm(passes, f"aov{i}").set(aov)
        _parm(passes, f"type{i}").set(FILE_TYPE[count])
    irradiance = _child(hda, IRRADIANCE_FILE, FILE_COP)
    _parm(irradiance, "aovs").set(1)
    _parm(irradiance, "aov1").set("C")
    _parm(irradiance, "type1").set(FILE_TYPE[3])
    for node in (passes, irradiance):
        _parm(node, "colorspace").set("raw")  # the passes are data, the colours relit's working space

    live = _child(hda, LIVE, OPENCL_COP)
    source = KERNEL_FILE.read_text()
    _parm(live, "kernelcode").set(source)
    bindings = kernel_bindings(source)
    layers = [b for b in bindings if b.kind == "layer"]
    inputs = [(b.name, LAYER_CHANNELS[b.type]) for b in layers if "&" not in b.flags]
    outputs = [(b.name, LAYER_CHANNELS[b.type]) for b in layers if "&" in b.flags]
    for kind, ports in (("input", inputs), ("output", outputs)):
        _parm(live, f"{kind}s").set(len(ports))
        for i, (name, count) in enumerate(ports, start=1):
            _parm(live, f"{kind}{i}_name").set(name)
            _parm(live, f"{kind}{i}_type").set(OPENCL_TYPE[count])
    components = parm_components()
    parms = [b for b in bindings if b.kind == "parm"]
    _parm(live, "bindings").set(len(parms))
    for i, parm in enumerate(parms, start=1):
        _parm(live, f"bindings{i}_name").set(parm.name)
        _parm(live, f"bindings{i}_type").set(OPENCL_BINDING_TYPE[parm.type])
        value = _parm(live, f"bindings{i}_{'intval' if parm.type == 'int' else 'fval'}")
        if parm.name in components:
            value.setExpression(f'ch("../{parm.name}")', hou.exprLanguage.Hscript)
        else:
            constant = KERNEL_CONSTANTS[parm.name]
            value.set(int(constant) if parm.type == "int" else float(constant))
    nodes = {PASSES_FILE: passes, IRRADIANCE_FILE: irradiance, LIVE: live}
    for wire in KERNEL_INPUTS:
        live.setNamedInput(wire.input, nodes[wire.node], wire.output)
    output = _child(hda, OUTPUT, OUTPUT_COP)
    for index, wire in enumerate(hda_outputs()):
        source_node = nodes[wire.node]
        output.setInput(index, source_node, source_node.outputIndex(wire.output))
    output.setDisplayFlag(True)
    hda.layoutChildren()


def on_created(hda: hou.CopNode) -> None:
    """The HDA's OnCreated section: the network, and the frame range of the scene's playback range."""
    build(hda)
    playback = hou.playbar.playbackRange()
    _tuple(hda, "frame_range").set((int(playback[0]), int(playback[1])))


# ---------------------------------------------------------------------------------------------------------------
# Compute


def _tuple(node: hou.CopNode, name: str) -> hou.ParmTuple:
    parm = node.parmTuple(name)
    if parm is None:
        raise RelitError(f"{node.path()} has no parameter {name}: the HDA and relit_copernicus.py disagree")
    return parm


def _value(node: hou.CopNode, name: str) -> Any:
    values = cast("tuple[int | float | str, ...]", _tuple(node, name).eval())  # eval() may give a Ramp: none here
    return values[0] if len(values) == 1 else tuple(values)


def job_for(hda: hou.CopNode) -> PassesJob:
    """The job the HDA's parameters describe: the plate's frames are written into the pass cache folder; with no
    HDRI the passes are lit by a black environment, so the cached files always hold every layer."""
    folder = str(_value(hda, "cache"))
    if not folder:
        raise RelitError("set the pass cache folder first (where the plate and the passes are written)")
    first, last = (int(v) for v in _value(hda, "frame_range"))
    if last < first:
        raise RelitError(f"frame range {first}-{last} is empty")
    hdri = str(_value(hda, "hdri")) if _value(hda, "use_hdri") else ""
    rotation = float(_value(hda, "rotation")) if hdri else 0.0
    return PassesJob(plate=os.path.join(folder, "plate.####.exr"), folder=folder, first=first, last=last,
                     hdri=hdri or os.path.join(folder, BLACK_HDRI), rotation=rotation, hfov=float(_value(hda, "hfov")),
                     refine_matte=bool(_value(hda, "refine_matte")), shading_net=bool(_value(hda, "shading_net")))


def plate_rgb(hda: hou.CopNode, frame: int) -> tuple[int, int, bytes]:
    """The plate wired to the HDA at ``frame``: width, height and its RGB as float32, rows bottom-up
    (hou.CopNode.layerAtFrame cooks the input node; hou.ImageLayer.allBufferElements converts it)."""
    connections = hda.inputConnections()
    if not connections:
        raise RelitError("connect the plate to the node's input")
    source = connections[0].inputNode()
    if not isinstance(source, hou.CopNode):
        raise RelitError(f"the plate must come from a Copernicus node, not {source}")
    layer = source.layerAtFrame(frame, connections[0].outputIndex())
    if layer is None:
        raise RelitError(f"{source.path()} gives no layer at frame {frame}")
    width, height = layer.bufferResolution()[:2]
    return width, height, layer.allBufferElements(hou.imageLayerStorageType.Float32, 3)


def compute(hda: hou.CopNode) -> None:
    """The Compute button: the plate's frames to the cache, relit out of process, the File COPs reloaded."""
    try:
        job = job_for(hda)
        build(hda)
        os.makedirs(job.folder, exist_ok=True)
        assert job.first is not None and job.last is not None  # job_for always gives a frame range
        colourspace = str(_value(hda, "colourspace"))
        for frame in range(job.first, job.last + 1):
            width, height, rgb = plate_rgb(hda, frame)
            write_exr(job.path(job.plate, frame), width, height, ("R", "G", "B"), rgb, colourspace)
        if job.hdri == os.path.join(job.folder, BLACK_HDRI):
            w, h = BLACK_SIZE
            write_exr(job.hdri, w, h, ("R", "G", "B"), bytes(w * h * 12), colourspace)
        if not job.up_to_date():
            with hou.InterruptableOperation("relit: computing passes", open_interrupt_dialog=True) as operation:
                def progress(fraction: float, message: str) -> bool:
                    try:
                        operation.updateProgress(fraction)
                    except hou.OperationInterrupted:
                        return False  # PassesJob stops relit; computing again resumes
                    return True

                job.run(progress)
        load(hda, job)
    except RelitError as exc:
        _tuple(hda, "status").set((f"relit: {exc}",))
        if not hou.isUIAvailable():
            raise
        hou.ui.displayMessage(f"relit: {exc}", severity=hou.severityType.Error)


def load(hda: hou.CopNode, job: PassesJob) -> None:
    """Point the File COPs at the computed files and reload them."""
    for name, path in ((PASSES_FILE, job.output.replace("####", "$F4")), (IRRADIANCE_FILE, job.irradiance)):
        node = cast("hou.CopNode | None", hda.node(name))
        if node is None:
            raise RelitError(f"the HDA has no {name} node: build it again (create a new node)")
        _parm(node, "filename").set(path)
        _parm(node, "reload").pressButton()
    lit = "lights only" if job.hdri == os.path.join(job.folder, BLACK_HDRI) else \
        f"environment specular computed at rotation {job.rotation:g} (compute again after rotating)"
    _tuple(hda, "status").set((f"passes {job.first}-{job.last}; {lit}",))
