"""Run a Copernicus OpenCL COP kernel's text with pyopencl, so tests check the very kernel Houdini compiles.

The OpenCL COP takes OpenCL C plus its own syntax (docs/houdini-copernicus.md): ``#bind layer`` and
``#bind parm`` lines declare the kernel's bindings, ``@KERNEL { ... }`` is the kernel's body, and inside it
``@name`` refers to a binding. This module expands that syntax into plain OpenCL C with the meaning the COP's
documentation and SideFX's examples give it (docs/houdini-copernicus.md, which also lists what no documentation
settled), for the subset relit's kernel uses:

- ``#bind layer [!][&]name[?] [float|float2|float3|float4|int] [val=...]``: a layer; ``&`` writable, ``?``
  optional (``val=`` is its value when nothing is wired), ``!`` a raw binding (accepted, no effect here);
- ``#bind parm name float|int [val=...]``: a constant, a kernel argument;
- ``@layer.bufferIndex(int2)``: the layer's buffer element at an index (clamped at the borders, as a layer
  with a Clamp border reads); ``@layer.set(value)``: writes the current element of a writable layer;
  ``@layer.bound``; ``@parm``; ``@ix``, ``@iy``, ``@ixy``, ``@xres``, ``@yres``, ``@res``.

Anything else after ``@`` (and any ``@`` outside ``@KERNEL``) raises, so the kernel cannot quietly leave the
tested subset. Layers are (H, W, C) float32 arrays, row 0 at the bottom as the kernel assumes; ``run``
takes and returns them top-down like relit's passes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

LAYER_TYPES = {"float": 1, "float2": 2, "float3": 3, "float4": 4, "int": 1}
PARM_TYPES = {"float": np.float32, "int": np.int32}
GLOBALS = {"ix": "_ix", "iy": "_iy", "ixy": "(int2)(_ix, _iy)", "xres": "_xres", "yres": "_yres",
           "res": "(int2)(_xres, _yres)"}


@dataclass(frozen=True)
class Layer:
    name: str
    type: str
    writable: bool
    optional: bool
    default: tuple[float, ...] | None

    @property
    def channels(self) -> int:
        return LAYER_TYPES[self.type]


@dataclass(frozen=True)
class Parm:
    name: str
    type: str
    default: float | int | None


def _value(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.strip("{}").split(","))


def parse_bindings(source: str) -> tuple[list[Layer], list[Parm]]:
    """The kernel's ``#bind`` lines, in order."""
    layers, parms = [], []
    for line in source.splitlines():
        line = line.split("//")[0].strip()
        if not line.startswith("#bind"):
            continue
        words = line.split()
        options = dict(w.split("=", 1) for w in words[3:] if "=" in w)
        plain = [w for w in words[3:] if "=" not in w]
        if words[1] == "layer":
            m = re.fullmatch(r"([!&?]*)(\w+)(\??)", words[2])
            if m is None or len(plain) > 1 or (plain and plain[0] not in LAYER_TYPES):
                raise ValueError(f"outside the #bind layer subset tests/copernicus_cl.py runs: {line!r}")
            kind = plain[0] if plain else "float4"
            optional = "?" in m.group(1) or bool(m.group(3))
            default = _value(options["val"]) if "val" in options else None
            layers.append(Layer(m.group(2), kind, "&" in m.group(1), optional, default))
        elif words[1] == "parm":
            if len(plain) != 1 or plain[0] not in PARM_TYPES or not re.fullmatch(r"\w+", words[2]):
                raise ValueError(f"outside the #bind parm subset tests/copernicus_cl.py runs: {line!r}")
            cast = int if plain[0] == "int" else float
            parms.append(Parm(words[2], plain[0], cast(options["val"]) if "val" in options else None))
        else:
            raise ValueError(f"outside the #bind subset tests/copernicus_cl.py runs: {line!r}")
    return layers, parms


def _vector(kind: str, channels: int, values: list[str]) -> str:
    return values[0] if channels == 1 else f"({kind})({', '.join(values)})"


def _layer_code(layer: Layer, bound: bool) -> str:
    """Helpers of one layer: a clamped read at an index (or its constant when unbound), a write."""
    c, kind = layer.channels, "float" if layer.type == "int" else layer.type
    if not bound:
        values = [repr(float(v)) + "f" for v in (layer.default or (0.0,) * c)]
        values = (values * c)[:c] if len(values) == 1 else values
        return f"#define _read_{layer.name}(at) ({_vector(kind, c, values)})\n"
    read = _vector(kind, c, [f"src[i * {c} + {k}]" for k in range(c)])
    code = (f"static {kind} _index_{layer.name}(__global const float *src, int w, int h, int2 at)\n"
            f"{{\n    int i = clamp(at.y, 0, h - 1) * w + clamp(at.x, 0, w - 1);\n    return {read};\n}}\n"
            f"#define _read_{layer.name}(at) _index_{layer.name}(_L_{layer.name}, _L_{layer.name}_xres, "
            f"_L_{layer.name}_yres, (at))\n")
    if layer.writable:
        stores = " ".join(f"dst[i * {c} + {k}] = {'v' if c == 1 else f'v.s{k}'};" for k in range(c))
        code += (f"static void _store_{layer.name}(__global float *dst, int i, {kind} v) {{ {stores} }}\n"
                 f"#define _set_{layer.name}(v) _store_{layer.name}(_L_{layer.name}, _iy * _xres + _ix, (v))\n")
    return code


def expand(source: str, bound: set[str]) -> str:
    """Plain OpenCL C of a Copernicus kernel: ``bound`` names the layers wired to something (every layer not
    optional must be); the kernel is ``relit_kernel(layers..., parms..., int _xres, int _yres)``, each bound
    layer passed as (buffer, xres, yres). Bindings get names of their own (``_L_``, ``_P_``), so the kernel's
    variables may be named like them, as in the COP."""
    source = re.sub(r"//[^\n]*", "", source)  # comments may mention @ and #bind
    layers, parms = parse_bindings(source)
    by_name = {b.name: b for b in (*layers, *parms)}
    unwired = [layer.name for layer in layers if not layer.optional and layer.name not in bound]
    if unwired:
        raise ValueError(f"layers not optional must be wired: {unwired}")
    head, sep, tail = source.partition("@KERNEL")
    if not sep or "@" in re.sub(r"(?m)^\s*#bind.*$", "", head):
        raise ValueError("one @KERNEL, and no @ bindings outside it")
    body = tail.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError("@KERNEL must be followed by its { body } and nothing after it")

    def binding(m: re.Match) -> str:
        name, method = m.group(1), m.group(2)
        item = by_name.get(name)
        if isinstance(item, Layer):
            if method == "bufferIndex(":
                return f"_read_{name}("
            if method == "set(" and item.writable:
                return f"_set_{name}("
            if method == "bound":
                return "1" if name in bound else "0"
        elif isinstance(item, Parm) and method is None:
            return f"_P_{name}"
        elif name in GLOBALS and method is None:
            return GLOBALS[name]
        raise ValueError(f"outside the @ subset tests/copernicus_cl.py runs: {m.group(0)!r}")

    body = re.sub(r"@(\w+)(?:\.(bufferIndex\(|set\(|bound\b))?", binding, body)
    args = []
    for layer in layers:
        if layer.name in bound:
            qualifier = "" if layer.writable else "const "
            args += [f"__global {qualifier}float *_L_{layer.name}", f"int _L_{layer.name}_xres",
                     f"int _L_{layer.name}_yres"]
    args += [f"{p.type} _P_{p.name}" for p in parms] + ["int _xres", "int _yres"]
    plain = re.sub(r"(?m)^\s*#bind.*$", "", head)
    helpers = "".join(_layer_code(layer, layer.name in bound) for layer in layers)
    return (f"{plain}\n{helpers}\n__kernel void relit_kernel({', '.join(args)})\n{{\n"
            f"    const int _ix = get_global_id(0);\n    const int _iy = get_global_id(1);\n"
            f"    if (_ix >= _xres || _iy >= _yres)\n        return;\n    {body}\n}}\n")


class Kernel:
    """A kernel compiled for the first OpenCL device found (POCL's CPU device in CI)."""

    def __init__(self, source: str, bound: set[str], context=None) -> None:
        import pyopencl as cl
        self.cl = cl
        self.layers, self.parms = parse_bindings(source)
        self.bound = bound
        self.code = expand(source, bound)
        self.context = context or cl.create_some_context(interactive=False)
        self.queue = cl.CommandQueue(self.context)
        self.program = cl.Program(self.context, self.code).build()
        self.kernel = cl.Kernel(self.program, "relit_kernel")

    def run(self, images: dict[str, np.ndarray], params: dict[str, float | int], width: int,
            height: int) -> dict[str, np.ndarray]:
        """``images``: (H, W, C) top-down arrays for the bound input layers; ``params``: overrides of the
        parms' defaults. Returns the writable layers, (H, W, C) top-down."""
        cl = self.cl
        mf = cl.mem_flags
        args: list = []
        outputs: dict[str, tuple[np.ndarray, object]] = {}
        unknown = set(params) - {p.name for p in self.parms}
        if unknown:
            raise ValueError(f"no such parms: {sorted(unknown)}")
        for layer in self.layers:
            if layer.name not in self.bound:
                continue
            if layer.writable:
                out = np.zeros((height, width, layer.channels), np.float32)
                buf = cl.Buffer(self.context, mf.WRITE_ONLY, out.nbytes)
                outputs[layer.name] = (out, buf)
                args += [buf, np.int32(width), np.int32(height)]
                continue
            img = np.asarray(images[layer.name], np.float32)
            if img.ndim == 2:
                img = img[..., None]
            if img.shape[2] != layer.channels:
                raise ValueError(f"layer {layer.name} is {layer.type}: {layer.channels} channel(s), got {img.shape}")
            data = np.ascontiguousarray(img[::-1])  # buffer rows count from the bottom
            args += [cl.Buffer(self.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=data),
                     np.int32(img.shape[1]), np.int32(img.shape[0])]
        for parm in self.parms:
            value = params.get(parm.name, parm.default)
            if value is None:
                raise ValueError(f"parm {parm.name} has no value and no default")
            args.append(PARM_TYPES[parm.type](value))
        args += [np.int32(width), np.int32(height)]
        self.kernel(self.queue, (width, height), None, *args)
        for out, buf in outputs.values():
            cl.enqueue_copy(self.queue, out, buf)
        self.queue.finish()
        return {name: out[::-1] for name, (out, _) in outputs.items()}
