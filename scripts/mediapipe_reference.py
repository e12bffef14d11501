"""Reference outputs of MediaPipe 0.10.14's own models, for testing the ONNX conversions relit ships
(scripts/convert_mediapipe.py) and relit's pre- and post-processing around them. Runs in .mpvenv:

    bash scripts/mediapipe_env.sh
    .mpvenv/bin/python scripts/mediapipe_reference.py --tensors inputs.npz --images a.jpg b.png -o ref.npz

--tensors: an .npz holding input tensors by model name, each [B, H, W, 3] float32 NHWC in the model's range
(face_detector 1x128x128x3 in [-1, 1], face_landmarks 1x192x192x3 in [0, 1], person_segmentation 1x256x256x3 in
[0, 1]). The original .tflite models run on them and their outputs are written as "<model>/<output>", stacked
over B, output names as in the ONNX files (TFLite's, sanitized):
- face_detector, face_landmarks: tflite_runtime 2.14.0's Interpreter on the wheel's .tflite file.
- person_segmentation: tflite_runtime cannot run selfie_segmentation.tflite (MediaPipe's custom op
  Convolution2DTransposeBias is registered only inside MediaPipe), so MediaPipe's own solution
  (mp.solutions.selfie_segmentation, model_selection=0) runs it on the tensor as a 256x256 8-bit RGB image:
  at that size its resize in (warpPerspective with the identity) and out (cv::resize to 256x256) change
  nothing and the scaling x / 255 gives the tensor back, so its mask is the model's raw output. The tensor's
  values must therefore be multiples of 1/255.

--images: image files; for image i (in the order given) MediaPipe's solutions write
- "image<i>/segmentation_mask": SelfieSegmentation(model_selection=0)'s mask, H x W float32 in [0, 1];
- "image<i>/face_detection/boxes" [n, 4] (xmin, ymin, width, height, relative to the image),
  ".../keypoints" [n, 6, 2] (x, y relative), ".../scores" [n]: FaceDetection(model_selection=0,
  min_detection_confidence=0.5);
- "image<i>/face_mesh/landmarks" [n, 468, 3] (x, y relative to the image, z in x's scale): FaceMesh(
  static_image_mode=True, max_num_faces=4, refine_landmarks=False, min_detection_confidence=0.5);
and "image_paths" lists the paths. Images are read with OpenCV and given to MediaPipe as 8-bit RGB.
"""
from __future__ import annotations

import argparse
import io
import os
import re
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from tflite_runtime.interpreter import Interpreter

PACKAGE = Path(mp.__file__).resolve().parent
MODELS = {
    "face_detector": "modules/face_detection/face_detection_short_range.tflite",
    "face_landmarks": "modules/face_landmark/face_landmark.tflite",
    "person_segmentation": "modules/selfie_segmentation/selfie_segmentation.tflite",
}
SEGMENTATION_OUTPUT = "activation_10"


def sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def run_tflite(model: str, tensors: np.ndarray) -> dict[str, np.ndarray]:
    interpreter = Interpreter(model_path=str(PACKAGE / MODELS[model]))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    outs = interpreter.get_output_details()
    results: dict[str, list[np.ndarray]] = {sanitize(o["name"]): [] for o in outs}
    for x in tensors:
        interpreter.set_tensor(inp["index"], x[None].astype(np.float32))
        interpreter.invoke()
        for o in outs:
            results[sanitize(o["name"])].append(interpreter.get_tensor(o["index"])[0].copy())
    return {f"{model}/{k}": np.stack(v) for k, v in results.items()}


def run_segmentation_tensors(tensors: np.ndarray) -> dict[str, np.ndarray]:
    codes = np.rint(tensors * 255.0)
    if (tensors.shape[1:] != (256, 256, 3) or np.abs(codes - tensors * 255.0).max() > 1e-3
            or codes.min() < 0 or codes.max() > 255):
        raise SystemExit("person_segmentation tensors must be 256x256x3 multiples of 1/255 in [0, 1] (8-bit images)")
    masks = []
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as model:
        for image in codes.astype(np.uint8):
            masks.append(model.process(np.ascontiguousarray(image)).segmentation_mask[..., None].astype(np.float32))
    return {f"person_segmentation/{SEGMENTATION_OUTPUT}": np.stack(masks)}


def run_images(paths: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"image_paths": np.array(paths)}
    images = []
    for path in paths:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"{path}: not an image OpenCV can read")
        images.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as model:
        for i, image in enumerate(images):
            out[f"image{i}/segmentation_mask"] = model.process(image).segmentation_mask.astype(np.float32)
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as model:
        for i, image in enumerate(images):
            boxes, keypoints, scores = [], [], []
            for d in model.process(image).detections or []:
                b = d.location_data.relative_bounding_box
                boxes.append([b.xmin, b.ymin, b.width, b.height])
                keypoints.append([[k.x, k.y] for k in d.location_data.relative_keypoints])
                scores.append(d.score[0])
            out[f"image{i}/face_detection/boxes"] = np.array(boxes, np.float32).reshape(-1, 4)
            out[f"image{i}/face_detection/keypoints"] = np.array(keypoints, np.float32).reshape(-1, 6, 2)
            out[f"image{i}/face_detection/scores"] = np.array(scores, np.float32).reshape(-1)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=4, refine_landmarks=False,
                                         min_detection_confidence=0.5) as model:
        for i, image in enumerate(images):
            faces = model.process(image).multi_face_landmarks or []
            marks = [[[p.x, p.y, p.z] for p in face.landmark] for face in faces]
            out[f"image{i}/face_mesh/landmarks"] = np.array(marks, np.float32).reshape(-1, 468, 3)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description="MediaPipe 0.10.14 reference outputs for relit's ONNX conversions")
    p.add_argument("--tensors", help=".npz of input tensors by model name (face_detector, face_landmarks, "
                                     "person_segmentation), each [B, H, W, 3] float32")
    p.add_argument("--images", nargs="*", default=[], help="image files for MediaPipe's solutions")
    p.add_argument("-o", "--output", required=True, help=".npz to write")
    args = p.parse_args()
    results: dict[str, np.ndarray] = {}
    if args.tensors:
        with np.load(args.tensors) as inputs:
            for model in inputs.files:
                if model not in MODELS:
                    raise SystemExit(f"{args.tensors}: unknown model {model!r} (one of {', '.join(MODELS)})")
                tensors = inputs[model].astype(np.float32)
                if tensors.ndim == 3:
                    tensors = tensors[None]
                if model == "person_segmentation":
                    results.update(run_segmentation_tensors(tensors))
                else:
                    results.update(run_tflite(model, tensors))
    if args.images:
        results.update(run_images(args.images))
    buf = io.BytesIO()
    np.savez(buf, **results)
    target = Path(args.output)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, target)  # atomic: a killed run leaves no half-written file


if __name__ == "__main__":
    main()
