"""How TemporalPasses' constants were chosen: a grid over (CHANGE_SCALE, MIN_NEW), or with --albedo
over the albedo's own gate (ALBEDO_CHANGE, ALBEDO_MIN_NEW), on tuning sequences (not the ones `relit
eval --sequences` reports on), printing for each setting what `relit eval --sequences` reports:
temporal error along the motion on the subject, and accuracy.

    python scripts/tune_temporal.py SEQ_DIR [SEQ_DIR ...] [--model passes.onnx] [--albedo]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from relit.estimate import PassesModel, TemporalPasses  # noqa: E402
from relit.evaluate import GT_CHANGE, evaluate_sequences  # noqa: E402

GRID = [(c, m) for c in (0.15, 0.3, 0.5) for m in (0.05, 0.1, 0.15)] + [(1e9, 0.1)]
ALBEDO_GRID = [(0.05, 0.05), (0.07, 0.05), (0.1, 0.05), (0.1, 0.03), (0.2, 0.05)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+")
    p.add_argument("--model")
    p.add_argument("--albedo", action="store_true", help="grid the albedo's own gate instead")
    args = p.parse_args()
    names = ("ALBEDO_CHANGE", "ALBEDO_MIN_NEW") if args.albedo else ("CHANGE_SCALE", "MIN_NEW")
    model = PassesModel.load(Path(args.model) if args.model else None)
    print(f"folder {' '.join(names).lower()} | TE along the motion: normals albedo relit (per-frame; truth) | "
          "normals error")
    for folder in args.folders:
        for scale, floor in ALBEDO_GRID if args.albedo else GRID:
            for name, value in zip(names, (scale, floor)):
                setattr(TemporalPasses, name, value)
            r = evaluate_sequences(folder, model)
            te = r["temporal error along the motion (subject)"]
            row = " ".join(f"{te['temporal'][k]:.4f} ({te['per-frame'][k]:.4f}; {te[GT_CHANGE][k]:.4f})"
                           for k in ("normals", "albedo", "relit"))
            print(f"{Path(folder).name} {scale:g} {floor:g} | {row} | "
                  f"{r['accuracy']['temporal']['normals mean']:.2f}", flush=True)


if __name__ == "__main__":
    main()
