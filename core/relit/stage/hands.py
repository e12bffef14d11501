"""Hands near the face and folded arms: one arm raised so that its hand rests at the chin, over the mouth,
on a cheek or at a temple, or both arms folded across the chest, each hand on the other's upper arm (real
portraits often have either; mattes and normals hole where a hand meets a face or arms cross a body).

anny has no inverse kinematics, but its skinning is differentiable: the upper arm's, forearm's and
wrist's rotations are found by gradient descent on the distance from the hand's centre to a point placed
in the head's frame (``person.head_frame``) or, folded, by the other shoulder, so the pose follows each
body's proportions and head pose.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STREAM = 0x4A4E  # the hands' draws come from a generator of their own: --hands 0 renders a seed as before
# place: where the hand's centre goes and which way its fingers point, in the head frame, for a person's
# *left* hand (right, up, forward; metres from between the eyes), mirrored for the right hand; the centre
# drawn with a jitter of up to JITTER per axis
PLACES = {"chin": ((0.0, -0.14, 0.06), (0.0, 1.0, -0.4)), "mouth": ((0.0, -0.075, 0.08), (-1.0, 0.4, 0.0)),
          "cheek": ((0.095, -0.06, 0.0), (0.0, 1.0, -0.2)), "temple": ((0.10, 0.03, -0.035), (0.0, 0.7, -0.7))}
JITTER = 0.012
FOLDED = "folded"
ARMS_STREAM = 0x4641  # folded arms draw from a stream of their own too: --arms 0 renders a seed as before
# folded arms: the left hand's centre from the right shoulder joint in the body's axes (relit's: x toward the
# person's left, y up, z forward; z from the chest's front) and the way its fingers point (outward, around
# the back of the arm), mirrored for the right hand; the forearm on top crosses OVER the other, higher and
# in front of it
FOLDED_PLACE = ((0.02, -0.20, 0.06), (-0.6, 0.0, -1.0))
OVER = (0.0, 0.035, 0.05)
BONES = ("upperarm01", "lowerarm01", "wrist")  # rotated, each about its own rest frame
STEPS, RATE = 40, 0.08  # Adam from STARTS
TIP_WEIGHT = 0.5  # the fingers' direction matters less than where the hand is
FINGERTIPS = 0.15  # the share of the hand's vertices farthest down the hanging arm
# the rotation vectors of BONES (radians, each bone's own frame) that put one person's hand at each place:
# where each search starts (scripts/hand_starts.py prints them)
STARTS: dict[tuple[str, str], tuple[tuple[float, float, float], ...]] = {
    ("chin", "L"): ((-0.107, 0.533, -0.593), (-0.618, 0.677, -0.875), (-0.456, 0.473, -0.618)),
    ("chin", "R"): ((-0.190, -0.455, 0.595), (-0.709, -0.620, 0.931), (-0.453, -0.419, 0.593)),
    ("mouth", "L"): ((-0.426, 0.348, -0.717), (-0.699, 0.508, -0.909), (-0.134, 0.382, -0.358)),
    ("mouth", "R"): ((-0.519, -0.259, 0.725), (-0.737, -0.507, 0.904), (-0.111, -0.456, 0.335)),
    ("cheek", "L"): ((-0.431, 0.504, -0.721), (-0.888, 0.480, -1.095), (-0.439, 0.125, -0.528)),
    ("cheek", "R"): ((-0.602, -0.428, 0.771), (-0.921, -0.419, 1.055), (-0.393, -0.129, 0.458)),
    ("temple", "L"): ((-0.758, 0.665, -1.016), (-0.744, 0.539, -0.941), (-0.411, 0.284, -0.483)),
    ("temple", "R"): ((-0.859, -0.662, 1.056), (-0.711, -0.508, 0.884), (-0.388, -0.294, 0.449)),
    ("folded", "L"): ((0.116, 0.083, -0.312), (-0.161, 0.763, -0.581), (0.228, 0.742, -0.178)),
    ("folded", "R"): ((0.105, -0.123, 0.328), (-0.158, -0.769, 0.582), (0.218, -0.735, 0.176)),
}
STIFFNESS = 1e-3  # keeps the rotations small where the place leaves them free (squared radians)


@dataclass(frozen=True)
class HandPose:
    side: str  # anny's "L" or "R": the person's own left or right
    place: str  # a key of PLACES, or FOLDED
    local: tuple[float, float, float]  # the hand's centre in the head frame (folded: from the other shoulder,
    # FOLDED_PLACE's axes), jitter included
    fingers: tuple[float, float, float]  # the way its fingers point, in the same axes, unit length


def hand_pose(side: str, place: str, centre, fingers, jitter=(0.0, 0.0, 0.0)) -> HandPose:
    """A hand at a place given for the person's left hand (``PLACES``, ``FOLDED_PLACE``), mirrored for the
    right, its centre moved by ``jitter`` and its fingers' direction made unit length."""
    mirror = np.array([1.0 if side == "L" else -1.0, 1.0, 1.0])
    centre = np.array(centre) * mirror + np.array(jitter)
    fingers = np.array(fingers) * mirror
    return HandPose(side, place, tuple(float(x) for x in centre),
                    tuple(float(x) for x in fingers / np.linalg.norm(fingers)))


def sample_hand(seed: int, share: float) -> HandPose | None:
    """A seed's raised hand: none, or (``share`` of people) a side and a place. With a share of 0 nothing
    is drawn at all."""
    rng = np.random.default_rng([seed, STREAM])
    if not share or rng.uniform() >= share:
        return None
    side = "L" if rng.uniform() < 0.5 else "R"
    place = str(rng.choice(list(PLACES)))
    return hand_pose(side, place, *PLACES[place], rng.uniform(-JITTER, JITTER, 3))


def sample_arms(seed: int, share: float) -> tuple[HandPose, ...]:
    """A seed's folded arms: none, or (``share`` of people) both hands, either forearm on top. With a share of
    0 nothing is drawn at all."""
    rng = np.random.default_rng([seed, ARMS_STREAM])
    if not share or rng.uniform() >= share:
        return ()
    over = "L" if rng.uniform() < 0.5 else "R"
    centre, fingers = FOLDED_PLACE
    return tuple(hand_pose(side, FOLDED, np.add(centre, OVER) if side == over else centre, fingers,
                           rng.uniform(-JITTER, JITTER, 3)) for side in ("L", "R"))


def _axis_angle(w):
    """Rodrigues' rotation matrix of a rotation vector (torch, differentiable; finite at zero)."""
    import torch
    angle = torch.sqrt((w * w).sum() + 1e-12)
    k = w / angle
    zero = torch.zeros((), dtype=w.dtype)
    cross = torch.stack([torch.stack([zero, -k[2], k[1]]), torch.stack([k[2], zero, -k[0]]),
                         torch.stack([-k[1], k[0], zero])])
    return torch.eye(3, dtype=w.dtype) + torch.sin(angle) * cross + (1 - torch.cos(angle)) * cross @ cross


def raise_hand(pose_vertices, pose, bone_labels: list[str], hand: np.ndarray, fingertips: np.ndarray,
               side: str, centre: np.ndarray, fingers: np.ndarray,
               start: tuple[tuple[float, float, float], ...] | None = None, steps: int = STEPS) -> tuple:
    """``pose`` (1, bones, 4, 4) with the side's arm turned so that the mean of the ``hand`` vertices comes
    to ``centre`` and the mean of its ``fingertips`` lies ``fingers`` (a direction) from it, as far as in
    ``pose`` (anny's frame); ``pose_vertices(pose)`` is anny's skinning: (V, 3) vertices. Starts from the
    ``start`` rotation vectors of BONES (zero: the arm as it hangs). Returns the pose, the rotation vectors
    found and how far (metres) the hand's centre ended from ``centre``."""
    import torch
    start = start or ((0.0, 0.0, 0.0),) * len(BONES)
    rotations = {bone: torch.tensor(w, dtype=pose.dtype, requires_grad=True) for bone, w in zip(BONES, start)}
    optimiser = torch.optim.Adam(list(rotations.values()), lr=RATE)
    with torch.no_grad():
        rest = pose_vertices(pose)
    reach = float(torch.linalg.norm(rest[fingertips].mean(0) - rest[hand].mean(0)))
    goal = torch.as_tensor(centre, dtype=pose.dtype)
    tip_goal = goal + reach * torch.as_tensor(fingers, dtype=pose.dtype)

    def turned() -> torch.Tensor:
        rows = list(pose[0].unbind(0))
        for bone, w in rotations.items():
            i = bone_labels.index(f"{bone}.{side}")
            r = rows[i][:3, :3] @ _axis_angle(w)
            rows[i] = torch.cat([torch.cat([r, rows[i][:3, 3:]], 1), rows[i][3:]], 0)
        return torch.stack(rows)[None]

    for _ in range(steps):
        v = pose_vertices(turned())
        miss, tip_miss = v[hand].mean(0) - goal, v[fingertips].mean(0) - tip_goal
        loss = (miss * miss).sum() + TIP_WEIGHT * (tip_miss * tip_miss).sum() + \
            STIFFNESS * sum((w * w).sum() for w in rotations.values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        final = turned()
        miss = float(torch.linalg.norm(pose_vertices(final)[hand].mean(0) - goal))
    return final, tuple(tuple(round(float(x), 3) for x in w.detach()) for w in rotations.values()), miss
