"""Stand-in for the parts of Houdini's ``hou`` module relit's COP2 cook module uses.

Documented calls it replaces: ``hou.intFrame()``, ``hou.NodeError``, ``hou.OperationInterrupted``,
``hou.InterruptableOperation(name, open_interrupt_dialog=...)`` (a context manager with
``updateProgress(fraction)``), ``hou.imageDepth.Float32``; on a COP2 node: ``path()``, ``parmTuple(name)
.eval()``, ``inputs()``, ``xRes()``, ``yRes()``, ``allPixelsAsString(plane)`` and
``setPixelsOfCookingPlaneFromString(bytes)``. Parameters are built from the HDA's DialogScript text.
"""
from __future__ import annotations

from enum import Enum

FRAME = [1]
INTERRUPT = [False]  # updateProgress raises OperationInterrupted, as when the user presses Esc
PROGRESS: list[float] = []


class NodeError(Exception):
    pass


class OperationInterrupted(Exception):
    pass


class imageDepth(Enum):  # noqa: N801 (Houdini's name)
    Float32 = "float32"


def intFrame() -> int:  # noqa: N802
    return FRAME[0]


class InterruptableOperation:
    def __init__(self, name: str, open_interrupt_dialog: bool = False) -> None:
        self.name = name

    def __enter__(self) -> "InterruptableOperation":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def updateProgress(self, fraction: float) -> None:  # noqa: N802
        PROGRESS.append(fraction)
        if INTERRUPT[0]:
            raise OperationInterrupted()


class ParmTuple:
    def __init__(self, values: tuple) -> None:
        self.values = tuple(values)

    def eval(self) -> tuple:
        return self.values

    def set(self, values) -> None:
        self.values = tuple(values) if isinstance(values, (tuple, list)) else (values,)


class CopNode:
    """A COP2 node: parameters by name, inputs, and for an input node its pixels (rows bottom-up)."""

    def __init__(self, path: str, parms: dict[str, tuple], inputs: list["CopNode"] | None = None,
                 pixels: bytes = b"", res: tuple[int, int] = (0, 0)) -> None:
        self._path, self.parms, self._inputs = path, {k: ParmTuple(v) for k, v in parms.items()}, inputs or []
        self._pixels, self._res = pixels, res
        self.cooked: dict[str, bytes] = {}
        self.cooking_plane: str | None = None

    def path(self) -> str:
        return self._path

    def parmTuple(self, name: str) -> ParmTuple:  # noqa: N802
        if name not in self.parms:
            raise KeyError(f"{self._path} has no parameter {name}")
        return self.parms[name]

    def inputs(self) -> list["CopNode"]:
        return self._inputs

    def xRes(self) -> int:  # noqa: N802
        return self._res[0]

    def yRes(self) -> int:  # noqa: N802
        return self._res[1]

    def allPixelsAsString(self, plane: str) -> bytes:  # noqa: N802
        assert plane == "C"
        return self._pixels

    def setPixelsOfCookingPlaneFromString(self, data: bytes) -> None:  # noqa: N802
        self.cooked[self.cooking_plane] = data
