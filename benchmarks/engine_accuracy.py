"""PSNR of relit's engine against Mitsuba 3 for every reference scene (exact passes in, render as truth).

    python benchmarks/engine_accuracy.py [--resolution 96] [--spp 4096]

'unshadowed' is over fully covered pixels that see all of every light (exact, by ray-sphere tests);
'all' is over every fully covered pixel, with relit's screen-space shadows on. The noise column is
Mitsuba against itself with another seed: no comparison can beat it by much.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from relit import data, reference  # noqa: E402
from relit.relight import ShadowSettings, relight  # noqa: E402


def predict(ref: reference.Reference, shadows: bool):
    out = relight(ref.passes, ref.lighting, ref.camera, shadows=ShadowSettings(enabled=shadows))
    return ref.passes.albedo * out.diffuse + ref.specular_weight * out.specular


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, default=96)
    p.add_argument("--spp", type=int, default=4096)
    p.add_argument("--hdri", default=str(data.hdri()))
    args = p.parse_args()
    print(f"# {machine()}; {args.resolution}x{args.resolution}, {args.spp} spp, HDRI {Path(args.hdri).name}")
    print(f"{'scene':24s} {'unshadowed dB':>14s} {'all, shadows dB':>16s} {'no shadows dB':>14s} {'MC noise dB':>12s}")
    for spec in reference.SCENES:
        ref = reference.render(spec.name, args.hdri, args.resolution, args.spp)
        again = reference.render(spec.name, args.hdri, args.resolution, args.spp, seed=1)
        every = ref.passes.alpha[..., 0] >= 0.999
        shadowed, plain = predict(ref, True), predict(ref, False)
        print(f"{spec.name:24s} {reference.psnr(plain, ref.render, ref.unshadowed):14.2f} "
              f"{reference.psnr(shadowed, ref.render, every):16.2f} {reference.psnr(plain, ref.render, every):14.2f} "
              f"{reference.psnr(again.render, ref.render, every):12.2f}")


if __name__ == "__main__":
    main()
