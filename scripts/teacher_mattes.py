"""Teacher mattes for real portraits from MediaPipe's selfie segmentation (Apache-2.0), the real-photo
prior of relit's matting: written as 8-bit PNGs beside nothing relit ships (generated data).

MediaPipe 0.10.14 pins protobuf < 5, which relit's test extra (onnx) rejects, so this runs in its own
environment and writes files that training reads:

    bash scripts/mediapipe_env.sh
    .mpvenv/bin/python scripts/teacher_mattes.py ../shared/assets/portraits/pool/pd_00*.jpg -o teacher/

The general model (model_selection=0, 256x256 input) is used; its soft output is the matte.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description="MediaPipe selfie-segmentation mattes for real portraits")
    p.add_argument("images", nargs="+")
    p.add_argument("-o", "--output", required=True, help="folder for <stem>.png mattes")
    args = p.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as model:
        for name in args.images:
            bgr = cv2.imread(name, cv2.IMREAD_COLOR)
            if bgr is None:
                raise SystemExit(f"{name}: not an image OpenCV can read")
            mask = model.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).segmentation_mask
            target = out / f"{Path(name).stem}.png"
            tmp = target.with_name(f".{target.name}.tmp.png")
            cv2.imwrite(str(tmp), np.clip(mask * 255 + 0.5, 0, 255).astype(np.uint8))
            tmp.replace(target)  # atomic: a killed run leaves no half-written matte
            print(f"{target}: mean {mask.mean():.2f}")


if __name__ == "__main__":
    main()
