"""``relit train export``: the ONNX model and its card from a passes or a shading checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import RelitError
from ..io import atomic_path
from .loop import export_passes
from .run import load_checkpoint
from .shading import export_shading


def export(checkpoint: str | Path, output: str | Path, internal: int, version: str) -> dict:
    """Write the ONNX model and its card (recipe: data, seed, steps, final losses) of a passes or a
    shading checkpoint."""
    checkpoint, output = Path(checkpoint), Path(output)
    if not checkpoint.is_file():
        raise RelitError("no such checkpoint", checkpoint)
    state = load_checkpoint(checkpoint)
    output.parent.mkdir(parents=True, exist_ok=True)
    export_network = export_shading if state.get("kind") == "shading" else export_passes
    text = json.dumps(export_network(state, output, internal, version), indent=1) + "\n"
    with atomic_path(output.with_suffix(".json")) as tmp:
        tmp.write_text(text)
    return json.loads(text)  # the card as the file has it (tuples become lists)
