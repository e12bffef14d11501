"""Face-mesh passes: the landmarks of every face rasterized at the plate's resolution as camera-space
normals (+X right, +Y up, +Z toward the camera), a relative depth and a coverage mask.

The face mesh is weak-perspective: x and y are the image's pixels and MediaPipe's z is in the same
pixel units as x (MediaPipe's documentation; the landmark model's z over its 192-pixel crop, times the
crop's side in pixels). It is rasterized orthographically, one scene unit per pixel, with z times
``Z_SCALE`` toward the camera. Normals are smooth (area-weighted at the vertices, interpolated); the eyes
and lips, holes in MediaPipe's mesh, are closed by a fan around their centre.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..camera import Camera
from ..models import WEIGHTS
from ..raster import rasterize
from .face import Face

TOPOLOGY = WEIGHTS / "face_mesh.json"  # triangles from MediaPipe's edge list (scripts/face_mesh_topology.py)
Z_SCALE = 1.0  # MediaPipe's z to camera-space units of x
# pixels: a face narrower than this is rasterized with 2x2 samples a pixel, a larger one with one. Its
# mesh has about thirty vertices across and the fusion fades it in over a tenth of its size, so past
# this size an antialiased outline changes nothing but the time (a 1080p close-up's face: 4x)
SUPERSAMPLE_BELOW = 256


@dataclass(frozen=True)
class FacePasses:
    """Face-mesh passes of an (H, W) plate, held in the faces' bounding box (a wide shot's faces are a
    small part of it, and at 8K each full-size pass is a quarter of a GB or more): (h, w, 3) normals,
    (h, w, 1) depth in pixels behind the nearest face point (0 where no face) and (h, w, 1) coverage, the
    box's top-left pixel at ``origin``. Outside the box there is no face: normals face the camera, depth
    and coverage are 0."""

    normals: np.ndarray
    depth: np.ndarray
    coverage: np.ndarray
    origin: tuple[int, int] = (0, 0)
    shape: tuple[int, int] | None = None  # the plate's (H, W); the box's own when None (the box is the plate)

    def __post_init__(self) -> None:
        if self.shape is None:
            object.__setattr__(self, "shape", self.coverage.shape[:2])

    @property
    def box(self) -> tuple[slice, slice]:
        """The box's rows and columns in the plate."""
        (top, left), (h, w) = self.origin, self.coverage.shape[:2]
        return slice(top, top + h), slice(left, left + w)

    def crop(self, window: tuple[slice, slice] = (slice(None), slice(None))) -> FacePasses:
        """The passes of the plate's ``window`` (a box of its own, at the window's origin)."""
        assert self.shape is not None
        (top, bottom, _), (left, right, _) = (part.indices(size) for part, size in zip(window, self.shape))
        h, w = bottom - top, right - left
        normals = np.broadcast_to(np.float32([0, 0, 1]), (h, w, 3)).copy()
        depth, coverage = np.zeros((h, w, 1), np.float32), np.zeros((h, w, 1), np.float32)
        rows = slice(max(self.box[0].start, top), min(self.box[0].stop, bottom))
        cols = slice(max(self.box[1].start, left), min(self.box[1].stop, right))
        if rows.start < rows.stop and cols.start < cols.stop:
            here = slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left)
            there = (slice(rows.start - self.origin[0], rows.stop - self.origin[0]),
                     slice(cols.start - self.origin[1], cols.stop - self.origin[1]))
            normals[here], depth[here], coverage[here] = \
                self.normals[there], self.depth[there], self.coverage[there]
        return FacePasses(normals, depth, coverage, (top, left), self.shape)


@lru_cache(maxsize=1)
def topology() -> tuple[np.ndarray, list[np.ndarray]]:
    """The mesh's triangles (F, 3) and its inner holes (eyes, lips) as vertex loops."""
    data = json.loads(TOPOLOGY.read_text())
    return np.asarray(data["triangles"], np.int64), [np.asarray(h, np.int64) for h in data["holes"]]


def closed_mesh(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (468 + holes, 3) and triangles of a face's mesh with its eyes and lips closed, in
    MediaPipe's image coordinates."""
    triangles, holes = topology()
    vertices, faces = [landmarks], [triangles]
    for k, loop in enumerate(holes):
        centre = len(landmarks) + k
        vertices.append(landmarks[loop].mean(axis=0, keepdims=True))
        faces.append(np.stack([loop, np.roll(loop, -1), np.full_like(loop, centre)], -1))
    return np.concatenate(vertices).astype(np.float32), np.concatenate(faces)


def face_passes(faces: list[Face], height: int, width: int) -> FacePasses:
    """Every face's mesh rasterized together (a larger face is taken as nearer where two overlap), in the
    faces' bounding box: a close-up's face fills the frame, a wide shot's is a fraction of it."""
    meshes = [closed_mesh(face.landmarks) for face in faces]
    x0 = y0 = x1 = y1 = 0
    if meshes:
        corners = np.concatenate([v[:, :2] for v, _ in meshes])
        x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int), (width, height))
    if x1 <= x0 or y1 <= y0:  # no face, or none inside the plate
        empty = np.zeros((0, 0, 1), np.float32)
        return FacePasses(np.zeros((0, 0, 3), np.float32), empty, empty, (0, 0), (height, width))
    h, w = y1 - y0, x1 - x0
    far = 4.0 * max(h, w)  # every face in front of the orthographic camera
    all_vertices, all_faces, offset, smallest = [], [], 0, np.inf
    for vertices, triangles in meshes:
        spread = np.ptp(vertices[:, :2], axis=0).max()
        smallest = min(smallest, spread)
        camera_space = np.stack([vertices[:, 0] - x0 - w / 2, h / 2 - (vertices[:, 1] - y0),
                                 -(far - spread + vertices[:, 2] * Z_SCALE)], -1)
        cross = np.cross(camera_space[triangles[:, 1]] - camera_space[triangles[:, 0]],
                         camera_space[triangles[:, 2]] - camera_space[triangles[:, 0]])
        if cross[:, 2].sum() < 0:  # wound away from the camera: the face's front is +Z
            triangles = triangles[:, ::-1]
        all_vertices.append(camera_space)
        all_faces.append(triangles + offset)
        offset += len(camera_space)
    stack = rasterize(np.concatenate(all_vertices), np.concatenate(all_faces), Camera(0.0, float(w)), h, w,
                      samples=2 if smallest < SUPERSAMPLE_BELOW else 1)
    inside = stack.alpha > 0
    normals = np.where(inside, stack.normals, np.float32([0, 0, 1]))
    depth = np.where(inside, stack.depth - stack.depth[inside[..., 0]].min(), 0).astype(np.float32)
    return FacePasses(normals.astype(np.float32), depth, stack.alpha, (int(y0), int(x0)), (height, width))
