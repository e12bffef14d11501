"""Where a virtual-light-stage sample's time goes, in one process: the person (anny, and the
arm's search when a hand is raised), looks, hair and wardrobe, the path-traced render of each lighting,
the AOV-only renders of the lighting-independent passes (once per person), and writing the files.

    python benchmarks/stage_cost.py [--count 6] [--res 256] [--spp 64] [--lightings 2]
        [--close-ups 0.25] [--wardrobe 0.5] [--hands 0.25]

From the per-person and per-lighting parts it gives the sample files a minute one process makes at 1, 2,
4 and 8 lightings per person: what `--lightings` buys when person-lightings are the measure. Mitsuba's
renders use every core, so one process is near the machine's rate (`relit stage render` runs one per
core, which mostly overlaps the parts that run on one). The first person also pays anny's and Mitsuba's
start-up, so it is left out of the means.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from relit.io import write_passes  # noqa: E402
from relit.stage import sample  # noqa: E402
from relit.stage.job import sample_seed  # noqa: E402

PARTS = {"sample_person": "person (anny, arm search)", "sample_look": "looks", "skin_textures": "looks",
         "sample_wardrobe": "wardrobe"}


def _timed(spent: dict[str, float], name: str, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start
    return wrapper


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=6)
    p.add_argument("--res", type=int, default=256)
    p.add_argument("--spp", type=int, default=64)
    p.add_argument("--lightings", type=int, default=2)
    p.add_argument("--close-ups", type=float, default=0.25)
    p.add_argument("--wardrobe", type=float, default=0.5)
    p.add_argument("--hands", type=float, default=0.25)
    p.add_argument("--hdris", default=str(Path(__file__).resolve().parents[2] / "shared" / "assets" / "hdri"))
    args = p.parse_args()
    hdris = sorted(str(path) for path in Path(args.hdris).glob("*.exr"))
    spent: dict[str, float] = defaultdict(float)
    for name, part in PARTS.items():
        setattr(sample, name, _timed(spent, part, getattr(sample, name)))
    render = sample._render

    def timed_render(mi, shapes, lighting, shot, res, spp, seed, integrator):
        part = "AOV renders (per person)" if integrator["type"] == "aov" else "path tracing (per lighting)"
        return _timed(spent, part, render)(mi, shapes, lighting, shot, res, spp, seed, integrator)
    sample._render = timed_render
    hair = sample.hair_mod
    for name in ("strands", "eyebrows"):
        setattr(hair, name, _timed(spent, "hair", getattr(hair, name)))

    print(f"# {machine()}; {args.count} people x {args.lightings} lightings, {args.res} px, {args.spp} spp, "
          f"close-ups {args.close_ups}, wardrobe {args.wardrobe}, hands {args.hands}; one process")
    totals: dict[str, float] = defaultdict(float)
    wall = 0.0
    with tempfile.TemporaryDirectory() as out:
        for index in range(args.count):
            spent.clear()
            start = time.perf_counter()
            stacks = sample.render_sample(sample_seed(1, index), hdris, args.res, args.spp, args.lightings,
                                          close_ups=args.close_ups, wardrobe=args.wardrobe, hands=args.hands)
            write_start = time.perf_counter()
            for k, stack in enumerate(stacks):
                write_passes(Path(out) / f"{index:06d}_L{k}.exr", stack, "half")
            spent["writing"] += time.perf_counter() - write_start
            took = time.perf_counter() - start
            spent["the rest (scene files, passes)"] = took - sum(spent.values())
            print(f"person {index}: {took:.1f} s " + ", ".join(f"{k} {v:.1f}" for k, v in spent.items()), flush=True)
            if index:  # the first pays anny's start-up
                wall += took
                for k, v in spent.items():
                    totals[k] += v
    people = args.count - 1
    per_lighting = (totals["path tracing (per lighting)"] + totals["writing"]) / people / args.lightings
    per_person = wall / people - per_lighting * args.lightings
    print(f"\nmean per person over {people} (s): " + ", ".join(f"{k} {v / people:.2f}" for k, v in totals.items()))
    print(f"fixed per person {per_person:.2f} s, per lighting {per_lighting:.2f} s")
    for n in (1, 2, 4, 8):
        print(f"  {n} lightings a person: {60 * n / (per_person + n * per_lighting):5.1f} files a minute")


if __name__ == "__main__":
    main()
