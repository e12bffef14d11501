"""The CUDA path against the CPU: every pass (priors included) of the same plates from ONNX Runtime's CUDA
provider and from its CPU provider, the largest difference per pass, and the time per frame of each at
1080p and 4K. Run by benchmarks/gpu_check.sh on a machine with an NVIDIA GPU; with --cpu-only (CI) the CPU
half runs on a small plate, so the script cannot rot where no GPU is lent.

    python benchmarks/gpu_check.py [--cpu-only] [--sizes 1920x1080 3840x2160]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, plate, timings  # noqa: E402

from relit.estimate import PassesModel, estimate_passes  # noqa: E402
from relit.models import providers  # noqa: E402
from relit.passes import PassStack  # noqa: E402


def differences(a: PassStack, b: PassStack) -> dict[str, float]:
    """The largest absolute difference per pass present in both."""
    return {name: float(np.abs(arr - getattr(b, name)).max()) for name, arr in a.items()
            if getattr(b, name) is not None}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu-only", action="store_true", help="the CPU half alone, on one small plate (CI)")
    p.add_argument("--sizes", nargs="+", default=["1920x1080", "3840x2160"], help="WxH plates to time")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    cuda = "CUDAExecutionProvider" in providers()
    print(f"machine: {machine()}; providers: {', '.join(providers())}")
    if not cuda and not args.cpu_only:
        print("no CUDA provider in this onnxruntime: install onnxruntime-gpu (benchmarks/gpu_check.sh)")
        return 1
    model = PassesModel.load()
    sizes = ["320x180"] if args.cpu_only else args.sizes
    devices = ["cpu"] + (["cuda"] if cuda and not args.cpu_only else [])
    for size in sizes:
        width, height = map(int, size.split("x"))
        frame = plate(width, height)
        stacks = {device: estimate_passes(frame, model=model, device=device, prior_passes=True) for device in devices}
        reference = stacks["cpu"]
        if reference.face is None or reference.face.max() < 1:
            print(f"{size}: no face found on the plate: the priors were not exercised")
            return 1
        for device in devices:
            best, median = timings(lambda: estimate_passes(frame, model=model, device=device), args.repeat)
            worst = differences(stacks[device], reference)
            diff = ", ".join(f"{name} {value:.2g}" for name, value in worst.items())
            print(f"{size} {device}: {best * 1000:.0f} ms best, {median * 1000:.0f} ms median; "
                  f"largest difference from the CPU per pass: {diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
