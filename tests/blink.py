"""Run a Blink kernel's text in Python, pixel by pixel, so tests check the very kernel Nuke compiles.

It understands the subset relit's kernels are written in (see nuke_plugin/relit_relight.blink): one
statement per line, braces on their own lines, ``if``/``else``, declarations with an initial value,
``=``/``+=``, ``return``, ``float2/3/4`` and ``int2`` vectors with ``.x .y .z .w``, point reads
``image()``, random reads ``image(x, y)`` (edge-clamped), ``dst() = ...``, and Blink's maths
functions. Anything else raises, so the kernel cannot quietly leave the tested subset.
"""
from __future__ import annotations

import math
import re
from typing import Callable

import numpy as np

TYPES = r"(?:float[234]?|int[234]?|bool|void)"
FLOAT_LITERAL = re.compile(r"(\d+\.?\d*(?:e[-+]?\d+)?)f\b")


class Vec:
    """A Blink floatN/intN: element-wise arithmetic with vectors and scalars."""

    def __init__(self, *c: float) -> None:
        self.c = [float(v) for v in c]

    x = property(lambda self: self.c[0])
    y = property(lambda self: self.c[1])
    z = property(lambda self: self.c[2])
    w = property(lambda self: self.c[3])

    def _op(self, other, f: Callable[[float, float], float]) -> "Vec":
        o = other.c if isinstance(other, Vec) else [other] * len(self.c)
        return Vec(*(f(a, b) for a, b in zip(self.c, o)))

    def __add__(self, o): return self._op(o, lambda a, b: a + b)  # noqa: E704
    def __radd__(self, o): return self._op(o, lambda a, b: b + a)  # noqa: E704
    def __sub__(self, o): return self._op(o, lambda a, b: a - b)  # noqa: E704
    def __rsub__(self, o): return self._op(o, lambda a, b: b - a)  # noqa: E704
    def __mul__(self, o): return self._op(o, lambda a, b: a * b)  # noqa: E704
    def __rmul__(self, o): return self._op(o, lambda a, b: b * a)  # noqa: E704
    def __truediv__(self, o): return self._op(o, lambda a, b: a / b)  # noqa: E704
    def __neg__(self): return Vec(*(-a for a in self.c))  # noqa: E704


def _dot(a: Vec, b: Vec) -> float:
    return sum(x * y for x, y in zip(a.c, b.c))


def _normalize(a: Vec) -> Vec:
    return a / math.sqrt(max(_dot(a, a), 1e-30))


def _clamp(v, lo, hi):
    if isinstance(v, Vec):
        return Vec(*(min(max(c, lo), hi) for c in v.c))
    return min(max(v, lo), hi)


BUILTINS = {
    "float2": Vec, "float3": Vec, "float4": Vec, "int2": Vec, "dot": _dot, "normalize": _normalize,
    "length": lambda a: math.sqrt(_dot(a, a)), "clamp": _clamp, "max": max, "min": min, "pow": math.pow,
    "sqrt": math.sqrt, "acos": math.acos, "atan2": math.atan2, "cos": math.cos, "sin": math.sin, "tan": math.tan,
    "floor": math.floor, "float": float, "int": int, "fabs": abs,
}


def _expression(text: str) -> str:
    text = FLOAT_LITERAL.sub(r"\1", text)
    text = text.replace("&&", " and ").replace("||", " or ")
    return re.sub(r"!(?!=)", " not ", text)


def _statement(line: str) -> str:
    """One Blink statement (no trailing ';') as Python."""
    if m := re.fullmatch(r"if \((.*)\)", line):
        return f"if {_expression(m.group(1))}:"
    if line == "else":
        return "else:"
    if line == "return":
        return "return"
    if m := re.fullmatch(r"return (.*)", line):
        return f"return {_expression(m.group(1))}"
    if m := re.fullmatch(r"dst\(\) = (.*)", line):
        return f"_dst({_expression(m.group(1))})"
    if m := re.fullmatch(rf"{TYPES} (\w+) = (.*)", line):
        return f"{m.group(1)} = {_expression(m.group(2))}"
    if m := re.fullmatch(r"(\w+) (=|\+=|-=|\*=) (.*)", line):
        return f"{m.group(1)} {m.group(2)} {_expression(m.group(3))}"
    raise ValueError(f"outside the Blink subset tests/blink.py runs: {line!r}")


def _body(lines: list[str], indent: int) -> list[str]:
    out, depth = [], indent
    for line in lines:
        if line == "{":
            continue
        if line == "}":
            depth -= 1
            continue
        py = _statement(line.rstrip(";"))
        out.append("    " * depth + py)
        if py.endswith(":"):
            depth += 1
    return out


def _functions(source: str) -> dict[str, tuple[list[str], list[str]]]:
    """name -> (parameter names, body lines) for every function of the kernel."""
    lines = [ln.split("//")[0].strip() for ln in source.splitlines()]
    lines = [ln for ln in lines if ln]
    found = {}
    i = 0
    while i < len(lines):
        m = re.fullmatch(rf"{TYPES} (\w+)\((.*)\)", lines[i])
        if m and i + 1 < len(lines) and lines[i + 1] == "{":
            depth, j = 0, i + 1
            while True:
                depth += lines[j].count("{") - lines[j].count("}")
                if depth == 0:
                    break
                j += 1
            params = [p.split()[-1] for p in m.group(2).split(",") if p.strip()]
            found[m.group(1)] = (params, lines[i + 2:j])
            i = j
        i += 1
    return found


class Kernel:
    """A compiled kernel: ``run(images, params, width, height)`` returns the (H, W, 4) top-down output."""

    def __init__(self, source: str) -> None:
        self.functions = _functions(source)
        code = []
        for name, (params, body) in self.functions.items():
            if name in ("define", "init"):
                continue
            code.append(f"def {name}({', '.join(params)}):")
            code += _body(body, 1) or ["    pass"]
        self.code = "\n".join(code)
        self.init = "\n".join(_body(self.functions["init"][1], 0))
        self.params = re.findall(rf"^\s*{TYPES} (\w+);", source.split("param:")[1].split("local:")[0], re.M)

    def run(self, images: dict[str, np.ndarray], params: dict[str, object], width: int, height: int) -> np.ndarray:
        """``images``: (H, W, 4) top-down arrays by input name; ``params``: every kernel parameter."""
        missing = set(self.params) - set(params)
        if missing:
            raise ValueError(f"parameters not given: {sorted(missing)}")
        env: dict[str, object] = dict(BUILTINS)
        env.update({k: Vec(*v) if isinstance(v, (tuple, list)) else v for k, v in params.items()})
        exec(self.init, env)
        exec(self.code, env)
        out = np.zeros((height, width, 4), np.float32)
        flipped = {k: v[::-1] for k, v in images.items()}  # Nuke's rows count from the bottom
        result: list[Vec] = []
        env["_dst"] = result.append
        readers = []
        for name, img in flipped.items():
            env[name] = _reader(img)
            readers.append(env[name])
        for y in range(height):
            for x in range(width):
                for read in readers:
                    read.pixel = (x, y)
                result.clear()
                env["process"](Vec(x, y))
                out[height - 1 - y, x] = result[0].c
        return out


def _reader(img: np.ndarray) -> Callable:
    """``image()`` reads the current pixel; ``image(x, y)`` any pixel, clamped at the edges."""
    h, w = img.shape[:2]

    def read(*xy):
        if xy:
            x, y = min(max(int(xy[0]), 0), w - 1), min(max(int(xy[1]), 0), h - 1)
        else:
            x, y = read.pixel
        return Vec(*img[y, x])

    read.pixel = (0, 0)
    return read
