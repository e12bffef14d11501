"""What the Nuke and Houdini adapters share, so they hold no logic of their own: the names each DCC
gives relit's passes, the light knobs' meaning, and the out-of-process job that computes the passes.

The networks run in a separate ``relit`` process (not inside the DCC's Python), so a DCC never has to
load onnxruntime or match relit's Python version; the job reports progress by counting finished
frames on disk and can be cancelled between polls (a killed run resumes where it stopped). This module
imports only the standard library at load time, so a DCC's own Python can import it from relit's
``core`` folder without relit's dependencies.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .errors import RelitError

if TYPE_CHECKING:
    from .lighting import Light, Lighting
    from .passes import PassSpec

# the passes a DCC node shows: what a compositor relights with
DCC_PASSES = ("alpha", "normals", "depth", "albedo", "roughness", "diffuse", "specular", "relit")
LIGHT_KINDS = ("none", "directional", "point", "spot")  # menu order; the kernel's type is index - 1
NUKE_CHANNEL_SUFFIX = {"R": "red", "G": "green", "B": "blue", "A": "alpha"}
# the knobs (Nuke) and parameters (Houdini) both adapters expose, by the same names
JOB_KNOBS = ("cache", "hfov", "refine_matte", "shading_net")
ENV_KNOBS = ("use_hdri", "hdri", "rotation", "exposure", "tint")
LIGHT_KNOBS = ("type", "position", "direction", "colour", "intensity", "cone", "beam")
DCC_LIGHTS = 3


def light_knob(index: int, knob: str) -> str:
    return f"light{index}_{knob}"


def knob_names() -> list[str]:
    return [*JOB_KNOBS, *ENV_KNOBS, *(light_knob(i, k) for i in range(DCC_LIGHTS) for k in LIGHT_KNOBS)]


def nuke_channel(exr_channel: str) -> str:
    """Nuke's name for an EXR channel: ``albedo.R`` reads as ``albedo.red``, ``A`` as ``rgba.alpha``,
    ``normals.X`` and ``depth.Z`` keep their names."""
    layer, _, suffix = exr_channel.rpartition(".")
    return f"{layer or 'rgba'}.{NUKE_CHANNEL_SUFFIX.get(suffix, suffix)}"


def dcc_specs() -> list[PassSpec]:
    from .passes import PASSES
    by_name = {p.name: p for p in PASSES}
    return [by_name[name] for name in DCC_PASSES]


def nuke_layers() -> dict[str, list[str]]:
    """Layers a Nuke script must declare (``add_layer``) for relit's passes; rgba is built in."""
    return {spec.nuke_layer: [nuke_channel(c) for c in spec.exr_channels]
            for spec in dcc_specs() if spec.exr_channels != ("A",)}


def houdini_planes() -> dict[str, PassSpec]:
    """Plane name -> pass, in table order (``A`` is the alpha plane, ``N`` the normals)."""
    return {spec.houdini_plane: spec for spec in dcc_specs()}


def light_from_knobs(kind: str, position: tuple[float, float, float], direction: tuple[float, float, float],
                     colour: tuple[float, float, float], intensity: float, cone: float = 30.0,
                     beam: float | None = None) -> Light | None:
    """A light from a DCC's light knobs (camera space, relit's units); ``none`` gives None. For a
    directional light ``direction`` points toward the light; for a spot it is where the spot points."""
    from .lighting import DirectionalLight, PointLight, SpotLight
    if kind not in LIGHT_KINDS:
        raise RelitError(f"unknown light type {kind!r}; expected one of {', '.join(LIGHT_KINDS)}")
    if kind == "directional":
        return DirectionalLight(direction, irradiance=intensity, colour=colour)
    if kind == "point":
        return PointLight(position, intensity=intensity, colour=colour)
    if kind == "spot":
        return SpotLight(position, direction, intensity=intensity, cutoff_angle=cone, beam_width=beam, colour=colour)
    return None


def lighting_from_knobs(value: Callable[[str], Any]) -> Lighting:
    """The lighting a node's knobs describe; ``value(name)`` reads a knob (a light's type is its menu
    index into LIGHT_KINDS, vectors are 3-tuples)."""
    from .lighting import Environment, Lighting
    env = None
    if value("use_hdri") and value("hdri"):
        env = Environment(str(value("hdri")), float(value("rotation")), float(value("exposure")),
                          tuple(value("tint")))
    lights = []
    for i in range(DCC_LIGHTS):
        def knob(name: str, i: int = i) -> Any:
            return value(light_knob(i, name))
        light = light_from_knobs(LIGHT_KINDS[int(knob("type"))], knob("position"), knob("direction"), knob("colour"),
                                 float(knob("intensity")), float(knob("cone")), float(knob("beam")))
        if light is not None:
            lights.append(light)
    return Lighting(env, lights)


def exr_payload(data: bytes) -> bytes:
    """A single-part OpenEXR file's bytes after its header (the offset table and the pixels), the same
    for the same pixels whenever they are written (the header carries the time of writing); other files
    whole."""
    if data[:4] != b"\x76\x2f\x31\x01" or data[5] & 0x10:  # not OpenEXR, or multi-part
        return data
    at = 8
    while at < len(data) and data[at] != 0:  # attributes: name NUL, type NUL, int32 size, value
        at = data.index(b"\0", data.index(b"\0", at) + 1) + 1
        at += 4 + int.from_bytes(data[at:at + 4], "little")
    return data[at + 1:]


def _attribute(name: str, kind: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def write_exr(path: str | os.PathLike[str], width: int, height: int, channels: tuple[str, ...], pixels: bytes,
              colourspace: str) -> None:
    """A single-part scanline OpenEXR of float32 ``pixels``: ``channels`` interleaved per pixel, rows bottom-up
    (as hou.ImageLayer gives them), with the standard library alone, for a DCC's Python that has no image
    library. ``colourspace`` is written as relit's ``relit:colourspace`` attribute, which relit reads the
    plate's colourspace from. Written beside the path and renamed, so a reader never sees half."""
    count = len(channels)
    if len(pixels) != width * height * count * 4:
        raise RelitError(f"{len(pixels)} bytes are not {width}x{height} pixels of {count} float channel(s)")
    order = sorted(range(count), key=lambda k: channels[k])  # EXR lists (and stores) channels by name
    chlist = b"".join(channels[k].encode() + b"\0" + struct.pack("<iB3xii", 2, 0, 1, 1) for k in order) + b"\0"
    box = struct.pack("<iiii", 0, 0, width - 1, height - 1)
    header = b"".join((
        struct.pack("<ii", 20000630, 2),
        _attribute("channels", "chlist", chlist), _attribute("compression", "compression", b"\0"),
        _attribute("dataWindow", "box2i", box), _attribute("displayWindow", "box2i", box),
        _attribute("lineOrder", "lineOrder", b"\0"), _attribute("pixelAspectRatio", "float", struct.pack("<f", 1)),
        _attribute("relit:colourspace", "string", colourspace.encode()),
        _attribute("screenWindowCenter", "v2f", struct.pack("<ff", 0, 0)),
        _attribute("screenWindowWidth", "float", struct.pack("<f", 1)), b"\0"))
    row_bytes = width * count * 4
    block = 8 + width * count * 4  # y, size, then the row channel after channel
    start = len(header) + 8 * height
    offsets = array("Q", (start + y * block for y in range(height)))
    values = array("f")
    values.frombytes(pixels)
    if sys.byteorder != "little":  # EXR is little-endian; Houdini's platforms are too
        values.byteswap()
        offsets.byteswap()
    rows = []
    for y in range(height):  # EXR rows run top-down
        at = (height - 1 - y) * row_bytes // 4
        row = values[at:at + width * count]
        planes = b"".join(row[k::count].tobytes() for k in order)
        rows.append(struct.pack("<ii", y, len(planes)) + planes)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(header + offsets.tobytes() + b"".join(rows))
    os.replace(tmp, path)


def relit_command() -> list[str]:
    """How to start relit: $RELIT_EXECUTABLE (a path, for a DCC whose Python is not relit's), else the
    ``relit`` on PATH, else this interpreter's module."""
    exe = os.environ.get("RELIT_EXECUTABLE") or shutil.which("relit")
    return [exe] if exe else [sys.executable, "-m", "relit.cli"]


@dataclass
class PassesJob:
    """Passes for a plate's frames, then the environment's diffuse/specular light and the irradiance
    map a DCC's interactive relight needs, all in ``folder``. ``plate`` (and ``matte``) are ``####``
    patterns when ``first``/``last`` are given, stills otherwise."""

    plate: str
    folder: str
    first: int | None = None
    last: int | None = None
    matte: str | None = None
    hdri: str | None = None
    rotation: float = 0.0
    hfov: float = 40.0
    refine_matte: bool = False  # closed-form matting on the plate (relit's matting extra)
    shading_net: bool = False  # the shading network refines the engine's light (relit relight --shading)
    command: list[str] = field(default_factory=relit_command)

    @property
    def sequence(self) -> bool:
        return self.first is not None

    def _file(self, stem: str) -> str:
        return str(Path(self.folder) / (f"{stem}.####.exr" if self.sequence else f"{stem}.exr"))

    @property
    def raw(self) -> str:
        return self._file("passes")

    @property
    def output(self) -> str:
        """The multi-layer EXR (sequence) the DCC reads back: lit by the HDRI when there is one."""
        return self._file("relit") if self.hdri else self.raw

    @property
    def irradiance(self) -> str:
        return str(Path(self.folder) / "irradiance.exr")

    def frames(self) -> list[int | None]:
        if self.first is None:  # not self.sequence
            return [None]
        return list(range(self.first, (self.last if self.last is not None else self.first) + 1))

    def path(self, pattern: str, frame: int | None) -> Path:
        return Path(pattern if frame is None else pattern.replace("####", f"{frame:04d}"))

    def commands(self) -> list[tuple[list[str], str | None]]:
        """(argv, output pattern it fills) for each step, in order: each step's input is the step before's
        output (the first's, the plate and matte)."""
        frames = ["--frames", f"{self.first}-{self.last}"] if self.sequence else []
        passes = [*self.command, "passes", self.plate, "-o", self.raw, "--hfov", str(self.hfov), *frames]
        if self.matte:
            passes += ["--matte", self.matte]
        if self.refine_matte:
            passes.append("--refine-matte")
        steps: list[tuple[list[str], str | None]] = [(passes, self.raw)]
        if self.hdri:
            relight = [*self.command, "relight", self.raw, "-o", self.output, "--hdri", self.hdri,
                       "--rotate", str(self.rotation), *frames]
            steps.append(([*relight, "--shading"] if self.shading_net else relight, self.output))
            steps.append(([*self.command, "irradiance", self.hdri, "-o", self.irradiance], None))
        return steps

    def _keys(self, pattern: str) -> Path:
        return Path(self.folder) / f".{Path(pattern).name.replace('####', 'frames')}.keys.json"

    def _inputs(self) -> dict[str, str]:
        """Per frame, a digest of the plate's (and matte's) pixels: what the first step depends on."""
        out = {}
        for frame in self.frames():
            digest = hashlib.sha256()
            for pattern in (self.plate, self.matte):
                source = self.path(pattern, frame) if pattern else None
                digest.update(exr_payload(source.read_bytes()) if source and source.is_file() else b"none")
            out[str(frame)] = digest.hexdigest()
        return out

    def _recorded(self, pattern: str) -> dict[str, str]:
        try:
            return json.loads(self._keys(pattern).read_text())
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _chain(argv: list[str], upstream: dict[str, str]) -> dict[str, str]:
        """Each output frame's signature: the step's arguments and its input frame's signature."""
        return {frame: hashlib.sha256("\0".join([*argv, key]).encode()).hexdigest() for frame, key in upstream.items()}

    def up_to_date(self) -> bool:
        """Every step's frames exist and were made from the current inputs and settings."""
        upstream = self._inputs()
        for argv, pattern in self.commands():
            if pattern:
                upstream = self._chain(argv, upstream)
                if self._recorded(pattern) != upstream or not all(self.path(pattern, f).exists()
                                                                   for f in self.frames()):
                    return False
        return True

    def _stale(self, argv: list[str], upstream: dict[str, str], pattern: str) -> dict[str, str]:
        """The step's output signatures; frames made under others are removed (another rotation, a
        changed plate), so the step computes them again."""
        recorded, now = self._recorded(pattern), self._chain(argv, upstream)
        for frame in self.frames():
            if recorded.get(str(frame)) != now[str(frame)]:
                self.path(pattern, frame).unlink(missing_ok=True)
        return now

    def run(self, progress: Callable[[float, str], bool] = lambda fraction, message: True,
            poll: float = 0.2) -> None:
        """Run every step; ``progress(fraction, message)`` is called while they run and returning
        False cancels (the running process is terminated; running again resumes). A frame computed
        before from the same inputs and settings is kept; one from others is computed again. relit's
        messages go to ``relit.log`` in the folder (a pipe nobody reads would block a long run)."""
        Path(self.folder).mkdir(parents=True, exist_ok=True)
        steps = self.commands()
        frames = self.frames()
        upstream = self._inputs()
        for index, (argv, pattern) in enumerate(steps):
            name = argv[len(self.command)]
            if pattern:
                signatures = self._stale(argv, upstream, pattern)
                self._record(pattern, signatures)  # before: a cancelled run's frames were made with these
                upstream = signatures
                if all(self.path(pattern, f).exists() for f in frames):
                    continue  # computed before from the same inputs and settings
            with open(Path(self.folder) / "relit.log", "w+", encoding="utf-8", errors="replace") as log:
                proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                while proc.poll() is None:
                    done = sum(self.path(pattern, f).exists() for f in frames) if pattern else 0
                    if not progress((index + done / len(frames)) / len(steps),
                                    f"relit {name}: {done}/{len(frames)} frame(s)"):
                        proc.terminate()
                        proc.wait()
                        raise RelitError(f"relit {name} cancelled; computing again resumes at the first missing frame")
                    time.sleep(poll)
                log.seek(0)
                lines = log.read().strip().splitlines()
            if proc.returncode != 0:
                raise RelitError(f"relit {name} failed: {(lines or ['(no message)'])[-1]}")
        progress(1.0, "relit: done")

    def _record(self, pattern: str, signatures: dict[str, str]) -> None:
        keys = self._keys(pattern)
        tmp = keys.with_name(keys.name + ".tmp")
        tmp.write_text(json.dumps(signatures, indent=1))
        os.replace(tmp, keys)
