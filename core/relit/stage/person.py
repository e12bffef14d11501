"""People from anny: a random phenotype, facial expression and head pose, cropped to head and shoulders.

Meshes are in metres in relit's frame (Y up, facing +Z), the head's bounding-box centre at the
origin. Triangles keep anny's per-corner UVs (for MakeHuman's region masks) and a region label.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import RelitError
from .hands import FINGERTIPS, FOLDED, STARTS, HandPose, raise_hand
from .hands import STEPS as HAND_STEPS

CROP_BELOW_TOP = 1.0  # metres of body kept below the top of the head: enough for half-body framing
NECK_BELOW_TOP = 0.27  # below this, body triangles are clothed (but the hands)
REGIONS = ("skin", "cloth", "eye_front", "eye_back", "mouth")
_ANNY_LABELS = {"eye_front": ("eye_front.L", "eye_front.R"), "eye_back": ("eye_back.L", "eye_back.R"),
                "mouth": ("mouth_cavity", "tongue", "eye_cavity.L", "eye_cavity.R")}
POSE_BONES = {"neck01": 8.0, "neck02": 6.0, "head": 12.0}  # bone: max rotation in degrees
# anny's rest pose holds the arms out (an A-pose); about its upper arms' local y they come down to the sides
ARMS_DOWN = (30.0, 45.0)  # degrees, drawn per arm
# Facial expressions as anny's facial action units (ARKit's names): (probability, {unit: (low, high)}); one is
# drawn, left/right units get a little asymmetry, and every face gets some eyelid and gaze variation.
EXPRESSIONS = (
    (0.30, {}),  # neutral
    (0.30, {"mouthSmile": (0.3, 1.0), "cheekSquint": (0.2, 0.6), "eyeSquint": (0.0, 0.4), "jawOpen": (0.0, 0.2)}),
    (0.15, {"jawOpen": (0.08, 0.3), "mouthFunnel": (0.0, 0.3), "mouthLowerDown": (0.0, 0.4)}),  # talking
    (0.12, {"browInnerUp": (0.3, 0.9), "browOuterUp": (0.2, 0.7), "eyeWide": (0.0, 0.5), "jawOpen": (0.0, 0.15)}),
    (0.13, {"browDown": (0.2, 0.7), "mouthFrown": (0.0, 0.5), "mouthPress": (0.0, 0.5), "eyeSquint": (0.0, 0.3)}),
)
ALWAYS = {"eyeBlink": (0.0, 0.15), "eyeLookUp": (0.0, 0.3), "eyeLookDown": (0.0, 0.3)}


@dataclass
class Person:
    vertices: np.ndarray  # (V, 3) float32
    faces: np.ndarray  # (F, 3) int32
    uvs: np.ndarray  # (F, 3, 2) float32 per corner
    region: np.ndarray  # (F,) int8 index into REGIONS
    normals: np.ndarray  # (V, 3) smooth vertex normals
    rest: np.ndarray  # (V, 3) the same vertices with the arms down, where garments decide what they cover: a
    # raised or folded arm is no part of a neckline, a collar's band or the chest a tie lies on
    params: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def _model():
    """anny's default model, built once per process (its first build compiles kernels, about a minute)."""
    try:
        import torch  # noqa: F401
        import warp
        warp.config.quiet = True  # anny's skinning kernels; keep their banner out of relit's output
        import anny
    except ImportError:
        raise RelitError("the virtual light stage needs anny and torch: pip install 'relit[train]'") from None
    from anny.face_segmentation import get_face_segmentation_mask
    warnings.simplefilter("ignore", DeprecationWarning)
    model = anny.Anny(facial_actions="all")
    labels = np.zeros(model.face_texture_coordinate_indices.shape[0], np.int8)  # skin
    for region, names in _ANNY_LABELS.items():
        labels[get_face_segmentation_mask(model, list(names)).numpy()] = REGIONS.index(region)
    hands = get_face_segmentation_mask(model, ["hand.L", "hand.R"]).numpy()
    uv = model.texture_coordinates.numpy()[model.face_texture_coordinate_indices.numpy()].astype(np.float32)
    return model, model.get_triangular_faces().numpy(), uv, labels, hands


def _rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    a = math.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * k @ k


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted smooth normals."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    return (normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def sample_expression(rng: np.random.Generator, labels: list[str]) -> dict[str, float]:
    """Weights of anny's facial action units for one random expression (see EXPRESSIONS)."""
    chance = np.array([p for p, _ in EXPRESSIONS])
    units = {**EXPRESSIONS[int(rng.choice(len(EXPRESSIONS), p=chance / chance.sum()))][1], **ALWAYS}
    weights = {}
    for unit, (low, high) in units.items():
        value = rng.uniform(low, high)
        sides = [unit + "Left", unit + "Right"]
        if all(name in labels for name in sides):
            for name in sides:
                weights[name] = float(np.clip(value + rng.normal(0, 0.08), 0, 1))
        elif unit in labels:
            weights[unit] = float(value)
    return weights


def sample_person(rng: np.random.Generator, hands: tuple[HandPose, ...] = (), steps: int = HAND_STEPS) -> Person:
    """A random adult: anny phenotype (gender, age, muscle, weight, height, proportions), a facial
    expression and a head pose; with ``hands``, each of those arms turned to put its hand where it says
    (``relit.stage.hands``: near the face, or folded; ``steps`` of each search). The hands draw nothing
    from ``rng``."""
    import torch

    model, faces, uvs, labels, hand_faces = _model()
    phenotype = {
        "gender": rng.uniform(0, 1), "age": rng.uniform(0.45, 1.0), "muscle": rng.uniform(0.2, 0.8),
        "weight": rng.uniform(0.2, 0.85), "height": rng.uniform(0.3, 0.7), "proportions": rng.uniform(0.3, 0.7),
    }
    values = [phenotype.get(name, 0.5) for name in model.phenotype_labels]
    expression = sample_expression(rng, list(model.facial_action_labels))
    pose = torch.eye(4, dtype=model.dtype)[None, None].expand(1, model.bone_count, 4, 4).clone()
    angles = {}
    bones = list(model.bone_labels)
    for bone, limit in POSE_BONES.items():
        axis = rng.normal(size=3)
        angles[bone] = float(rng.uniform(-limit, limit))
        pose[0, bones.index(bone), :3, :3] = torch.tensor(_rotation(axis, angles[bone]), dtype=model.dtype)
    for side, sign in (("L", 1.0), ("R", -1.0)):
        bone = f"upperarm01.{side}"
        angles[bone] = float(rng.uniform(*ARMS_DOWN))
        pose[0, bones.index(bone), :3, :3] = torch.tensor(_rotation(np.array([0.0, sign, 0.0]), angles[bone]),
                                                          dtype=model.dtype)

    def skinned(pose: torch.Tensor, output: str = "vertices") -> torch.Tensor:
        return model(pose_parameters=pose, phenotype_kwargs=torch.tensor([values], dtype=model.dtype),
                     facial_actions=expression)[output][0]

    params = {"phenotype": phenotype, "pose_degrees": angles, "facial_actions": expression}
    with torch.no_grad():
        rest = skinned(pose).numpy().astype(np.float64)
    person = _person(rest, rest, faces, uvs, labels, hand_faces, params)
    if not hands:
        return person
    frame = head_frame(person)
    with torch.no_grad():
        joints = _relit_frame(skinned(pose, "bone_poses")[:, :3, 3].numpy().astype(np.float64))
    found = []
    for hand in hands:
        if hand.place == FOLDED:
            centre = _folded_centre(_relit_frame(rest), joints[bones.index(f"upperarm01.{_other(hand.side)}")],
                                    np.asarray(hand.local))
            fingers = np.asarray(hand.fingers)
        else:
            centre = frame.body(np.asarray(hand.local)).astype(np.float64) + _centre(rest)
            fingers = frame.body(np.asarray(hand.fingers)) - frame.origin
        ours = np.unique(faces[hand_faces & _side_faces(rest, faces, hand.side)])
        tips = ours[rest[ours, 2] <= np.quantile(rest[ours, 2], FINGERTIPS)]  # the arm hangs: lowest is farthest
        pose, rotations, miss = raise_hand(skinned, pose, bones, ours, tips, hand.side, _anny_frame(centre),
                                           _anny_frame(fingers), STARTS.get((hand.place, hand.side)), steps)
        found.append({**asdict(hand), "rotations": rotations, "miss": miss})
    with torch.no_grad():
        posed = skinned(pose).numpy().astype(np.float64)
    return _person(posed, rest, faces, uvs, labels, hand_faces, {**params, "hands": found})


def _other(side: str) -> str:
    return "R" if side == "L" else "L"


def _folded_centre(body: np.ndarray, shoulder: np.ndarray, local: np.ndarray, reach: float = 0.03) -> np.ndarray:
    """Where a folded arm's hand goes (relit's axes, anny's origin): ``local`` from the other arm's
    ``shoulder`` joint, its z from the chest's front halfway to the midline (the most forward point of the
    arms-down ``body`` within ``reach`` there)."""
    x, y = shoulder[0] + local[0], shoulder[1] + local[1]
    near = (np.abs(body[:, 0] - x / 2) < reach) & (np.abs(body[:, 1] - y) < reach)
    return np.array([x, y, body[near, 2].max() + local[2]])


def _relit_frame(v: np.ndarray) -> np.ndarray:
    return np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)  # anny: Z up, -Y forward -> relit: Y up, +Z forward


def _anny_frame(v: np.ndarray) -> np.ndarray:
    return np.stack([v[..., 0], -v[..., 2], v[..., 1]], axis=-1)


def _centre(v: np.ndarray) -> np.ndarray:
    """Where relit's origin is in anny's body (in relit's axes): the head's bounding-box centre."""
    v = _relit_frame(v)
    head = v[:, 1] > v[:, 1].max() - 0.25
    return (v[head].min(axis=0) + v[head].max(axis=0)) / 2


def _side_faces(v: np.ndarray, faces: np.ndarray, side: str) -> np.ndarray:
    """Triangles on the person's own left (anny's +X) or right."""
    x = v[faces][:, :, 0].mean(axis=1)
    return x > 0 if side == "L" else x < 0


def _person(v: np.ndarray, rest: np.ndarray, faces: np.ndarray, uvs: np.ndarray, labels: np.ndarray,
            hands: np.ndarray, params: dict) -> Person:
    """The posed vertices ``v`` cropped to what framing uses and moved into relit's frame. Where clothes
    end and where the origin sits are taken from the ``rest`` pose (arms down): a raised arm keeps its
    sleeve and does not move the head, and the rest pose is kept beside the posed one (``Person.rest``)."""
    top = rest[:, 2].max()
    keep = (v[faces][:, :, 2] > top - CROP_BELOW_TOP).all(axis=1)
    f, uv, region = faces[keep], uvs[keep], labels[keep].copy()
    centroid_z = rest[f][:, :, 2].mean(axis=1)
    region[(region == REGIONS.index("skin")) & (centroid_z < top - NECK_BELOW_TOP) & ~hands[keep]] = \
        REGIONS.index("cloth")
    used = np.unique(f)
    remap = np.full(len(v), -1, np.int64)
    remap[used] = np.arange(len(used))
    v = _relit_frame(v[used]) - _centre(rest)
    f = remap[f].astype(np.int32)
    arms_down = (_relit_frame(rest[used]) - _centre(rest)).astype(np.float32)
    return Person(v.astype(np.float32), f, uv, region, vertex_normals(v.astype(np.float32), f), arms_down, params)


LIPS_LEAN = 11.3  # degrees: the lips-to-eyes line leans back from the head's vertical (anny, neutral pose)


@dataclass
class HeadFrame:
    """Where the posed head is and which way it faces, from its own landmarks: origin between the eyes'
    corneas; right (+X), up and forward (where the face looks) unit vectors. Glasses, hats and beards
    are placed in it, so they follow the head's pose."""

    origin: np.ndarray
    right: np.ndarray
    up: np.ndarray
    forward: np.ndarray
    lips: np.ndarray  # the outer lips' centre

    def local(self, points: np.ndarray) -> np.ndarray:
        """Body points (..., 3) as (right, up, forward) coordinates in the frame."""
        return (points - self.origin) @ np.stack([self.right, self.up, self.forward], axis=1)

    def body(self, local: np.ndarray) -> np.ndarray:
        """Frame coordinates (..., 3) back to body points."""
        return (self.origin + local @ np.stack([self.right, self.up, self.forward])).astype(np.float32)


def head_frame(person: Person) -> HeadFrame:
    """The posed head's frame: right along the corneas, up from the lips toward them, leaned by LIPS_LEAN."""
    from .look import region_mask
    corneas = person.vertices[person.faces[person.region == REGIONS.index("eye_front")]].mean(axis=1)
    side = corneas[:, 0] > corneas[:, 0].mean()
    eyes = np.stack([corneas[~side].mean(axis=0), corneas[side].mean(axis=0)])
    origin = eyes.mean(axis=0)
    lips = (region_mask("lips", person.uvs.mean(axis=1)) > 0.5) & (person.region == REGIONS.index("skin"))
    lips = person.vertices[person.faces[lips]].mean(axis=(0, 1))
    right = (eyes[1] - eyes[0]) / np.linalg.norm(eyes[1] - eyes[0])
    up = origin - lips
    up -= (up @ right) * right
    up /= np.linalg.norm(up)
    lean = math.radians(LIPS_LEAN)
    up = up * math.cos(lean) + np.cross(right, up) * math.sin(lean)
    return HeadFrame(origin, right, up, np.cross(right, up), lips)
