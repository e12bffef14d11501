"""``relit eval --real-light``: relighting judged against real photos of a person under known point lights
(the cropped Extended Yale Face Database B: one folder per person, 64 strobe photos and an ambient one).

Passes inferred from the frontal-strobe photo are lit by the engine with a directional light toward another
strobe and compared with that strobe's photo on the face. Photometric stereo over all the strobe photos
gives the face's reference normals and albedo: the headroom of a Lambertian relight, and a real-photo check
of the normals and albedo passes. The crop is measured as published (a close-up that fills the frame) and
centred in a dark surround (the framing the network was trained on: a head with space around it).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from .camera import Camera
from .colour import Image, resolve_config
from .errors import RelitError
from .estimate import estimate_passes, luminance
from .evaluate import THRESHOLDS, table_means
from .io import read_data
from .lighting import DirectionalLight, Lighting
from .metrics import angular_error, psnr, scale_invariant_mse, ssim
from .passes import PassStack
from .relight import relight

PHOTO_COLOURSPACE = "lin_rec709_srgb"  # the photos are linear grey: R = G = B = Rec.709 luminance
STROBE = re.compile(r"_P00A([+-]\d{3})E([+-]\d{2})\.pgm$")  # pose 0 (frontal), azimuth and elevation
AMBIENT = "_P00_Ambient.pgm"
FRONTAL = "A+000E+00"
# Raw value from which a pixel is taken as clipped (8-bit values are read as value / 255): on yaleB01 the
# photos' values pile up from 251 on (about 400 pixels per level below, 3523 at 255), the sensor's knee
SATURATED = 250 / 255
# Ambient-subtracted value below which a pixel is taken as shadowed: 5 of 255, where 8-bit rounding (+-0.5)
# alone is a 10% error
SHADOWED = 5 / 255
# The face: pixels whose photometric stereo is well posed and Lambertian. Well posed: the lit, unclipped
# strobes' sum of l l^T has its smallest eigenvalue >= 4, i.e. as much light along the worst-determined axis
# as four strobes along it (on yaleB01 99% of the pixels have over 4.5; the 0.2% below are lit from one
# side only). Lambertian: the fit's RMS residual under 0.3 of the pixel's mean value. Skin's own misfit
# (subsurface scattering, sheen) is about 0.18, its 90th percentile 0.29; above 0.3 are the eyes (mirror
# highlights), the nostrils and the brows (hair): 9% of the crop.
MIN_SPREAD = 4.0
MAX_MISFIT = 0.3
# Refits dropping the lights the fit faces away from: on yaleB01 they move the face's normals 1.4, 0.17
# and 0.02 degrees after the first, so three leave them within 0.02 of where they settle
REFITS = 3
# Relighting targets: every strobe within 70 degrees of azimuth and 45 of elevation (beyond those the
# lights graze the face and most of it is in shadow) and at least 15 degrees from the frontal strobe (the
# eight nearer ones, 10-11 degrees off, are nearly the input's own light: the unrelit photo scores 21-24 dB
# there, 10-21 dB at the others)
MAX_AZIMUTH, MAX_ELEVATION, MIN_TURN = 70, 45, 15.0
# The dark surround: the crop (about 0.2 m of face, brow to chin) centred in a frame three times its size,
# about 0.6 m tall: the loosest of the virtual light stage's head-and-shoulders shots (0.36-0.6 m)
SURROUND = 3
FACE_WIDTH = 0.175  # metres across the crop (about 0.2 m tall, 168 of 192 pixels wide): the orthographic camera
PassesFn = Callable[[Image], PassStack]


def strobe_direction(azimuth: float, elevation: float) -> np.ndarray:
    """The unit vector toward a strobe in camera space (+X right, +Y up, +Z toward the camera), from its
    azimuth and elevation in degrees: azimuth + lights the image's left side of the face, elevation + above."""
    a, e = np.radians(azimuth), np.radians(elevation)
    return np.array([-np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])


@dataclass
class Subject:
    """One person's strobe photos: linear, ambient subtracted and clipped at 0, with their clipped pixels."""

    name: str
    tags: list[str]  # "A+050E+00" per photo, in file-name order
    directions: np.ndarray  # (N, 3) toward each photo's strobe
    photos: np.ndarray  # (N, H, W)
    saturated: np.ndarray  # (N, H, W) bool

    def photo(self, tag: str) -> np.ndarray:
        return self.photos[self.tags.index(tag)]


@dataclass
class Reference:
    """Photometric stereo's answer on a subject: where it is trusted (``face``) and what it says there."""

    normals: np.ndarray  # (H, W, 3) unit, camera space
    albedo: np.ndarray  # (H, W), in the photos' units (the strobes' power is unknown)
    face: np.ndarray  # (H, W) bool


def _read_pgm(path: Path) -> np.ndarray:
    """A greyscale photo, (H, W) float32 in [0, 1]: 8-bit values / 255, taken as linear in light (the
    database's photos are close to linear; no sRGB decoding)."""
    return read_data(path, 1, {".pgm"})[..., 0]


def read_subject(folder: Path) -> Subject:
    """A person's folder: ``<name>_P00A<azimuth>E<elevation>.pgm`` per strobe and ``<name>_P00_Ambient.pgm``."""
    ambients = sorted(folder.glob("*" + AMBIENT))
    if not ambients:
        raise RelitError(f"no ambient photo (*{AMBIENT})", folder)
    ambient = _read_pgm(ambients[0])
    tags, directions, raw = [], [], []
    for path in sorted(folder.glob("*.pgm")):
        match = STROBE.search(path.name)
        if match is None:
            continue
        photo = _read_pgm(path)
        if photo.shape != ambient.shape:
            raise RelitError(f"is {photo.shape[1]}x{photo.shape[0]}, the ambient photo "
                             f"{ambient.shape[1]}x{ambient.shape[0]}", path)
        tags.append(f"A{match[1]}E{match[2]}")
        directions.append(strobe_direction(int(match[1]), int(match[2])))
        raw.append(photo)
    if FRONTAL not in tags:
        raise RelitError(f"no frontal strobe photo (*_P00{FRONTAL}.pgm)", folder)
    raw = np.stack(raw)
    return Subject(ambients[0].name[:-len(AMBIENT)], tags, np.array(directions), np.clip(raw - ambient, 0, None),
                   raw >= SATURATED)


def _solve(valid: np.ndarray, values: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the least-squares g = albedo * normal with values = directions . g over the valid lights,
    (P, 3), and the valid lights' sum of l l^T, (P, 3, 3). ``valid`` and ``values`` are (N, P)."""
    gram = np.einsum("np,na,nb->pab", valid, directions, directions)
    rhs = np.einsum("np,na->pa", valid * values, directions)
    return np.linalg.solve(gram + 1e-9 * np.eye(3), rhs[..., None])[..., 0], gram


def photometric_stereo(photos: np.ndarray, saturated: np.ndarray, directions: np.ndarray) -> Reference:
    """Lambertian photometric stereo (Woodham 1980): per pixel, values = albedo * (normal . light) over the
    strobes that light it, unclipped. A light is dropped where the pixel is too dark (shadowed) or clipped,
    and where the fit faces away from it (the pixel is lit by interreflection there, not by the strobe:
    the fit is made again without those, ``REFITS`` times)."""
    n, h, w = photos.shape
    values = photos.reshape(n, h * w).astype(np.float64)
    valid = ((values > SHADOWED) & ~saturated.reshape(n, h * w)).astype(np.float64)
    g, gram = _solve(valid, values, directions)
    lit = valid
    for _ in range(REFITS):
        lit = valid * ((directions @ g.T) > 0)
        g, gram = _solve(lit, values, directions)
    count = np.maximum(lit.sum(0), 1)
    residual = np.sqrt((lit * (directions @ g.T - values) ** 2).sum(0) / count)
    misfit = residual / np.maximum((lit * values).sum(0) / count, 1e-9)
    spread = np.linalg.eigvalsh(gram)[:, 0]
    albedo = np.linalg.norm(g, axis=1)
    normals = np.where(albedo[:, None] > 0, g / np.maximum(albedo, 1e-12)[:, None], (0.0, 0.0, 1.0))
    face = (spread >= MIN_SPREAD) & (misfit < MAX_MISFIT)
    return Reference(normals.reshape(h, w, 3).astype(np.float32), albedo.reshape(h, w).astype(np.float32),
                     face.reshape(h, w))


def targets(subject: Subject) -> list[str]:
    """The strobes to relight toward (``MAX_AZIMUTH``, ``MAX_ELEVATION``, ``MIN_TURN``), in file-name order."""
    frontal = subject.directions[subject.tags.index(FRONTAL)]
    out = []
    for tag, direction in zip(subject.tags, subject.directions):
        azimuth, elevation = int(tag[1:5]), int(tag[6:])
        turn = np.degrees(np.arccos(np.clip(direction @ frontal, -1, 1)))
        if abs(azimuth) <= MAX_AZIMUTH and abs(elevation) <= MAX_ELEVATION and turn >= MIN_TURN:
            out.append(tag)
    return out


def _subjects(folder: Path) -> list[Path]:
    """The person folders: ``folder`` itself when it holds an ambient photo, else its subfolders that do."""
    if not folder.is_dir():
        raise RelitError("no such folder", folder)
    if any(folder.glob("*" + AMBIENT)):
        return [folder]
    people = sorted(d for d in folder.iterdir() if d.is_dir() and any(d.glob("*" + AMBIENT)))
    if not people:
        raise RelitError(f"no Yale face folder here (a folder of *_P00A...pgm photos and *{AMBIENT})", folder)
    return people


def _gain_fit(prediction: np.ndarray, photo: np.ndarray, face: np.ndarray) -> dict[str, float]:
    """PSNR and SSIM on the face after the one gain that best fits the prediction to the photo (least
    squares: the strobe's power is unknown). The peak is the photo's maximum on the face."""
    x, y = prediction[face], photo[face]
    gain = float((x * y).sum() / max(float((x * x).sum()), 1e-12))
    fitted, photo = (gain * prediction)[..., None], photo[..., None]
    return {"PSNR": psnr(fitted, photo, face), "SSIM": ssim(fitted, photo, face)}


def evaluate_real_light(folder: str | Path, passes: PassesFn | None = None
                        ) -> dict[str, dict[str, dict[str, float]]]:
    """{table: {method: {metric: mean over people and targets}}} on a Yale folder: relighting PSNR / SSIM
    (``_gain_fit``), normals and albedo against photometric stereo, and the matte, on the face, for the
    close-up as published and for the crop in a dark surround, with the face region's size.

    ``passes`` infers the passes of a photo (default ``estimate_passes``); the engine lights them as they
    are (black where their matte is 0). Relit and albedo passes are compared through their Rec.709
    luminance, since the photos are grey; the albedo's scale-invariant MSE is in units of the reference's
    face mean squared (the strobes' power is unknown)."""
    passes = passes or estimate_passes
    config = resolve_config()
    camera = Camera(0.0, FACE_WIDTH)  # a face seen from afar: the same view direction at every pixel
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)

    def add(table: str, method: str, **metrics: float) -> None:
        for metric, value in metrics.items():
            sums[(table, method, metric)].append(value)

    def grey(stack_colour: np.ndarray, colourspace: str) -> np.ndarray:
        return luminance(Image(stack_colour, colourspace, config).to(PHOTO_COLOURSPACE).pixels)

    for path in tqdm(_subjects(Path(folder)), desc="real light", unit="person"):
        subject = read_subject(path)
        reference = photometric_stereo(subject.photos, subject.saturated, subject.directions)
        face = reference.face
        if not face.any():
            raise RelitError("photometric stereo is well posed nowhere: no face to measure", path)
        chosen = targets(subject)
        add("real light: face region", "photometric stereo", pixels=float(face.sum()),
            **{"of the crop %": float(face.mean() * 100)}, targets=float(len(chosen)))
        frontal = subject.photo(FRONTAL)
        albedo_ref = reference.albedo / reference.albedo[face].mean()
        h, w = frontal.shape
        for framing, pad in (("close-up", 1), ("dark surround", SURROUND)):
            top, left = (pad - 1) // 2 * h, (pad - 1) // 2 * w
            framed = np.zeros((pad * h, pad * w), np.float32)
            framed[top:top + h, left:left + w] = frontal
            photo = Image(np.repeat(framed[..., None], 3, axis=2), PHOTO_COLOURSPACE, config).to_working()
            inferred = passes(photo)
            stack = inferred.replace(**{name: array[top:top + h, left:left + w] for name, array in inferred.items()})
            prefix = f"real light, {framing}: "
            for target in chosen:
                light = Lighting(lights=[DirectionalLight(tuple(subject.directions[subject.tags.index(target)]))])
                truth = subject.photo(target)
                lit = relight(stack, light, camera, config=config).relit
                ps = reference.albedo * np.maximum(reference.normals @ light.lights[0].direction, 0)
                add(prefix + "relight", "relit passes", **_gain_fit(grey(lit, stack.colourspace), truth, face))
                add(prefix + "relight", "baseline: unrelit photo", **_gain_fit(frontal, truth, face))
                add(prefix + "relight", "photometric-stereo relight (headroom)", **_gain_fit(ps, truth, face))
            flat = np.broadcast_to(np.float32([0, 0, 1]), stack.normals.shape)
            for method, normals in (("relit passes", stack.normals), ("baseline: facing the camera", flat)):
                err = angular_error(normals, reference.normals, face)
                add(prefix + "normals (face)", method, mean=float(err.mean()),
                    **{f"<{t}": float((err < t).mean() * 100) for t in THRESHOLDS})
            for method, albedo in (("relit passes", grey(stack.albedo, stack.colourspace)),
                                   ("baseline: the frontal photo", frontal)):
                add(prefix + "albedo (face)", method, siMSE=scale_invariant_mse(albedo[..., None],
                                                                                 albedo_ref[..., None], face))
            alpha = stack.alpha[..., 0] if stack.alpha is not None else np.ones((h, w), np.float32)
            add(prefix + "alpha (face)", "relit passes", mean=float(alpha[face].mean()),
                **{">0.5 %": float((alpha[face] > 0.5).mean() * 100)})
    return table_means(sums)
