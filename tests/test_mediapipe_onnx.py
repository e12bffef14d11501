"""The ONNX conversions of MediaPipe's face detector, face mesh and selfie segmentation (scripts/convert_mediapipe.py)
against the original models on real photos: the .tflite files through tflite_runtime, and MediaPipe's own
solutions, both run by scripts/mediapipe_reference.py in .mpvenv (made by scripts/mediapipe_env.sh; CI makes it
in `scripts/install.sh test`). The cards' fields and the files' I/O are checked always."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import OpenImageIO as oiio
import pytest

from relit.models import ShippedNetwork

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
WEIGHTS = ROOT / "core" / "relit" / "weights"
MPVENV = ROOT / ".mpvenv" / "bin" / "python"
NAMES = ("face_detector", "face_landmarks", "person_segmentation")
PHOTOS = [SHARED / "assets" / "portraits" / "pool" / f"pd_{i:04d}.jpg" for i in range(1, 7)] + [
    SHARED / "assets" / "portraits" / "grace_hopper.jpg"]

# Largest absolute difference allowed per output, ONNX Runtime CPU against the original model on the tensors of
# the 7 photos. Both run the same float32 arithmetic (the fp16 weights dequantized exactly to float32); what is
# left is summation order (XNNPACK against MLAS), about 1e-6 of the values' size. Measured here (the cards'
# parity): regressors 1.5e-4 (values up to 240), classificators 6.6e-4 (logits up to 409), landmarks 2.1e-4 (up
# to 194 px), face flag 3.1e-5 (logit up to 44), person mask 3.1e-5 (0-1, after a sigmoid). Thresholds about 3x
# those, for other CPUs' kernels: a wrong padding, layout or op shows as differences of whole units.
TOLERANCE = {
    "face_detector": {"regressors": 5e-4, "classificators": 2e-3},
    "face_landmarks": {"conv2d_21": 6e-4, "conv2d_31": 1e-4},
    "person_segmentation": {"activation_10": 1e-4},
}


def card(name: str) -> dict:
    return json.loads((WEIGHTS / f"{name}.json").read_text())


def session(name: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(WEIGHTS / f"{name}.onnx"), providers=["CPUExecutionProvider"])


def read_rgb8(path: Path) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    pixels = buf.get_pixels(oiio.UINT8)
    if pixels is None or pixels.ndim != 3:
        raise AssertionError(f"{path}: {buf.geterror()}")
    return np.ascontiguousarray(pixels[..., :3] if pixels.shape[2] >= 3 else np.repeat(pixels[..., :1], 3, 2))


def write_png(path: Path, rgb: np.ndarray) -> None:
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, oiio.UINT8))
    out.write_image(rgb)
    out.close()


def warp(rgb: np.ndarray, size: tuple[int, int], scale: tuple[float, float], offset: tuple[float, float],
         border: str = "zero") -> np.ndarray:
    """MediaPipe's ImageToTensor on CPU for an axis-aligned ROI: cv::warpPerspective, INTER_LINEAR, of the 8-bit
    image, output pixel (u, v) sampling (u * sx + ox, v * sy + oy). OpenCV rounds source coordinates to 1/32
    pixel and weights them in 15-bit fixed point, which is exact here, then rounds to 8 bits."""
    h, w = rgb.shape[:2]
    out_h, out_w = size
    image = rgb.astype(np.int64)

    def taps(n: int, s: float, o: float, limit: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        q = np.rint((np.arange(n) * s + o) * 32).astype(np.int64)  # source coordinate in 1/32 pixels
        i, f = q >> 5, q & 31
        return [(np.clip(i + k, 0, limit - 1), (i + k >= 0) & (i + k < limit) | (border == "edge"), wt)
                for k, wt in ((0, 32 - f), (1, f))]

    acc = np.zeros((out_h, out_w, 3), np.int64)
    for yi, y_in, wy in taps(out_h, scale[1], offset[1], h):
        for xi, x_in, wx in taps(out_w, scale[0], offset[0], w):
            weight = wy[:, None] * wx[None, :] * 32 * (y_in[:, None] & x_in[None, :])
            acc += weight[..., None] * image[yi[:, None], xi[None, :]]
    return ((acc + (1 << 14)) >> 15).astype(np.uint8)


def letterbox(rgb: np.ndarray, n: int) -> tuple[np.ndarray, float, float, float]:
    """The detector's input: the image centred in a square of its long side (black bars), to n x n."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    ox, oy = (w - side) / 2, (h - side) / 2
    return warp(rgb, (n, n), (side / n, side / n), (ox, oy)), side, ox, oy


def tensors(photos: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Each model's input from each photo, in the model's range: the detector on the letterboxed photo, the
    face mesh on the photo's central square (half its short side, a bilinear downsizing), the segmentation on
    the photo stretched to 256x256 (all three MediaPipe's CPU warp)."""
    det, mesh, seg = [], [], []
    for rgb in photos:
        h, w = rgb.shape[:2]
        det.append(letterbox(rgb, 128)[0] / np.float32(127.5) - 1)
        side = min(h, w) / 2
        mesh.append(warp(rgb, (192, 192), (side / 192, side / 192), ((w - side) / 2, (h - side) / 2)) / np.float32(255))
        seg.append(warp(rgb, (256, 256), (w / 256, h / 256), (0.0, 0.0)) / np.float32(255))
    return {"face_detector": np.stack(det).astype(np.float32), "face_landmarks": np.stack(mesh).astype(np.float32),
            "person_segmentation": np.stack(seg).astype(np.float32)}


def test_shipped_files_load_and_match_their_cards():
    for name in NAMES:
        info = card(name)
        for key in ("version", "internal", "source", "licence", "input", "outputs", "recipe", "parity",
                    "mediapipe_graph"):
            assert key in info, f"{name}.json lacks {key}"
        assert info["licence"] == "Apache-2.0" and info["version"] == "mediapipe-0.10.14"
        assert info["input"]["layout"] == "NHWC" and info["input"]["range"] in ([0, 1], [-1, 1])
        side = info["internal"]
        assert isinstance(side, int) and info["input"]["shape"] == [1, side, side, 3]
        model = session(name)
        (inp,) = model.get_inputs()
        assert (inp.name, inp.shape) == (info["input"]["name"], info["input"]["shape"])
        assert [(o.name, o.shape) for o in model.get_outputs()] == [(o["name"], o["shape"]) for o in info["outputs"]]
        assert all(o["meaning"] for o in info["outputs"])
        assert set(info["parity"]) >= {o["name"] for o in info["outputs"]}
        assert (WEIGHTS / f"{name}.onnx").stat().st_size <= 25 * 2**20
        loaded = ShippedNetwork.load(WEIGHTS / f"{name}.onnx")  # relit's own card loader reads it
        assert (loaded.internal, loaded.version) == (side, "mediapipe-0.10.14")
    assert [card(n)["internal"] for n in NAMES] == [128, 192, 256]
    notice = (WEIGHTS / "NOTICE-mediapipe.md").read_text()
    assert "Apache" in notice and "0.10.14" in notice
    assert "Apache License" in (WEIGHTS / "LICENSE-mediapipe.txt").read_text()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    if not MPVENV.exists():
        pytest.skip(".mpvenv is absent (bash scripts/mediapipe_env.sh makes it; scripts/install.sh test does)")
    tmp = tmp_path_factory.mktemp("mediapipe")
    photos = [read_rgb8(p) for p in PHOTOS]
    inputs = tensors(photos)
    np.savez(tmp / "tensors.npz", **inputs)
    pngs = []  # one decoder for both sides: MediaPipe reads the same pixels relit does
    for path, rgb in zip(PHOTOS, photos):
        pngs.append(tmp / f"{path.stem}.png")
        write_png(pngs[-1], rgb)
    subprocess.run([str(MPVENV), str(ROOT / "scripts" / "mediapipe_reference.py"), "--tensors",
                    str(tmp / "tensors.npz"), "--images", *map(str, pngs), "-o", str(tmp / "reference.npz")],
                   check=True, capture_output=True, timeout=600)
    with np.load(tmp / "reference.npz") as ref:
        return photos, inputs, dict(ref)


@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_the_original_model_on_real_photos(reference, name):
    _, inputs, ref = reference
    model = session(name)
    runs = [model.run(None, {"input": x[None]}) for x in inputs[name]]
    for k, out in enumerate(model.get_outputs()):
        ours = np.stack([r[k][0] for r in runs])
        theirs = ref[f"{name}/{out.name}"]
        assert ours.shape == theirs.shape
        diff = np.abs(ours - theirs)
        print(f"{name}/{out.name}: max {diff.max():.3g}, mean {diff.mean():.3g}, |ref| max {np.abs(theirs).max():.3g}")
        assert diff.max() <= TOLERANCE[name][out.name]
