"""What a virtual-light-stage sample's metadata describes, and what evaluation and training read from a
sample with it: its shot (framing, lens, turn) and lighting, where its skin is, and where a sequence
frame's pixels were in the frame before. Rendering is ``relit.stage.sample``'s."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..camera import Camera
from ..colour import Image
from ..errors import RelitError
from ..io import read_image
from ..lighting import Environment, Lighting, light_from_dict
from ..passes import PassStack
from ..reference import RENDER_COLOURSPACE

HAIR_ROUGHNESS = 0.3  # the hair BSDF's longitudinal roughness, written as the hair's roughness pass
# regions of one constant roughness (skin has a map, cloth one value per look): how ``skin_mask`` tells them apart
FIXED_ROUGHNESS = {"eye_front": 0.02, "eye_back": 0.05, "mouth": 0.3, "hair": HAIR_ROUGHNESS}  # a glassy cornea
# specular strength (F0) but skin's (per look): cornea and sclera (index 1.38), mucosa, fabric, keratin (1.55)
F0 = {"eye_front": 0.025, "eye_back": 0.025, "mouth": 0.03, "cloth": 0.04, "hair": 0.046}
SKIN_F0_TOLERANCE = 1e-3  # skin's F0 from a half-float pass; 5-9% of a pixel in hair, 7-20% in shirt move it more


@dataclass
class Shot:
    hfov: float  # degrees
    frame_height: float  # metres of the subject the frame spans
    yaw: float  # the person turned about +Y, degrees
    tilt: float  # the camera's vertical offset of the head, fraction of the frame

    @property
    def distance(self) -> float:
        return self.frame_height / (2 * math.tan(math.radians(self.hfov) / 2))


    @property
    def framing(self) -> str:
        """What a shot list would call it, from how much of the person the frame spans."""
        for name, up_to in FRAMINGS:
            if self.frame_height <= up_to:
                return name
        return FRAMINGS[-1][0]


FRAMINGS = (("extreme close-up", 0.17), ("close-up", 0.3), ("head and shoulders", 0.65), ("half body", math.inf))


@dataclass
class StageLighting:
    """An HDRI (rotated, exposed, tinted) and any area lights (a light-stage rig); all in the camera frame."""

    hdri: str
    rotation: float
    scale: float  # multiplies the HDRI's radiance
    lights: list[dict] = field(default_factory=list)  # relit light JSON
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)  # in the working space, as the engine's Environment.tint

    def to_lighting(self) -> Lighting:
        env = Environment(self.hdri, self.rotation, math.log2(self.scale), tuple(self.tint),
                          colourspace=RENDER_COLOURSPACE)
        return Lighting(env, [light_from_dict(d) for d in self.lights])

    def radiance(self) -> np.ndarray:
        """The lat-long environment as lit, (H, 2H, 3) in Mitsuba's RGB space: exposure and tint applied."""
        working = Image(hdri_radiance(self.hdri), RENDER_COLOURSPACE).to_working()
        return Image(working.pixels * np.float32(self.scale) * np.asarray(self.tint, np.float32),
                     working.colourspace).to(RENDER_COLOURSPACE).pixels


@lru_cache(maxsize=16)
def hdri_radiance(path: str) -> np.ndarray:
    """An HDRI's radiance in Mitsuba's RGB space (the file's: linear Rec.709), read once per process."""
    latlong = read_image(path, RENDER_COLOURSPACE).to(RENDER_COLOURSPACE).pixels[..., :3]
    latlong.setflags(write=False)
    return latlong


def placement(shot: Shot) -> tuple[np.ndarray, np.ndarray]:
    """The rotation (the shot's yaw about +Y) and offset that put the person in the camera frame:
    camera point = rotation @ body point + offset."""
    a = math.radians(shot.yaw)
    rot = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]], np.float32)
    return rot, np.array([0.0, shot.tilt * shot.frame_height, -shot.distance], np.float32)


def previous_pixels(frame: PassStack, previous: PassStack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each pixel's surface point of a sequence frame was in the frame before: (row, column),
    pixel centres at integers as ``upsample.bilinear`` takes them, and its depth then; each (H, W).

    Exact, with no optical flow: between a sequence's frames the person only turns about their own
    vertical axis (``render_sample``'s ``turn``), so the depth pass and the two frames' shots give the
    motion. Whether the point was visible then is the caller's test (its depth against that frame's)."""
    try:
        (rot, offset), (rot_before, offset_before) = (placement(Shot(**json.loads(s.metadata["shot"])))
                                                      for s in (frame, previous))
    except (KeyError, TypeError, ValueError):
        raise RelitError("not a virtual-light-stage sequence frame (no shot metadata)") from None
    if frame.depth is None:
        raise RelitError("a stage frame without its depth pass")
    camera = Camera.from_metadata(frame.metadata)
    h, w = frame.shape
    body = (camera.positions(frame.depth) - offset) @ rot  # rot is orthonormal: its inverse is its transpose
    col, row, depth = camera.project(body @ rot_before.T + offset_before, h, w)
    return row - 0.5, col - 0.5, depth


def skin_mask(stack: PassStack) -> np.ndarray:
    """(H, W) bool: fully covered pixels whose roughness is none of the constant-roughness regions'
    (cloth, hair, eyes, mouth, what the wardrobe put on), i.e. skin, read back from a sample's roughness
    pass and metadata; and, where the sample has a specular strength pass, whose F0 is the skin's own: a
    pixel partly covered by hair strands, a brow or the shirt has a blend of their roughness (none of the
    fixed values) but also a blend of their F0, so this leaves it out (about a quarter of the roughness
    test's pixels)."""
    stack.require("alpha", "roughness")
    look = json.loads(stack.metadata.get("look", "{}"))
    rough = stack.roughness[..., 0]
    skin = stack.alpha[..., 0] >= 0.99
    worn = json.loads(stack.metadata.get("wardrobe", "{}")).get("roughness", {}).values()
    for value in (float(look.get("cloth_roughness", -1)), *FIXED_ROUGHNESS.values(), *worn):
        skin &= np.abs(rough - value) > 0.01
    if stack.specular_strength is not None and "skin_f0" in look:
        skin &= np.abs(stack.specular_strength[..., 0] - look["skin_f0"]) < SKIN_F0_TOLERANCE
    return skin
