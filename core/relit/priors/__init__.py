"""Prior passes from real-trained models: what a photo's faces and person look like to networks trained
on real photos (MediaPipe's face detector, face mesh and selfie segmentation, run by ONNX Runtime).

They exist on any photo, and the same code computes them on a virtual-light-stage render and on a real
plate, so the passes network (or a fusion with its passes) can learn or be told when to trust them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..colour import Image, srgb_space
from ..upsample import Resized
from .face import Face, find_faces
from .mesh import FacePasses, face_passes
from .person import person_probability


@dataclass(frozen=True)
class Priors:
    """Per-frame prior passes and the faces they came from: the face mesh's passes (held in the faces'
    bounding box) and the probability of a person, (H, W, 1) at the plate's resolution (made a window
    at a time as it is read, or an array)."""

    mesh: FacePasses
    person: Resized | np.ndarray
    faces: tuple[Face, ...]

    def passes(self) -> dict[str, np.ndarray]:
        """The prior passes at the plate's resolution, by name (``relit.passes.PRIOR_PASSES``)."""
        mesh = self.mesh.crop()
        return {"face_normals": mesh.normals, "face_depth": mesh.depth, "face": mesh.coverage,
                "person": np.asarray(self.person)}


PRIOR_CHANNELS = 5  # what a passes network that takes the priors sees: face normals (3), face, person
PRIOR_MIRROR_SIGNS = np.float32([-1, 1, 1, 1, 1])  # a mirrored plate's face normals point the other way in x


def network_input(priors: Priors, window: tuple[slice, slice] = (slice(None), slice(None))) -> np.ndarray:
    """(H, W, PRIOR_CHANNELS) the priors (of the plate's ``window``) as a passes network takes them, made by
    this one function for training samples and for plates."""
    mesh = priors.mesh.crop(window)
    return np.concatenate([mesh.normals, mesh.coverage, priors.person[window]], -1).astype(np.float32)


def display_rgb(image: Image) -> np.ndarray:
    """The plate as the real-trained models saw photos in training: sRGB-encoded, in [0, 1]."""
    return np.clip(image.to(srgb_space(image.config)).pixels[..., :3], 0, 1)


def compute_priors(image: Image, device: str | None = None,
                   steady: Callable[[list[Face]], list[Face]] | None = None) -> Priors:
    """The priors of a plate; of a sequence's frame with ``steady``, its faces steadied along the frames
    before (``relit.estimate.Steadying``)."""
    rgb = display_rgb(image)
    faces = find_faces(rgb, device)
    if steady is not None:
        faces = steady(faces)
    mesh = face_passes(faces, image.height, image.width)
    return Priors(mesh, person_probability(rgb, device), tuple(faces))
