"""Peak memory of `relit passes` on big plates: an 8K still and the frames of a 4K sequence, each in a
process of its own (the command line as an artist runs it), its peak resident set read from the kernel.

    python benchmarks/big_plates.py

Goal from issue 21: at most 2 GB for an 8K still and for a 4K sequence frame. The plate is the bundled
portrait letterboxed into the frame (a mid shot: the face a fifth of the frame's height), half-float EXR;
the sequence is three copies of it, so the temporal smoothing carries each frame along.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, plate  # noqa: E402

from relit.io import write_image  # noqa: E402


def peak_of(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident set (GB) of a child process."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6  # the largest child so far


def main() -> None:
    relit = [sys.executable, "-m", "relit.cli", "passes"]
    print(f"# {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        # the smaller job first: RUSAGE_CHILDREN keeps the largest child's peak
        for name, (width, height), frames in (("4K sequence, 3 frames", (3840, 2160), 3),
                                              ("8K still", (7680, 4320), 1)):
            image = plate(width, height)
            for frame in range(1, frames + 1):
                write_image(Path(tmp) / f"plate{width}.{frame:04d}.exr", image, half=True)
            source, out = (f"plate{width}.####.exr", f"passes{width}.####.exr") if frames > 1 else \
                (f"plate{width}.0001.exr", "still.exr")
            wall, peak = peak_of(relit + [str(Path(tmp) / source), "-o", str(Path(tmp) / out)])
            print(f"{name} ({width}x{height}): peak resident set {peak:.2f} GB, {wall:.0f} s   goal <= 2 GB")


if __name__ == "__main__":
    main()
