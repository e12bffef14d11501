"""Virtual light stage throughput on this machine: people and sample files per minute, and disk use.

    python benchmarks/stage_throughput.py [--count 8] [--spp 64] [--res 256 512]

Each person is rendered under two lightings (two sample files, every pass, half-float EXR); each
lighting costs one path-traced render (its light split into diffuse and specular as it is traced),
each pose two AOV-only renders (albedo, roughness). Workers: one per core.
The first run on a machine also compiles anny's kernels (about a minute), so run it twice.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from relit.stage.job import render_stage  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--spp", type=int, default=64)
    p.add_argument("--res", type=int, nargs="+", default=[256, 512])
    p.add_argument("--hdris", default=str(Path(__file__).resolve().parents[2] / "shared" / "assets" / "hdri"))
    args = p.parse_args()
    print(f"# {machine()}; {args.count} people x 2 lightings, {args.spp} spp")
    for res in args.res:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            render_stage(out, args.count, res, args.spp, seed=1, hdri_dir=args.hdris)
            minutes = (time.perf_counter() - start) / 60
            files = list(Path(out).glob("*_L*.exr"))
            size = sum(f.stat().st_size for f in files) / len(files) / 2 ** 20
        print(f"{res}x{res}: {args.count / minutes:5.1f} people/min, {len(files) / minutes:5.1f} sample files/min, "
              f"{size:.2f} MiB per sample file; one hour: {int(60 * len(files) / minutes)} files, "
              f"{60 * len(files) / minutes * size / 1024:.1f} GiB")


if __name__ == "__main__":
    main()
