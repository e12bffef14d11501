"""Face landmarks steadied over the frames of a plate, as MediaPipe steadies them for video.

Each frame's face mesh is fitted anew, and its landmarks jitter by a fraction of a pixel to a few
pixels; the face-mesh normals, and the face's albedo divided from the plate by a light fitted on them,
jitter with them. MediaPipe's face mesh graphs for video smooth the landmarks with a relative-velocity
filter (``LandmarksSmoothingCalculator``, ``velocity_filter { window_size: 5 velocity_scale: 20 }``):
each coordinate is low-passed with a weight for the new value of ``1 - 1 / (1 + 20 |v|)``, where ``v`` is
the coordinate's signed displacement summed over the last few frames, per second, in units of the face's
size. Jitter cancels in that sum and is smoothed hard; a face that moves moves the sum and is followed
with little lag. relit applies the same filter, frames taken 1/30 s apart (the frame time MediaPipe's
tuning assumes), but only to a face whose change the caller finds explained by its motion: the filter
keeps part of the landmarks of the frames before, which a face that changed (a hand across it, part of
it turned away) must not show.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .face import Face

WINDOW = 5  # frames of displacement summed into a velocity (MediaPipe's window_size)
VELOCITY_SCALE = 20.0  # how fast the new value's weight grows with velocity (MediaPipe's velocity_scale)
FRAME_TIME = 1 / 30  # seconds between frames (MediaPipe's assumed frame time)
SAME_FACE = 0.5  # a face is the same face as one of the frame before within this fraction of its size
DETECTION_POINTS = 8  # filtered after the landmarks: the detection box's two corners and six keypoints


def face_size(landmarks: np.ndarray) -> float:
    """The landmarks' object scale as MediaPipe takes it: the mean of their box's width and height."""
    return float(np.ptp(landmarks[:, 0]) + np.ptp(landmarks[:, 1])) / 2


@dataclass
class _Track:
    """One face's filter: its last raw points (``_points``), its last output, and the displacements (in
    face sizes) of the frames before, newest first."""

    raw: np.ndarray
    out: np.ndarray
    steps: deque[np.ndarray] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def follow(self, points: np.ndarray) -> np.ndarray:
        size = max(face_size(points[:-DETECTION_POINTS]), 1e-6)
        step = (points - self.raw) / size  # MediaPipe's value scale: 1 / the face's size
        velocity = (step + sum(self.steps, np.zeros_like(step))) / ((1 + len(self.steps)) * FRAME_TIME)
        new = 1 - 1 / (1 + VELOCITY_SCALE * np.abs(velocity))
        self.steps.appendleft(step)
        self.raw = points
        self.out = (new * points + (1 - new) * self.out).astype(np.float32)
        return self.out


def _points(face: Face) -> np.ndarray:
    """(landmarks + DETECTION_POINTS, 3): the face's landmarks, then its detection box's corners and
    keypoints (z 0): the box places the face's crop (``relit.estimate``), whose passes move with it."""
    flat = np.zeros((DETECTION_POINTS, 3), np.float32)
    flat[:2, :2], flat[2:, :2] = face.detection.box.reshape(2, 2), face.detection.keypoints
    return np.concatenate([face.landmarks, flat])


def _face(face: Face, points: np.ndarray) -> Face:
    n = len(face.landmarks)
    detection = replace(face.detection, box=points[n:n + 2, :2].reshape(4), keypoints=points[n + 2:, :2])
    return replace(face, landmarks=points[:n], detection=detection)


Explained = Callable[[np.ndarray, np.ndarray], bool]


def _always(before: np.ndarray, now: np.ndarray) -> bool:
    return True


class LandmarkFilter:
    """Steadies the faces of successive frames (call it on each frame's faces, in order): each face is
    matched to the nearest face of the frame before (its landmarks' centre within ``SAME_FACE`` of its
    size) and, where ``explained`` says the plate's change there is the face's motion (given the track's
    last raw landmarks and the face's, (N, 3) each), its landmarks and detection are filtered along that
    face's track. A face with no match, or whose change the motion does not explain (a hand across it, a
    cut), starts a track of its own as it is; a track with no face this frame ends. ``continued`` says,
    face by face, which were filtered."""

    def __init__(self) -> None:
        self._tracks: list[_Track] = []
        self.continued: list[bool] = []

    def __call__(self, faces: list[Face], explained: Explained = _always) -> list[Face]:
        tracks, out, self.continued = [], [], []
        free = list(self._tracks)
        for face in faces:
            centre, size = face.landmarks[:, :2].mean(axis=0), face_size(face.landmarks)
            distance = [float(np.hypot(*(t.raw[:-DETECTION_POINTS, :2].mean(axis=0) - centre))) for t in free]
            points = _points(face)
            nearest = free.pop(int(np.argmin(distance))) if distance and min(distance) < SAME_FACE * size else None
            if nearest is not None and explained(nearest.raw[:-DETECTION_POINTS], face.landmarks):
                track, points = nearest, nearest.follow(points)
            else:
                track = _Track(points, points)
            tracks.append(track)
            self.continued.append(track is nearest)
            out.append(_face(face, points))
        self._tracks = tracks
        return out
