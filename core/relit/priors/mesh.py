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


@dataclass(frozen=True)
class FacePasses:
    """Face-mesh passes at the plate's resolution: (H, W, 3) normals (camera-facing where no face),
    (H, W, 1) depth in pixels behind the nearest face point (0 where no face) and (H, W, 1) coverage."""

    normals: np.ndarray
    depth: np.ndarray
    coverage: np.ndarray


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
    normals = np.broadcast_to(np.float32([0, 0, 1]), (height, width, 3)).copy()
    depth, coverage = np.zeros((height, width, 1), np.float32), np.zeros((height, width, 1), np.float32)
    meshes = [closed_mesh(face.landmarks) for face in faces]
    if not meshes:
        return FacePasses(normals, depth, coverage)
    corners = np.concatenate([v[:, :2] for v, _ in meshes])
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int), (width, height))
    if x1 <= x0 or y1 <= y0:
        return FacePasses(normals, depth, coverage)
    h, w = y1 - y0, x1 - x0
    far = 4.0 * max(h, w)  # every face in front of the orthographic camera
    all_vertices, all_faces, offset = [], [], 0
    for vertices, triangles in meshes:
        spread = np.ptp(vertices[:, :2], axis=0).max()
        camera_space = np.stack([vertices[:, 0] - x0 - w / 2, h / 2 - (vertices[:, 1] - y0),
                                 -(far - spread + vertices[:, 2] * Z_SCALE)], -1)
        cross = np.cross(camera_space[triangles[:, 1]] - camera_space[triangles[:, 0]],
                         camera_space[triangles[:, 2]] - camera_space[triangles[:, 0]])
        if cross[:, 2].sum() < 0:  # wound away from the camera: the face's front is +Z
            triangles = triangles[:, ::-1]
        all_vertices.append(camera_space)
        all_faces.append(triangles + offset)
        offset += len(camera_space)
    stack = rasterize(np.concatenate(all_vertices), np.concatenate(all_faces), Camera(0.0, float(w)), h, w)
    inside = stack.alpha[..., 0] > 0
    normals[y0:y1, x0:x1] = stack.normals
    depth[y0:y1, x0:x1] = np.where(inside[..., None], stack.depth - stack.depth[inside].min(), 0)
    coverage[y0:y1, x0:x1] = stack.alpha
    return FacePasses(normals, depth, coverage)
