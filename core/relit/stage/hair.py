"""Procedural hair as curves for Mitsuba, because matting lives or dies on hair.

Roots are spread over the scalp of the person's mesh with the arms down (area-weighted: a hand raised to
the head grows no hair, and the head is the same either way), strands grow out from the scalp,
fall under gravity, curl if the style says so and are kept outside an ellipsoid around the head.
Thin strands cover a fraction of a pixel, so the rendered alpha is fractional at the hair's edges.
"""
from __future__ import annotations

import numpy as np

from .look import Look, region_mask
from .person import REGIONS, HeadFrame, Person

POINTS_PER_STRAND = 10
STRAND_RADIUS = 0.00012  # metres: thicker than real hair, so low resolutions still see strands
FLYAWAY_SHARE = 0.006
FACE_HALF_WIDTH = 0.075  # metres: hair does not fall in front of the face
BROW_STRANDS = 550  # per brow, at the thickest
BROW_SPAN = (-0.012, 0.030)  # metres from the eye's centre, toward the nose (-) and the temple (+)
BROW_HEIGHT = 0.019  # metres above the eye's centre, at the arch


def _scalp(person: Person) -> np.ndarray:
    """Skin triangles above the hairline (higher at the front than at the back)."""
    centre = person.rest[person.faces].mean(axis=1)
    y, z = centre[:, 1], centre[:, 2]
    hairline = 0.055 - 0.12 * (1 - np.clip((z + 0.09) / 0.16, 0, 1))  # front +5.5 cm, back -6.5 cm
    head = np.abs(centre[:, 0]) < 0.11
    ears = (np.abs(centre[:, 0]) > 0.065) & (y < 0.02) & (z < 0.03)
    return np.flatnonzero((person.region == REGIONS.index("skin")) & head & (y > hairline) & ~ears)


def _roots(person: Person, triangles: np.ndarray, count: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """``count`` points spread uniformly over the given triangles of the mesh (area-weighted) and the smooth
    normals there: where strands grow from."""
    tri = person.rest[person.faces[triangles]]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    pick = rng.choice(len(triangles), count, p=area / area.sum())
    a, b = rng.uniform(size=(2, count, 1))
    flip = (a + b) > 1
    a, b = np.where(flip, 1 - a, a), np.where(flip, 1 - b, b)
    roots = tri[pick, 0] + a * (tri[pick, 1] - tri[pick, 0]) + b * (tri[pick, 2] - tri[pick, 0])
    normals = person.normals[person.faces[triangles[pick]]].mean(axis=1)
    return roots, normals / np.linalg.norm(normals, axis=1, keepdims=True)


def _along_skin(comb: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Unit directions in the skin's tangent plane, as near as can be to ``comb``."""
    tangent = comb - np.sum(comb * normals, axis=1, keepdims=True) * normals
    return tangent / np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)


def strands(person: Person, look: Look, rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, POINTS_PER_STRAND, 3) control points; empty for a bald look."""
    scalp = _scalp(person)
    if look.hair_length <= 0 or scalp.size == 0:
        return np.zeros((0, POINTS_PER_STRAND, 3), np.float32)
    roots, normals = _roots(person, scalp, count, rng)
    flyaway = rng.uniform(size=(count, 1)) < FLYAWAY_SHARE
    length = look.hair_length * rng.uniform(0.7, 1.1, (count, 1)) * np.where(flyaway, 0.5, 1.0)
    gravity = np.array([0.0, -1.0, 0.0])
    # Hair leaves the scalp nearly flat, combed down and back, with a little lift (volume).
    comb = np.array([0.0, -1.0, -0.6]) + rng.normal(0, 0.25, (count, 3))
    tangent = _along_skin(comb, normals)
    lift = rng.uniform(0.1, 0.3, (count, 1))
    lift = np.where(flyaway, rng.uniform(0.6, 1.2, (count, 1)), lift)  # flyaways rise off the head, then arc
    direction = tangent + lift * normals
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    step = length / (POINTS_PER_STRAND - 1)
    radii = np.array([0.088, 0.118, 0.105])  # head ellipsoid (x, y, z) around the origin
    points = [roots]
    phase = rng.uniform(0, 2 * np.pi, (count, 1))
    for k in range(1, POINTS_PER_STRAND):
        bend = 0.0 if look.hair_length < 0.02 else 0.35
        direction = direction + gravity * bend
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        p = points[-1] + direction * step
        if look.hair_curl > 0:
            side = np.cross(direction, normals)
            side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-9)
            p = p + side * look.hair_curl * np.sin(phase + k * 1.3)
        face = (p[:, 2] > 0.0) & (np.abs(p[:, 0]) < FACE_HALF_WIDTH) & (p[:, 1] < 0.05)
        p[:, 2] = np.where(face, 0.0, p[:, 2])  # nothing falls in front of the face: back to the cheek line
        scaled = np.linalg.norm(p / (radii * (1.01 + 0.015 * k / POINTS_PER_STRAND)), axis=1, keepdims=True)
        p = np.where(scaled < 1, p / scaled, p)  # stay outside the head (which also moves them to the sides)
        points.append(p)
    return np.stack(points, axis=1).astype(np.float32)


def eyebrows(person: Person, look: Look, rng: np.random.Generator) -> np.ndarray:
    """(n, POINTS_PER_STRAND, 3) short strands on the brow ridge above each eye, lying along the skin:
    rising near the nose, combed toward the temple further out, thinning at the tail."""
    eyes = person.rest[person.faces[person.region == REGIONS.index("eye_front")]].mean(axis=1)
    skin = np.flatnonzero(person.region == REGIONS.index("skin"))
    tri = person.rest[person.faces[skin]]
    centre = tri.mean(axis=1)
    out = []
    for side in (-1.0, 1.0):
        mine = eyes[np.sign(eyes[:, 0]) == side]
        if not len(mine):
            continue
        eye = mine.mean(axis=0)
        s = ((centre[:, 0] - eye[0]) * side - BROW_SPAN[0]) / (BROW_SPAN[1] - BROW_SPAN[0])  # 0 at the nose end
        arch = eye[1] + BROW_HEIGHT * (0.8 + 0.35 * np.sin(np.pi * np.clip(s, 0, 1) ** 0.8) - 0.25 * np.clip(s, 0, 1))
        half = 0.0032 * (1 - 0.6 * np.clip(s, 0, 1)) * look.brow_thickness  # thinner toward the tail
        band = skin[(s >= 0) & (s <= 1) & (np.abs(centre[:, 1] - arch) < half) & (centre[:, 2] > eye[2] - 0.012)]
        if not len(band):
            continue
        count = int(BROW_STRANDS * look.brow_density)
        roots, normals = _roots(person, band, count, rng)
        along = np.clip(((roots[:, 0] - eye[0]) * side - BROW_SPAN[0]) / (BROW_SPAN[1] - BROW_SPAN[0]), 0, 1)[:, None]
        angle = np.radians(70 - 85 * along + rng.normal(0, 12, (count, 1)))  # up at the nose, out and down after
        comb = np.concatenate([side * np.cos(angle), np.sin(angle), np.zeros_like(angle)], axis=1)
        tangent = _along_skin(comb, normals)
        length = rng.uniform(0.004, 0.007, (count, 1))
        k = np.linspace(0, 1, POINTS_PER_STRAND)[None, :, None]
        lift = 0.25 * np.sin(np.pi * k)  # off the skin and back onto it
        points = roots[:, None] + length[:, None] * (tangent[:, None] * k + normals[:, None] * (0.02 + lift * 0.25))
        out.append(points)
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, POINTS_PER_STRAND, 3), np.float32)


def beard(person: Person, frame: HeadFrame, rng: np.random.Generator, count: int,
          length: tuple[float, float]) -> np.ndarray:
    """(count, points, 3) strands over the jaw, chin, upper lip and cheeks up to a line rising to the
    sideburns, the lips left bare: combed down, standing off the skin; long ones (a full beard) fall
    under gravity. A strand has a point per 2 mm of the longest (3 to POINTS_PER_STRAND): Mitsuba's
    curves lose samples (NaN light, alpha under 1 on the face) on segments not much longer than
    their radius."""
    skin = np.flatnonzero(person.region == REGIONS.index("skin"))
    local = frame.local(person.rest[person.faces[skin]].mean(axis=1))
    right, up, forward = np.abs(local[:, 0]), local[:, 1], local[:, 2]
    lips = frame.local(frame.lips)[1]
    cheek_line = lips + 0.02 + np.clip((right - 0.025) / 0.045, 0, 1) * (-0.01 - lips - 0.02)
    zone = (right < 0.075) & (forward > -0.075) & (up < cheek_line) & (up > lips - 0.1) & \
        (region_mask("lips", person.uvs[skin].mean(axis=1)) < 0.3)
    points = int(np.clip(round(length[1] / 0.002) + 1, 3, POINTS_PER_STRAND))
    if not zone.any():
        return np.zeros((0, points, 3), np.float32)
    roots, normals = _roots(person, skin[zone], count, rng)
    tangent = _along_skin(np.broadcast_to(-frame.up, roots.shape) + rng.normal(0, 0.3, roots.shape), normals)
    long = length[1] > 0.015
    direction = tangent + normals * (0.35 if long else 0.6)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    step = rng.uniform(*length, (count, 1)) / (points - 1)
    out = [roots + normals * 0.0003]
    for _ in range(1, points):
        if long:
            direction = direction + np.array([0.0, -0.3, 0.0])
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        out.append(out[-1] + direction * step)
    return np.stack(out, axis=1).astype(np.float32)


def write_curves(points: np.ndarray, path: str) -> None:
    """Mitsuba's curve file: one 'x y z radius' line per control point, a blank line between strands."""
    radius = np.linspace(STRAND_RADIUS, STRAND_RADIUS * 0.5, points.shape[1])
    with open(path, "w") as f:
        for strand in points:
            f.write("\n".join(f"{x:.6f} {y:.6f} {z:.6f} {r:.7f}" for (x, y, z), r in zip(strand, radius)))
            f.write("\n\n")
