"""Stand-in for the parts of Nuke's Python API (``nuke`` module) the relit gizmo's callbacks use.

Documented calls it replaces: ``nuke.thisNode()``, ``nuke.root().firstFrame()/lastFrame()``,
``nuke.execute(node, first, last)`` (renders a Write node), ``nuke.message(text)``,
``nuke.executeInMainThread(callable, args=())``, ``nuke.ProgressTask(title)`` with ``setProgress``,
``setMessage`` and ``isCancelled``, ``nuke.pluginAddPath(path)``, ``nuke.menu(name).addMenu().addCommand()``;
``Node[knob]``, ``Group.node(name)``, ``Node.input(i)``; ``Knob.value()``, ``setValue()``,
``setExpression(expr, channel)``, ``execute()``. Nodes are built from the gizmo's text, so a knob or
node name the callbacks use but the gizmo lacks raises, as it would in Nuke.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable

from tests.nk import Gizmo

MESSAGES: list[str] = []
PLUGIN_PATHS: list[str] = []
MENU_COMMANDS: list[tuple[str, str]] = []
PROGRESS: list[tuple[int, str]] = []
CANCEL_AFTER: list[int | None] = [None]  # cancel once this many progress updates were seen
RENDERS: dict[str, str] = {}  # Input node name -> image file a Write below it renders
THIS: list[Node] = []
ROOT_RANGE = (1, 1)


class Knob:
    def __init__(self, name: str, value: object = "", on_execute: Callable[[], None] | None = None) -> None:
        self.name, self._value, self.expressions, self._on_execute = name, value, {}, on_execute
        self.executed = 0

    def value(self) -> object:
        return self._value

    def setValue(self, value: object) -> None:  # noqa: N802 (Nuke's name)
        self._value = value

    def setExpression(self, expression: str, channel: int = 0) -> None:  # noqa: N802
        self.expressions[channel] = expression

    def execute(self) -> None:
        self.executed += 1
        if self._on_execute:
            self._on_execute()


class Node:
    def __init__(self, name: str, cls: str, knobs: dict[str, object]) -> None:
        self.name, self.cls = name, cls
        self.knobs = {k: Knob(k, v) for k, v in knobs.items()}
        self.children: dict[str, Node] = {}
        self.inputs: list[Node | None] = []
        self.input_names: list[str] = []

    def __getitem__(self, knob: str) -> Knob:
        if knob not in self.knobs:
            raise NameError(f"{self.name} has no knob named {knob}")  # what Nuke raises
        return self.knobs[knob]

    def node(self, name: str) -> Node | None:
        return self.children.get(name)

    def input(self, i: int) -> Node | None:
        return self.inputs[i] if i < len(self.inputs) else None


def _value(text: str) -> object:
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d*\.\d+", text):
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("{"):
        return tuple(float(v) for v in text.strip("{}").split())
    return text.strip('"')


def group_from_gizmo(gizmo: Gizmo, kernel_params: list[str]) -> Node:
    """The Relit group as Nuke builds it from the gizmo: user knobs with their defaults, internal
    nodes with their knobs. Compiling the BlinkScript node adds a knob per kernel parameter."""
    defaults = {4: 0, 3: 0, 6: False, 7: 0.0, 13: (0.0, 0.0, 0.0), 18: (1.0, 1.0, 1.0), 2: "", 26: "", 20: None,
                22: None}
    knobs = {k.name: _value(k.default) if k.default is not None else defaults.get(k.type_id, "")
             for k in gizmo.user_knobs.values()}
    group = Node(gizmo.group.knobs.get("name", "Relit"), "Group", knobs)
    for nk in gizmo.nodes:
        extra = {"Read": ["first", "last", "origfirst", "origlast", "reload"], "Write": ["file"],
                 "BlinkScript": ["kernelSource", "recompile"]}.get(nk.cls, [])
        node = Node(nk.name, nk.cls, {**{k: "" for k in extra}, **{k: _value(v) for k, v in nk.knobs.items()}})
        node.input_names = gizmo.inputs[nk.name]
        group.children[nk.name] = node
        if nk.cls == "BlinkScript":
            kernel = node

            def compile_kernel(kernel=kernel) -> None:
                name = re.search(r"kernel (\w+)", kernel["kernelSource"].value()).group(1)
                for p in kernel_params:
                    kernel.knobs.setdefault(f"{name}_{p}", Knob(f"{name}_{p}", 0))

            node.knobs["recompile"] = Knob("recompile", "", compile_kernel)
    return group


def thisNode() -> Node:  # noqa: N802
    return THIS[-1]


class _Root:
    def firstFrame(self) -> int:  # noqa: N802
        return ROOT_RANGE[0]

    def lastFrame(self) -> int:  # noqa: N802
        return ROOT_RANGE[1]


def root() -> _Root:
    return _Root()


def execute(node: Node, first: int, last: int) -> None:
    """Render a Write node: here, its input's stand-in image is written to each frame's file."""
    source = RENDERS[node.input_names[0]]
    pattern = node["file"].value()
    for frame in range(first, last + 1):
        target = Path(pattern % frame)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def message(text: str) -> None:
    MESSAGES.append(text)


def executeInMainThread(call: Callable, args: tuple = ()) -> None:  # noqa: N802
    call(*args)


class ProgressTask:
    def __init__(self, title: str) -> None:
        self.title = title

    def setProgress(self, percent: int) -> None:  # noqa: N802
        PROGRESS.append((percent, ""))

    def setMessage(self, text: str) -> None:  # noqa: N802
        PROGRESS[-1] = (PROGRESS[-1][0], text)

    def isCancelled(self) -> bool:  # noqa: N802
        return CANCEL_AFTER[0] is not None and len(PROGRESS) >= CANCEL_AFTER[0]


def pluginAddPath(path: str) -> None:  # noqa: N802
    PLUGIN_PATHS.append(path)


class _Menu:
    def addMenu(self, name: str) -> "_Menu":  # noqa: N802
        return self

    def addCommand(self, name: str, command: str) -> None:  # noqa: N802
        MENU_COMMANDS.append((name, command))


def menu(name: str) -> _Menu:
    return _Menu()
