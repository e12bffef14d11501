"""A reader for the Nuke script (.nk / .gizmo) subset relit's gizmo uses: ``add_layer`` lines, one
``Group`` with ``addUserKnob`` lines and knob values, then its nodes up to ``end_group``."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class UserKnob:
    type_id: int
    name: str
    label: str | None
    menu: list[str] = field(default_factory=list)
    default: str | None = None


@dataclass
class NkNode:
    cls: str
    knobs: dict[str, str]

    @property
    def name(self) -> str:
        return self.knobs["name"]


@dataclass
class Gizmo:
    layers: dict[str, list[str]]
    group: NkNode
    user_knobs: dict[str, UserKnob]
    nodes: list[NkNode]
    inputs: dict[str, list[str]]  # node name -> its input nodes' names, input 0 first

    def node(self, name: str) -> NkNode:
        return next(n for n in self.nodes if n.name == name)


def _blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Top-level ``Class {`` ... ``}`` blocks (one knob per line inside) and bare commands."""
    out, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        if m := re.fullmatch(r"(\w+) \{", line):
            body, i = [], i + 1
            while lines[i].strip() != "}":
                body.append(lines[i].strip())
                i += 1
            out.append((m.group(1), body))
        elif line:
            out.append((line, []))
        i += 1
    return out


def _user_knob(text: str) -> UserKnob:
    m = re.fullmatch(r"addUserKnob \{(\d+) (\w+)(.*)\}", text)
    if not m:
        raise ValueError(f"unreadable addUserKnob: {text}")
    rest = m.group(3)
    menu = re.search(r" M \{([^}]*)\}", rest)
    label = re.search(r' l ("[^"]*"|\S+)', rest)
    return UserKnob(int(m.group(1)), m.group(2), shlex.split(label.group(1))[0] if label else None,
                    menu.group(1).split() if menu else [])


def read_gizmo(path: Path) -> Gizmo:
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    layers = {}
    for ln in lines:
        if m := re.fullmatch(r"add_layer \{(\S+) (.*)\}", ln.strip()):
            layers[m.group(1)] = m.group(2).split()
    blocks = _blocks([ln for ln in lines if not ln.startswith("add_layer") and ln.strip() != "end_group"])
    group_cls, group_body = blocks[0]
    assert group_cls == "Group", group_cls
    knobs, user = {}, {}
    last_user = None
    for line in group_body:
        if line.startswith("addUserKnob"):
            knob = _user_knob(line)
            user[knob.name] = last_user = knob
        else:
            key, _, value = line.partition(" ")
            knobs[key] = value
            if last_user is not None and key in user:
                user[key].default = value
    nodes, inputs, stack, saved = [], {}, [], {}
    for cls, body in blocks[1:]:
        if m := re.fullmatch(r"set (\w+) \[stack 0\]", cls):
            saved[m.group(1)] = stack[-1]
        elif m := re.fullmatch(r"push \$(\w+)", cls):
            stack.append(saved[m.group(1)])
        else:  # a node takes the top ``inputs`` items of the stack (input 0 on top) and replaces them
            node = NkNode(cls, dict(ln.partition(" ")[::2] for ln in body))
            count = int(node.knobs.get("inputs", 1))
            taken = [stack.pop() for _ in range(min(count, len(stack)))]
            inputs[node.name] = taken
            stack.append(node.name)
            nodes.append(node)
    return Gizmo(layers, NkNode("Group", knobs), user, nodes, inputs)
