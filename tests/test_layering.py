"""Data flows one way: the physical engine (light maps, lights, shadows, composite) imports nothing of the
learned side (inference, motion, the shading network, the priors, training), not even through another
module. Read from the sources' import statements, so an import inside a function counts too."""
import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "core" / "relit"
ENGINE = ("relight", "visibility", "direct", "brdf", "latlong", "lightmaps", "lightcache", "environment", "lighting",
          "camera", "geometry", "raster")
LEARNED = ("estimate", "motion", "shading", "priors", "models", "matting", "train", "evaluate", "stage")


def _imports(module: str) -> set[str]:
    """relit's modules ``module`` imports, as top-level names (``priors.face`` -> ``priors``)."""
    path = PACKAGE / f"{module.replace('.', '/')}.py"
    if not path.is_file():
        path = PACKAGE / module.replace(".", "/") / "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and path.name != "__init__.py":
            names = [node.module] if node.module else [a.name for a in node.names]
            found.update(n.split(".")[0] for n in names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("relit."):
            found.add(node.module.split(".")[1])
    return found


def _closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        for name in _imports(current) - seen:
            if (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name).is_dir():
                seen.add(name)
                todo.append(name)
    return seen


@pytest.mark.parametrize("module", ENGINE)
def test_the_engine_imports_nothing_learned(module):
    assert not _closure(module) & set(LEARNED), f"{module} reaches {sorted(_closure(module) & set(LEARNED))}"


def test_the_check_sees_an_import(tmp_path, monkeypatch):
    """The check can fail: relight as it was (importing motion and the shading network) is caught."""
    fake = tmp_path / "relit"
    fake.mkdir()
    (fake / "relight.py").write_text("from .motion import surface_height\n")
    (fake / "motion.py").write_text("from .upsample import bilinear\n")
    (fake / "upsample.py").write_text("import numpy\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert _closure("relight") == {"motion", "upsample"}


def _siblings(path: Path) -> set[str]:
    """The modules of ``path``'s own package it imports (``from .x import``), inside functions too."""
    return {node.module.split(".")[0] for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}


@pytest.mark.parametrize("package", ["train", "stage", "priors"])
def test_no_import_cycles_inside_a_package(package):
    """A package's modules import each other one way (training's loop and its shading network shared a
    cycle: the run loop they both use is train/run.py)."""
    folder = PACKAGE / package
    graph = {p.stem: _siblings(p) & {q.stem for q in folder.glob("*.py")} for p in folder.glob("*.py")}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(n == target or (n not in seen and reaches(n, target, seen | {n})) for n in graph[start])

    cycles = sorted(m for m in graph if reaches(m, m, set()))
    assert not cycles, f"{package}: {cycles} import themselves through their siblings"
