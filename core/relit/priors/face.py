"""Faces in a photo: MediaPipe's BlazeFace detector and 468-point face mesh (real-trained, Apache-2.0,
converted to ONNX by ``scripts/convert_mediapipe.py``), with MediaPipe's pre- and post-processing
re-implemented here: SSD anchors, box decoding, weighted non-maximum suppression, letterbox removal, the
rotated face crop and the landmarks' projection back to the image.

The constants are those of MediaPipe 0.10.14's ``face_detection_short_range`` and ``face_landmark_front``
graphs, so the landmarks match MediaPipe's own face mesh on the same photo (``tests/test_priors.py``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..models import ShippedNetwork, run_nhwc, session
from ..upsample import bilinear, resize

# face_detection_short_range: SSD anchors and box decoding
DETECTOR_SIZE = 128
STRIDES = (8, 16, 16, 16)  # layers of one stride share a feature map, two anchors per layer
SCORE_CLIP = 100.0
MIN_SCORE = 0.5
NMS_OVERLAP = 0.3  # intersection over union above which two detections are one face
# face_landmark_front: the crop around a detection, turned so the eyes are level
CROP_SCALE = 1.5
LANDMARK_SIZE = 192
MIN_PRESENCE = 0.5  # the landmark model's face flag (after a sigmoid) under which a crop holds no face
CLOSE_UP = 0.6  # a face box wider than this fraction of the frame's short side: a close-up
SURROUND = 3  # a close-up is detected again centred in a black frame this many times its size,
CLOSE_UP_SIDE = 640  # shrunk to at most this many pixels on its long side first


class FaceDetector(ShippedNetwork):
    DEFAULT = "face_detector.onnx"


class FaceLandmarks(ShippedNetwork):
    DEFAULT = "face_landmarks.onnx"


@dataclass(frozen=True)
class Detection:
    """A face box and its six keypoints (eyes, nose tip, mouth, ear tragions), in pixels of the image
    (x right, y down), with the detector's score."""

    box: np.ndarray  # (4,) x0, y0, x1, y1
    keypoints: np.ndarray  # (6, 2) x, y
    score: float

    def back(self, offset: np.ndarray, scale: float) -> "Detection":
        """This detection in an image that was scaled by ``scale`` and then shifted by ``offset`` (x, y)."""
        return Detection((self.box - np.tile(offset, 2)) / scale, (self.keypoints - offset) / scale, self.score)


@dataclass(frozen=True)
class Face:
    """A face's 468 landmarks in pixels of the image: x right, y down, and MediaPipe's z (smaller is
    nearer the camera, the head's centre near 0) in the same pixel units as x."""

    landmarks: np.ndarray  # (468, 3)
    presence: float
    detection: Detection

    def back(self, offset: np.ndarray, scale: float) -> "Face":
        """This face in an image that was scaled by ``scale`` and then shifted by ``offset`` (x, y)."""
        return Face((self.landmarks - np.append(offset, 0)) / scale, self.presence, self.detection.back(offset, scale))


@lru_cache(maxsize=1)
def anchors() -> np.ndarray:
    """(896, 2) anchor centres (x, y) in [0, 1] of the 128-pixel input; every anchor is 1 x 1
    (``fixed_anchor_size``), so only centres matter."""
    out = []
    i = 0
    while i < len(STRIDES):
        stride, layers = STRIDES[i], STRIDES.count(STRIDES[i])
        side = math.ceil(DETECTOR_SIZE / stride)
        y, x = np.mgrid[0:side, 0:side]
        centres = np.stack([(x + 0.5) / side, (y + 0.5) / side], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, 2 * layers, axis=1).reshape(-1, 2))
        i += layers
    return np.concatenate(out).astype(np.float32)


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The image shrunk to fit a size x size square, centred on black, and the padding (left, top,
    right, bottom) as fractions of the square, which ``unletterbox`` removes."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    top, left = (size - nh) // 2, (size - nw) // 2
    out = np.zeros((size, size, rgb.shape[2]), np.float32)
    out[top:top + nh, left:left + nw] = resize(rgb, nh, nw)
    return out, np.float32([left, top, size - left - nw, size - top - nh]) / size


def decode(regressors: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw detector outputs (896, 16) and (896,) to boxes (N, 4: x0 y0 x1 y1), keypoints (N, 6, 2), both
    in [0, 1] of the detector's input, and scores (N,), for the anchors scoring at least MIN_SCORE."""
    score = 0.5 + 0.5 * np.tanh(np.clip(scores, -SCORE_CLIP, SCORE_CLIP) / 2)  # the sigmoid, without overflow
    keep = score >= MIN_SCORE
    raw, centre = regressors[keep] / DETECTOR_SIZE, anchors()[keep]
    middle, size = raw[:, 0:2] + centre, raw[:, 2:4]
    boxes = np.concatenate([middle - size / 2, middle + size / 2], -1)
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + centre[:, None]
    return boxes, keypoints, score[keep]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    lo, hi = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray
                 ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: the best remaining detection and all that overlap
    it more than NMS_OVERLAP become one face, their boxes and keypoints averaged by score."""
    order = np.argsort(-scores, kind="stable")
    faces = []
    while order.size:
        overlap = _iou(boxes[order[0]], boxes[order]) > NMS_OVERLAP
        group, order = order[overlap], order[~overlap]
        weight = scores[group] / scores[group].sum()
        faces.append((np.tensordot(weight, boxes[group], 1), np.tensordot(weight, keypoints[group], 1),
                      float(scores[group[0]])))
    return faces


def detect_faces(rgb: np.ndarray, device: str | None = None) -> list[Detection]:
    """Faces in an sRGB-encoded (H, W, 3) image in [0, 1], best first: MediaPipe's short-range detector
    (faces within a few metres, as in portraits and close-ups)."""
    h, w = rgb.shape[:2]
    square, pad = letterbox(rgb, DETECTOR_SIZE)
    regressors, scores = run_nhwc(session(FaceDetector.load().path, device), square * 2 - 1)
    boxes, keypoints, score = decode(regressors.reshape(-1, 16), scores.reshape(-1))
    size = np.float32([w, h])
    inner = 1 - pad[:2] - pad[2:]
    out = []
    for box, points, s in weighted_nms(boxes, keypoints, score):
        box = ((box.reshape(2, 2) - pad[:2]) / inner * size).reshape(4)
        out.append(Detection(box.astype(np.float32), ((points - pad[:2]) / inner * size).astype(np.float32), s))
    return out


@dataclass(frozen=True)
class Crop:
    """A square region of the image, turned by ``angle`` (radians, counter-clockwise on screen), in
    pixels: what the landmark model sees."""

    centre: np.ndarray  # (2,) x, y
    side: float
    angle: float

    @classmethod
    def around(cls, detection: Detection) -> "Crop":
        """MediaPipe's face crop: the box's centre, its long side times CROP_SCALE, turned so the eyes
        (keypoints 0 and 1) are level."""
        (x0, y0, x1, y1), eyes = detection.box, detection.keypoints[:2]
        dx, dy = eyes[1] - eyes[0]
        angle = -math.atan2(-dy, dx)
        return cls(np.float32([(x0 + x1) / 2, (y0 + y1) / 2]), max(x1 - x0, y1 - y0) * CROP_SCALE, angle)

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """Points (..., 2) in [0, 1] of the crop to image pixels."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        x, y = (uv[..., 0] - 0.5) * self.side, (uv[..., 1] - 0.5) * self.side
        return np.stack([c * x - s * y + self.centre[0], s * x + c * y + self.centre[1]], -1)

    def sample(self, rgb: np.ndarray, size: int) -> np.ndarray:
        """The crop resampled to size x size (bilinear; shrunk first when the crop is much larger, so
        a close-up is not aliased)."""
        factor = max(1, int(self.side / size / 2))
        source = resize(rgb, rgb.shape[0] // factor, rgb.shape[1] // factor) if factor > 1 else rgb
        grid = (np.mgrid[0:size, 0:size][::-1].transpose(1, 2, 0) + 0.5) / size
        xy = self.to_image(grid) / factor - 0.5  # pixel centres at integers for the look-up
        return bilinear(source, xy[..., 1], xy[..., 0])


def face_landmarks(rgb: np.ndarray, detection: Detection, device: str | None = None) -> Face:
    """The 468 landmarks of a detected face (MediaPipe's face mesh, one pass, as in its static mode)."""
    crop = Crop.around(detection)
    points, flag = run_nhwc(session(FaceLandmarks.load().path, device), crop.sample(rgb, LANDMARK_SIZE))
    points = points.reshape(-1, 3) / LANDMARK_SIZE
    xy = crop.to_image(points[:, :2])
    z = points[:, 2:3] * crop.side
    presence = float(0.5 + 0.5 * np.tanh(float(np.ravel(flag)[0]) / 2))
    return Face(np.concatenate([xy, z], -1).astype(np.float32), presence, detection)


def find_faces(rgb: np.ndarray, device: str | None = None) -> list[Face]:
    """Every face the detector finds and the landmark model confirms, best first; [] when none.

    A close-up's face is larger than the short-range detector's faces (at most about half the frame): it
    boxes the whole frame. Such a plate is looked at again centred in a black frame ``SURROUND`` times
    its size, the framing the detector knows (on a real close-up the mesh's normals come 4 degrees
    nearer photometric stereo's)."""
    h, w = rgb.shape[:2]
    detections = detect_faces(rgb, device)
    if any(max(d.box[2] - d.box[0], d.box[3] - d.box[1]) > CLOSE_UP * min(h, w) for d in detections):
        scale = min(1.0, CLOSE_UP_SIDE / max(h, w))  # the models see 128 and 192 pixels: no need for a 4K frame
        small = resize(rgb, max(1, round(h * scale)), max(1, round(w * scale))) if scale < 1 else rgb
        sh, sw = small.shape[:2]
        top, left = (SURROUND - 1) * sh // 2, (SURROUND - 1) * sw // 2
        framed = np.zeros((SURROUND * sh, SURROUND * sw, rgb.shape[2]), np.float32)
        framed[top:top + sh, left:left + sw] = small
        offset = np.float32([left, top])
        faces = [face_landmarks(framed, d, device).back(offset, scale) for d in detect_faces(framed, device)]
    else:
        faces = [face_landmarks(rgb, d, device) for d in detections]
    return [f for f in faces if f.presence >= MIN_PRESENCE]
