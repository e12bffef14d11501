"""Prior passes from real-trained models: what a photo's faces and person look like to networks trained
on real photos (MediaPipe's face detector, face mesh and selfie segmentation, run by ONNX Runtime).

They exist on any photo, and the same code computes them on a virtual-light-stage render and on a real
plate, so the passes network (or a fusion with its passes) can learn or be told when to trust them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..colour import Image, srgb_space
from .face import Face, find_faces
from .mesh import face_passes
from .person import person_probability


@dataclass(frozen=True)
class Priors:
    """Per-frame prior passes at the plate's resolution, and the faces they came from."""

    face_normals: np.ndarray  # (H, W, 3) camera space; camera-facing where there is no face
    face_depth: np.ndarray  # (H, W, 1) pixels behind the face's nearest point; 0 where no face
    face: np.ndarray  # (H, W, 1) face-mesh coverage in [0, 1]
    person: np.ndarray  # (H, W, 1) probability of a person
    faces: tuple[Face, ...]


PRIOR_CHANNELS = 5  # what a passes network that takes the priors sees: face normals (3), face, person
PRIOR_MIRROR_SIGNS = np.float32([-1, 1, 1, 1, 1])  # a mirrored plate's face normals point the other way in x


def network_input(priors: Priors, window: tuple[slice, slice] = (slice(None), slice(None))) -> np.ndarray:
    """(H, W, PRIOR_CHANNELS) the priors (of the plate's ``window``) as a passes network takes them, made by
    this one function for training samples and for plates."""
    return np.concatenate([priors.face_normals[window], priors.face[window], priors.person[window]],
                          -1).astype(np.float32)


def display_rgb(image: Image) -> np.ndarray:
    """The plate as the real-trained models saw photos in training: sRGB-encoded, in [0, 1]."""
    return np.clip(image.to(srgb_space(image.config)).pixels[..., :3], 0, 1)


def compute_priors(image: Image, device: str | None = None) -> Priors:
    rgb = display_rgb(image)
    faces = find_faces(rgb, device)
    mesh = face_passes(faces, image.height, image.width)
    return Priors(mesh.normals, mesh.depth, mesh.coverage, person_probability(rgb, device), tuple(faces))
