"""The network's passes corrected by the priors where the priors know better.

- Normals: on the face, the face mesh's (the network, trained on the virtual stage only, gives real faces
  nearly camera-facing normals), continued beyond its outline, curving on away as they curve there (the
  brow, the temples and the jaw), and faded into the network's there.
- Alpha: the face is subject (a face-mesh pixel is at least as opaque as the mesh covers it), and so is
  what has the face's colour just beyond its outline (forehead, jaw, neck); holes the
  network leaves inside the person (a dark tie, folded arms) and wherever the segmentation is sure of a
  person take the segmentation's probability, and what it keeps far from any segmented person (a flag,
  a wall) is cleared.
- Albedo: on the face, the plate divided by its shading: the light is fitted to the face as second-order
  spherical harmonics over the fused normals (a face's albedo varies little at that scale), the network
  keeping the albedo's level and colour; where the fitted shading is dark the division is noisy, and the
  network's albedo is kept. In a sequence the plate is first averaged over a few pixels (``grain``): its
  grain, divided into the albedo anew in every frame, is flicker.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy.ndimage import binary_dilation, binary_erosion, binary_fill_holes, distance_transform_edt

from ..layout import ALBEDO, ALPHA, NORMALS
from ..upsample import Resized, box
from ..vectors import normalize
from . import Priors

FEATHER = 0.04  # the light is fitted this fraction of the face's size inside its outline (not on its rim)
EXTEND = 0.1  # the mesh's normals, continued beyond its outline, fade out over this fraction of its size
SLOPE = 0.05  # how the mesh's normals turn over this fraction of its size inside its outline is continued
DARK = 0.25  # fitted shading under this fraction of the face's brightest keeps the network's albedo
SKIN_CHROMA = 0.03  # rg chromaticity within which a pixel beside the face has its colour
SKIN_RANGE = 4.0  # and brightness within this factor of the face's median
SURE = 0.9  # where the segmentation is this sure of a person, the matte is at least its probability
AWAY = 0.03  # alpha farther than this fraction of the diagonal from the segmented person, and where the
# segmentation is sure there is none, is cleared
FIT_PIXELS = 1 << 17  # the light is fitted on at most this many of the face's pixels, evenly spread (nine
# coefficients per channel: an 8K close-up's millions of face pixels add nothing but memory)
BAND_PIXELS = 1 << 18  # the mesh's normals are continued beyond its outline this many pixels at a time


def sh_basis(n: np.ndarray) -> np.ndarray:
    """The nine real spherical harmonics up to order 2 at unit vectors (..., 3), unnormalised: a
    Lambertian surface's shading under any distant light is a combination of them (Ramamoorthi and
    Hanrahan 2001)."""
    x, y, z = n[..., 0], n[..., 1], n[..., 2]
    return np.stack([np.ones_like(x), x, y, z, x * y, x * z, y * z, x * x - y * y, 3 * z * z - 1], -1)


def _reach(filled: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 1) weight of the face mesh: 1 on the face, falling to 0 over EXTEND of its size beyond its
    outline; for every pixel, the flat index of the nearest face pixel, whose normal it continues; and the
    band beyond the outline where the weight is above 0 (H, W)."""
    distance, (rows, cols) = distance_transform_edt(~filled, return_indices=True)
    weight = np.clip(1 - distance / (EXTEND * size), 0, 1).astype(np.float32)[..., None]
    return weight, rows * filled.shape[1] + cols, (distance > 0) & (distance <= EXTEND * size)


def _continue(face_normals: np.ndarray, band: np.ndarray, nearest: np.ndarray, size: float) -> None:
    """Continue the mesh's normals (H, W, 3, contiguous) in place over the ``band`` beyond its outline,
    curving on away as they curve at the outline. Each band pixel takes its nearest mesh pixel's normal,
    turned further toward the way out by the angle the mesh's normal turns per pixel over the last SLOPE of
    its size, times the pixel's distance (at most to 90 degrees from the camera). Band pixels are read from
    the mesh only and worked on BAND_PIXELS at a time: an 8K face's band is a million pixels."""
    height, width = band.shape
    flat, nearest = face_normals.reshape(-1, 3), nearest.reshape(-1)
    reach = SLOPE * size
    pixels = np.flatnonzero(band)
    for first in range(0, len(pixels), BAND_PIXELS):
        here = pixels[first:first + BAND_PIXELS]
        near = nearest[here]
        (rows, cols), (r0, c0) = np.divmod(here, width), np.divmod(near, width)
        dr, dc = rows - r0, cols - c0
        distance = np.hypot(dr, dc)
        way = np.stack([dc / distance, -dr / distance, np.zeros_like(distance)], -1)  # outward, camera axes
        back = nearest[np.clip(np.round(r0 - dr / distance * reach).astype(int), 0, height - 1) * width +
                       np.clip(np.round(c0 - dc / distance * reach).astype(int), 0, width - 1)]
        n0, n1 = flat[near], flat[back]
        tilt0 = np.arctan2((n0 * way).sum(-1), n0[:, 2])
        tilt1 = np.arctan2((n1 * way).sum(-1), n1[:, 2])
        turn = np.clip(np.clip(tilt0 - tilt1, 0, None) / reach * distance, 0, np.clip(np.pi / 2 - tilt0, 0, None))
        axis = np.stack([-way[:, 1], way[:, 0], np.zeros_like(distance)], -1)  # z x way: turns z toward the way out
        cos, sin = np.cos(turn)[:, None], np.sin(turn)[:, None]
        flat[here] = n0 * cos + np.cross(axis, n0) * sin + axis * (axis * n0).sum(-1, keepdims=True) * (1 - cos)


def fit_light(plate: np.ndarray, normals: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(9, C) coefficients of the second-order spherical-harmonic light that, on a surface of albedo 1 with
    these normals, best gives the linear plate (..., C) over ``where``."""
    chosen = np.flatnonzero(where)
    rows, cols = np.divmod(chosen[::max(1, len(chosen) // FIT_PIXELS)], where.shape[1])
    coefficients, *_ = np.linalg.lstsq(sh_basis(normals[rows, cols]).astype(np.float64),
                                       plate[rows, cols].astype(np.float64), rcond=None)
    return coefficients.astype(np.float32)


def shading(normals: np.ndarray, coefficients: np.ndarray, rows: int = 256) -> np.ndarray:
    """(H, W, C) shading of normals (H, W, 3) under a light's (9, C) coefficients, ``rows`` at a time (the
    nine basis images of an 8K face at once are hundreds of MB)."""
    out = np.empty(normals.shape[:2] + coefficients.shape[1:], np.float32)
    for top in range(0, len(out), rows):
        out[top:top + rows] = sh_basis(normals[top:top + rows]) @ coefficients
    return out


def _window(mask: np.ndarray, margin: int, origin: tuple[int, int]) -> tuple[slice, slice]:
    """The rows and columns of the bounding box of a mask whose top-left pixel is the plate's ``origin``,
    grown by ``margin``, in the plate (a slice's stop may lie beyond the plate's edge)."""
    rows, cols = np.nonzero(mask)
    return (slice(max(rows.min() + origin[0] - margin, 0), rows.max() + origin[0] + margin + 1),
            slice(max(cols.min() + origin[1] - margin, 0), cols.max() + origin[1] + margin + 1))


def _like_skin(plate: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """(H, W, 1): 1 where the plate has the face's chromaticity (within SKIN_CHROMA) and a brightness a face
    in light and shade has (within SKIN_RANGE of its median): the forehead above the mesh, the jaw and the
    neck are the person; the flag or wall beside them is not."""
    total = plate.sum(-1)  # one channel at a time from here: an 8K face's window is millions of pixels
    level = float(np.median(total[filled]))
    like = (total > level / SKIN_RANGE) & (total < level * SKIN_RANGE)
    np.maximum(total, 1e-6, out=total)
    for channel in range(2):
        chroma = plate[..., channel] / total
        like &= np.abs(chroma - np.median(chroma[filled])) < SKIN_CHROMA
    return like[..., None].astype(np.float32)


def _face(out: np.ndarray, plate: np.ndarray, face: np.ndarray, face_normals: np.ndarray, grain: int
          ) -> np.ndarray:
    """Correct the normals, alpha and albedo (h, w, C as ``fuse``'s) on the faces, in place, in the faces'
    window (``face_normals`` too: continued beyond the mesh); return where the face mesh reaches (its weight
    is above 0)."""
    filled = binary_fill_holes(face[..., 0] > 0.5)
    size = float(max(np.ptp(np.flatnonzero(filled.any(axis=1))), np.ptp(np.flatnonzero(filled.any(axis=0)))) + 1)
    weight, nearest, band = _reach(filled, size)
    _continue(face_normals, band, nearest, size)
    del nearest, band  # 5 bytes a pixel of the faces' window: an 8K face's is millions of pixels
    blend = face_normals  # the network's normals faded into the mesh's, in place
    blend -= out[..., NORMALS]
    blend *= weight
    blend += out[..., NORMALS]
    out[..., NORMALS] = normalize(blend, out=blend)
    out[..., ALPHA] = np.maximum(out[..., ALPHA], np.maximum(face, filled[..., None]))
    out[..., ALPHA] = np.maximum(out[..., ALPHA], np.clip(2 * weight, 0, 1) * _like_skin(plate, filled))
    # the light is fitted away from the face's rim (mixed with hair and background) and its darkest pixels
    inner = binary_erosion(filled, iterations=max(1, int(FEATHER * size)))
    brightness = plate.mean(-1)
    lit = inner & (brightness > np.percentile(brightness[inner], 5)) if inner.any() else inner
    del brightness, inner
    if lit.sum() >= 9 * 20:  # enough pixels for nine coefficients per channel
        light = shading(out[..., NORMALS], fit_light(plate, out[..., NORMALS], lit))
        level = np.percentile(light[lit], 99, axis=0)
        ratio = np.maximum(light, 1e-3 * level)
        np.divide(box(plate, grain) if grain else plate, ratio, out=ratio)
        ratio *= np.median(out[..., ALBEDO][lit], axis=0) / np.maximum(np.median(ratio[lit], axis=0), 1e-6)
        trust = light  # in place from here: an 8K face's window holds millions of pixels
        trust /= np.maximum(level, 1e-6)
        trust -= DARK
        trust /= DARK
        np.clip(trust, 0, 1, out=trust)
        trust *= weight
        albedo = out[..., ALBEDO]
        ratio -= albedo
        ratio *= trust
        albedo += ratio
        np.clip(albedo, 0, 1, out=albedo)
    return weight[..., 0] > 0


def _person(alpha: np.ndarray, person: Resized | np.ndarray, face: np.ndarray, rows: int = 256) -> None:
    """Fill the holes inside the person in ``alpha`` (H, W), in place, and clear what lies far from any
    person and from the ``face`` (the segmentation misses a face with no body below it, or cut by the
    frame). The segmentation is a 256-pixel model's: its regions are found at about that size, and the
    plate's pixels are then corrected ``rows`` at a time (an 8K plate's probability is read a strip at a
    time)."""
    height, width = alpha.shape
    step = max(1, min(alpha.shape) // 256)
    small_alpha, small_person = alpha[::step, ::step], person[::step, ::step][..., 0]
    subject = small_alpha >= 0.5
    holes = binary_dilation(binary_fill_holes(subject) & ~subject, iterations=1)
    far = None
    if (small_person > 0.5).any():
        far = distance_transform_edt(small_person <= 0.5) * step > AWAY * np.hypot(height, width)
    for top in range(0, height, rows):
        part = slice(top, top + rows)
        here, sure = alpha[part], person[part, :][..., 0]
        cells = np.ix_(np.arange(top, top + len(here)) // step, np.arange(width) // step)  # each pixel's small one
        fill = (holes[cells] & (sure > 0.5)) | (sure > SURE)
        np.maximum(here, sure, out=here, where=fill)
        if far is not None:
            here[far[cells] & (sure < 0.1) & ~face[part]] = 0.0


class Windows(Protocol):
    """An (H, W, 3) image read a window at a time: an array, or a plate converted as it is asked."""

    def __getitem__(self, window: tuple[slice, slice]) -> np.ndarray: ...


def fuse(out: np.ndarray, plate: Windows, priors: Priors, grain: int = 0) -> np.ndarray:
    """The network's passes (H, W, C in ``relit.layout``'s order; albedo in the plate's linear colourspace)
    corrected by the priors, in place (a plate's passes are its largest array); ``plate`` (H, W, 3) is
    linear, and only the faces' window of it is read. With ``grain`` (pixels), the plate the albedo is
    divided from is first averaged over a window of 2 ``grain`` + 1 pixels a side."""
    reach = np.zeros(out.shape[:2], bool)
    face = priors.mesh.coverage[..., 0] > 0.5
    if face.any():  # the face's work runs in its bounding box and reach, a fraction of a plate
        window = _window(face, int(EXTEND * max(np.ptp(a) for a in np.nonzero(face))) + 2, priors.mesh.origin)
        mesh = priors.mesh.crop(window)
        reach[window] = _face(out[window], plate[window], mesh.coverage, mesh.normals, grain)
    _person(out[..., ALPHA.start], priors.person, reach)
    return out
