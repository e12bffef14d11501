"""Time to infer the full pass stack (alpha, normals, albedo, roughness, and the priors they are fused
with) for one 1920x1080 frame, on this machine's CPU and, where onnxruntime has it, on CUDA.

    python benchmarks/passes_speed.py

Goal from issues 6 and 18: <= 2 s per 1080p frame on 2 CPU cores, priors included. Broken down into the
network alone (at its internal resolution), the priors (face detection, face mesh and its
rasterization, person segmentation), and the rest (colour conversion, normalisation, guided
upsampling, fusion), each timed in the same process (the network runs twice a frame with mirror
averaging); the baseline passes (no network) are the reference ratio. A frame of a sequence (temporal
smoothing: the subject's motion measured and the frame before carried along it) is timed against the
single frame.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, machine  # noqa: E402

from relit import data  # noqa: E402
from relit.baseline import baseline_passes  # noqa: E402
from relit.colour import Image  # noqa: E402
from relit.estimate import MIRROR_AVERAGE, PassesModel, TemporalPasses, estimate_passes  # noqa: E402
from relit.io import read_image  # noqa: E402
from relit.models import providers, run, session  # noqa: E402
from relit.priors import PRIOR_CHANNELS, compute_priors  # noqa: E402
from relit.upsample import resize  # noqa: E402

W, H = 1920, 1080


def main() -> None:
    photo = read_image(data.portrait()).to_working()
    plate = Image(resize(photo.pixels, H, W), photo.colourspace)  # the portrait stretched to 1080p
    model = PassesModel.load()
    sh, sw = model.size(H, W)
    print(f"machine: {machine()}")
    print(f"model: {model.path.name} ({model.version}), network input {sw}x{sh} for a {W}x{H} plate")
    baseline = best_of(lambda: baseline_passes(plate), 3)
    runs = 2 if MIRROR_AVERAGE else 1
    for device in ["cpu"] + (["cuda"] if "CUDAExecutionProvider" in providers() else []):
        total = best_of(lambda: estimate_passes(plate, model=model, device=device), 3)
        alone = best_of(lambda: estimate_passes(plate, model=model, device=device, priors=False), 3)
        priors = best_of(lambda: compute_priors(plate, device), 3)
        net = session(model.path, device)
        inputs = {"image": np.zeros((1, 3, sh, sw), np.float32), "matte": np.full((1, 1, sh, sw), 0.5, np.float32),
                  "priors": np.zeros((1, PRIOR_CHANNELS, sh, sw), np.float32)}
        network = best_of(lambda: run(net, **{k: inputs[k] for k in model.inputs}), 5)
        print(f"{device}: full pass stack {total * 1000:.0f} ms per frame (network {network * 1000:.0f} ms x {runs}, "
              f"priors {priors * 1000:.0f} ms, the rest {(total - runs * network - priors) * 1000:.0f} ms); without "
              f"the priors {alone * 1000:.0f} ms; baseline passes {baseline * 1000:.0f} ms "
              f"({total / baseline:.1f}x the baseline)")
        temporal = TemporalPasses(model, device=device)
        frames = itertools.cycle([plate, Image(np.roll(plate.pixels, 2, axis=1), plate.colourspace)])  # it moves
        sequence = best_of(lambda: temporal(next(frames)), 3)
        print(f"{device}: a frame of a sequence {sequence * 1000:.0f} ms ({sequence / total:.2f}x a single frame)")


if __name__ == "__main__":
    main()
