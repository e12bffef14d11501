"""What temporal blending could reach at best on stage sequences: each frame's passes (per-frame
inference) blended with the previous result carried along the person's *exact* motion (an oracle no
plate has), with a fixed weight for the new frame, optionally with the carried normals turned by the
exact rotation too. Prints the temporal error along the motion on the subject, as `relit eval
--sequences` measures it, for per-frame inference and for each weight (docs/networks.md, Video);
and the same for the truth's own passes blended so, which is what the carrying itself costs
(resampling, points hidden the frame before, noise in the truth): a floor under any blend.

    python scripts/flicker_oracle.py SEQ_DIR [--sequences N]
"""
from __future__ import annotations

import argparse
import json
import sys
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from relit.colour import Image, resolve_config  # noqa: E402
from relit.estimate import estimate_passes  # noqa: E402
from relit.evaluate import GT_CHANGE, _follow, _regions  # noqa: E402
from relit.io import read_passes  # noqa: E402
from relit.latlong import rotate_y  # noqa: E402
from relit.vectors import normalize  # noqa: E402

WEIGHTS = (1.0, 0.5, 0.3, 0.15)  # the new frame's; 1 is per-frame inference


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder")
    p.add_argument("--sequences", type=int, default=0, help="only the first N sequences")
    args = p.parse_args()
    config = resolve_config()
    errors: dict[tuple, list[float]] = {}
    for seq in sorted(d for d in Path(args.folder).glob("seq*") if d.is_dir())[: args.sequences or None]:
        gts = [read_passes(f).to_working(config) for f in sorted(seq.glob("frame.*.exr"))]
        preds = [estimate_passes(Image(g.composite, g.colourspace, config)) for g in gts]
        regions = [_regions(gt) for gt in gts]
        follows = [None] + [_follow(gts[t], gts[t - 1], regions[t], regions[t - 1]) for t in range(1, len(gts))]
        turns = [0.0] + [json.loads(gts[t].metadata["shot"])["yaw"] - json.loads(gts[t - 1].metadata["shot"])["yaw"]
                         for t in range(1, len(gts))]
        for name in ("normals", "albedo"):
            truths = [None] + [getattr(gts[t], name) - follows[t][0](getattr(gts[t - 1], name))
                               for t in range(1, len(gts))]
            for t in range(1, len(gts)):
                errors.setdefault((name, GT_CHANGE), []).append(
                    float(np.abs(truths[t])[follows[t][1]["subject"]].mean()))
            for source, stacks in (("per-frame", preds), ("truth", gts)):
                for weight, turned in product(WEIGHTS, (False, True) if name == "normals" else (False,)):
                    blended = [getattr(stacks[0], name)]
                    for t in range(1, len(gts)):
                        before = follows[t][0](blended[-1])
                        if turned:
                            before = rotate_y(before, turns[t])
                        now = weight * getattr(stacks[t], name) + (1 - weight) * before
                        blended.append(normalize(now) if name == "normals" else now)
                    for t in range(1, len(gts)):
                        warp, masks = follows[t]
                        error = np.abs(blended[t] - warp(blended[t - 1]) - truths[t])[masks["subject"]]
                        errors.setdefault((name, source, weight, turned), []).append(float(error.mean()))
    for key, values in sorted(errors.items(), key=str):
        print(" ".join(map(str, key)), f"{np.mean(values):.4f}")


if __name__ == "__main__":
    main()
