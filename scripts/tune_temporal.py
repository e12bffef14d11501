"""How TemporalPasses' two constants were chosen: a grid over (CHANGE_SCALE, MIN_NEW) on tuning
sequences (not the ones `relit eval --sequences` reports on), printing for each setting what
`relit eval --sequences` reports: temporal error along the motion on the subject, and accuracy.

    python scripts/tune_temporal.py SEQ_DIR [SEQ_DIR ...] [--model passes.onnx]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from relit.estimate import PassesModel, TemporalPasses  # noqa: E402
from relit.evaluate import GT_CHANGE, evaluate_sequences  # noqa: E402

GRID = [(c, m) for c in (0.15, 0.3, 0.5) for m in (0.05, 0.1, 0.15)] + [(1e9, 0.1)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+")
    p.add_argument("--model")
    args = p.parse_args()
    model = PassesModel.load(Path(args.model) if args.model else None)
    print("folder change_scale min_new | TE along the motion: normals albedo relit (per-frame; truth) | normals error")
    for folder in args.folders:
        for change_scale, min_new in GRID:
            TemporalPasses.CHANGE_SCALE, TemporalPasses.MIN_NEW = change_scale, min_new
            r = evaluate_sequences(folder, model)
            te = r["temporal error along the motion (subject)"]
            row = " ".join(f"{te['temporal'][k]:.4f} ({te['per-frame'][k]:.4f}; {te[GT_CHANGE][k]:.4f})"
                           for k in ("normals", "albedo", "relit"))
            print(f"{Path(folder).name} {change_scale:g} {min_new:g} | {row} | "
                  f"{r['accuracy']['temporal']['normals mean']:.2f}", flush=True)


if __name__ == "__main__":
    main()
