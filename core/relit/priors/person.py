"""Where a person is: MediaPipe's selfie segmentation (real-trained, Apache-2.0, converted to ONNX by
``scripts/convert_mediapipe.py``), its 256 x 256 probability brought to the plate's resolution."""
from __future__ import annotations

import numpy as np

from ..models import ShippedNetwork, run_nhwc, session
from ..upsample import Resized, bilinear

SEGMENTER_SIZE = 256


class PersonSegmentation(ShippedNetwork):
    DEFAULT = "person_segmentation.onnx"


def person_probability(rgb: np.ndarray, device: str | None = None) -> Resized:
    """(H, W, 1) probability that a pixel is a person, for an sRGB-encoded (H, W, 3) image in [0, 1]:
    the whole frame squeezed to the model's square input as MediaPipe samples it (bilinear at
    ``u * W / 256``, no prefilter, the input the model was trained on), and stretched back, a window at
    a time as it is read."""
    h, w = rgb.shape[:2]
    steps = np.arange(SEGMENTER_SIZE, dtype=np.float32)
    rows, cols = np.meshgrid(steps * (h / SEGMENTER_SIZE), steps * (w / SEGMENTER_SIZE), indexing="ij")
    square = bilinear(rgb, rows, cols)
    (mask,) = run_nhwc(session(PersonSegmentation.load().path, device), square)
    return Resized(np.clip(mask.reshape(SEGMENTER_SIZE, SEGMENTER_SIZE, 1), 0, 1), h, w)
