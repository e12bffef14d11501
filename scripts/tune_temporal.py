"""How TemporalPasses' two constants were chosen: a grid over (CHANGE_SCALE, MIN_NEW) on tuning
sequences (not the ones `relit eval --sequences` reports on), printing normals/albedo temporal error
and per-frame accuracy for each setting.

    python scripts/tune_temporal.py SEQ_DIR [--model passes.onnx]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from relit.colour import Image, resolve_config  # noqa: E402
from relit.estimate import PassesModel, TemporalPasses  # noqa: E402
from relit.evaluate import _in_working  # noqa: E402
from relit.io import read_passes  # noqa: E402
from relit.metrics import angular_error, scale_invariant_mse  # noqa: E402


def score(gts: list, preds: list) -> tuple[float, float, float, float]:
    te_n, te_a, err_n, err_a = [], [], [], []
    for t, (gt, pred) in enumerate(zip(gts, preds)):
        subject = gt.alpha[..., 0] > 0.5
        err_n.append(angular_error(pred.normals, gt.normals, subject).mean())
        err_a.append(scale_invariant_mse(pred.albedo, gt.albedo, subject))
        if t:
            both = subject & (gts[t - 1].alpha[..., 0] > 0.5)
            for name, out in (("normals", te_n), ("albedo", te_a)):
                change = getattr(pred, name) - getattr(preds[t - 1], name)
                out.append(np.abs(change - (getattr(gt, name) - getattr(gts[t - 1], name)))[both].mean())
    return float(np.mean(te_n)), float(np.mean(te_a)), float(np.mean(err_n)), float(np.mean(err_a))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder")
    p.add_argument("--model")
    args = p.parse_args()
    config = resolve_config()
    model = PassesModel.load(Path(args.model) if args.model else None)
    sequences = [sorted(d.glob("frame.*.exr")) for d in sorted(Path(args.folder).glob("seq*"))]
    data = [[_in_working(read_passes(f), config) for f in seq] for seq in sequences]
    print("change_scale min_new   TE normals  TE albedo  normals err  albedo siMSE")
    for change_scale, min_new in [(0.08, 1.0), (0.08, 0.2), (0.2, 0.2), (0.3, 0.15), (0.5, 0.1), (1.0, 0.1),
                                  (1.0, 0.2), (2.0, 0.2), (1e9, 0.3), (1e9, 0.5)]:
        scores = []
        for gts in data:
            temporal = TemporalPasses(model)
            temporal.CHANGE_SCALE, temporal.MIN_NEW = change_scale, min_new
            scores.append(score(gts, [temporal(Image(g.composite, g.colourspace, config)) for g in gts]))
        te_n, te_a, err_n, err_a = np.mean(scores, axis=0)
        print(f"{change_scale:12g} {min_new:7g} {te_n:12.4f} {te_a:10.5f} {err_n:12.2f} {err_a:13.5f}")


if __name__ == "__main__":
    main()
