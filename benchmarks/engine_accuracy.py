"""PSNR of relit's engine against Mitsuba 3 for every reference scene (exact passes in, render as truth).

    python benchmarks/engine_accuracy.py [--resolution 96] [--spp 4096]

'unshadowed' is over fully covered pixels that see all of every light, shading without shadows
(exact ray tests: ray-sphere for the occluder, Mitsuba's own for the head), against the full render
and against a direct-light-only render (no interreflection, which relit does not model).
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
from relit.metrics import psnr  # noqa: E402
from relit.relight import relight  # noqa: E402
from relit.visibility import ShadowSettings  # noqa: E402


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
    print(f"{'scene':24s} {'unshadowed':>10s} {'unsh. direct':>12s} {'all, shadows':>12s} {'all direct':>10s} "
          f"{'no shadows':>10s} {'MC noise':>8s}   (dB)")
    for spec in reference.SCENES:
        ref = reference.render(spec.name, args.hdri, args.resolution, args.spp)
        direct = reference.render(spec.name, args.hdri, args.resolution, args.spp, bounces=1)
        again = reference.render(spec.name, args.hdri, args.resolution, args.spp, seed=1)
        every = ref.passes.alpha[..., 0] >= 0.999
        shadowed, plain = predict(ref, True), predict(ref, False)
        print(f"{spec.name:24s} {psnr(plain, ref.render, ref.unshadowed):10.2f} "
              f"{psnr(plain, direct.render, ref.unshadowed):12.2f} "
              f"{psnr(shadowed, ref.render, every):12.2f} "
              f"{psnr(shadowed, direct.render, every):10.2f} "
              f"{psnr(plain, ref.render, every):10.2f} "
              f"{psnr(again.render, ref.render, every):8.2f}")


if __name__ == "__main__":
    main()
