"""relit: from a photo or plate of a person, the passes a compositor needs to relight them.

Data flows one way: read -> linearise -> infer passes -> light -> composite -> write.
The top-level names load on first use, so ``relit.dcc`` stays importable from a DCC's own Python
without relit's dependencies (numpy, OpenImageIO, OpenColorIO).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"
_EXPORTS = {"Image": "colour", "resolve_config": "colour", "RelitError": "errors", "PASSES": "passes",
            "PassStack": "passes"}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'relit' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
