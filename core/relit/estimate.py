"""Passes from a photo: the shipped passes network (ONNX Runtime) at a low internal resolution, then
guided upsampling to the plate's resolution.

The network sees linear Rec.709 divided by the frame's mean luminance (exposure-invariant) in log
form; training (``relit.train``) calls the same ``normalise`` so the two cannot drift.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import onnxruntime as ort

from .colour import Image, convert_in_place, working_space
from .errors import RelitError
from .geometry import surface_height
from .layout import ALBEDO, ALPHA, MIN_ROUGHNESS, NORMALS, OUTPUTS, ROUGHNESS
from .models import ShippedNetwork, run, session
from .motion import displacement, estimate_motion, follow, residual_change
from .passes import PassStack
from .priors import PRIOR_MIRROR_SIGNS, Priors, compute_priors, network_input
from .priors.face import Face
from .priors.fuse import fuse
from .priors.smoothing import LandmarkFilter
from .upsample import bilinear, box, guided_upsample, resize
from .vectors import length, normalize

NET_COLOURSPACE = "Linear Rec.709 (sRGB)"  # the virtual light stage renders in it
LUMA = np.float32([0.2126, 0.7152, 0.0722])
NO_MATTE = 0.5  # the matte input when the user has none
# Each frame's passes are the mean of the network's on the plate and on its mirror image (mirrored back):
# two views of the same person whose errors differ, so the mean is more accurate and steadier, for one
# more run of the network (docs/networks.md has the figures).
MIRROR_AVERAGE = True
MIRROR_SIGNS = np.ones(sum(OUTPUTS.values()), np.float32)
MIRROR_SIGNS[NORMALS.start] = -1  # a mirrored plate's normals point the other way in x
# A face small in the frame's run is run again on a crop around it: the detection box grown FACE_CROP times
# (the margin MediaPipe's face mesh takes around a detection: the face with its hairline and chin), when
# the crop's run sees it at least FACE_DETAIL times larger than the frame's; the crop's passes fade into
# the frame's over its outer FACE_FEATHER on each side that lies inside the frame
FACE_CROP = 1.5
FACE_DETAIL = 1.25
FACE_FEATHER = 0.125


def _mean_luminance_of(nonnegative: np.ndarray) -> np.ndarray:
    return np.maximum((nonnegative @ LUMA).mean(axis=(-1, -2), keepdims=True), 1e-6)[..., None]


def mean_luminance(rgb: np.ndarray) -> np.ndarray:
    """The frame's mean luminance, (..., 1, 1, 1) for (..., H, W, 3) linear Rec.709 (negative values
    taken as 0): the exposure the network's input is divided by."""
    return _mean_luminance_of(np.maximum(rgb, 0))


def normalise(rgb: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) linear Rec.709 -> log of the pixels over the frame's mean luminance, made in one
    array the plate's size (an 8K plate's is 0.4 GB)."""
    x = np.maximum(rgb, 0).astype(np.float32, copy=False)
    x /= _mean_luminance_of(x)
    return np.log1p(x, out=x)


def luminance(x: np.ndarray) -> np.ndarray:
    return (x @ LUMA).astype(np.float32)


class PassesModel(ShippedNetwork):
    DEFAULT = "passes.onnx"
    MULTIPLE = 16  # the U-Net pools four times
    OUTPUTS = OUTPUTS


class NetPlate:
    """The plate in the network's colourspace (linear Rec.709, RGB), a window at a time, as the face crops
    and the fusion ask for one (``plate[rows, columns]``): a whole 8K plate's copy is 0.4 GB."""

    def __init__(self, image: Image):
        self.image = image

    def __getitem__(self, window: tuple[slice, slice]) -> np.ndarray:
        part = np.ascontiguousarray(self.image.pixels[window][..., :3])  # the one copy, converted in place
        convert_in_place(part, self.image.colourspace, NET_COLOURSPACE, self.image.config)
        return part


def _network(image: Image, matte: np.ndarray | None, model: PassesModel, internal: int | None,
             device: str | None, priors: bool, steady: Steadying | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Priors | None]:
    """The normalised plate at the network's size (h, w, 3), the network's passes (h, w, 8), those passes
    upsampled to the plate's resolution (H, W, 8), guided by the plate, refined on each face by a run on
    a crop around it (``_face_crops``) and, with ``priors``, corrected by the priors (``fuse``), and the
    priors (None without ``priors``); a sequence's frame ``steady`` along the frames before. A network
    whose card takes the priors as an input gets them either way."""
    h, w = image.height, image.width
    if matte is not None:
        if np.size(matte) != h * w:
            raise RelitError(f"the matte must have the plate's resolution {w}x{h}")
        matte = np.asarray(matte, np.float32).reshape(h, w, 1)
    x = normalise(image.to(NET_COLOURSPACE).pixels[..., :3])
    sh, sw = model.size(h, w, internal)
    x_low, guide = resize(x, sh, sw), luminance(x)
    del x  # the plate's size in three channels: of the normalised plate, only its luminance is needed now
    found = compute_priors(image, device, steady=steady and partial(steady.faces, x_low, (sw / w, sh / h))) \
        if priors or "priors" in model.inputs else None
    net = session(model.path, device)
    low = _infer(net, model, x_low, matte, found, (slice(None), slice(None)))
    up = guided_upsample(low, luminance(x_low), guide)
    del guide
    rgb = NetPlate(image)
    if found is not None:
        _face_crops(up, rgb, matte, found, net, model, sh / h, internal, steady.crops if steady else face_windows)
    if not priors:
        return x_low, low, up, None
    return x_low, low, fuse(up, rgb, found, steady.grain if steady else 0), found


def _infer(net: ort.InferenceSession, model: PassesModel, x_low: np.ndarray, matte: np.ndarray | None,
           found: Priors | None, window: tuple[slice, slice]) -> np.ndarray:
    """The network's passes (h, w, 8) for a normalised plate at the network's size, with the matte and the
    priors of the plate's ``window`` brought to that size; with MIRROR_AVERAGE, the mean of the passes of
    the plate and of its mirror image, mirrored back (normals' x flips with them)."""
    sh, sw = x_low.shape[:2]
    hint = np.full((sh, sw, 1), NO_MATTE, np.float32) if matte is None \
        else resize(np.clip(matte[window], 0, 1), sh, sw)
    inputs = {"image": x_low, "matte": hint}
    if found is not None and "priors" in model.inputs:
        inputs["priors"] = resize(network_input(found, window), sh, sw)

    def infer(arrays: dict[str, np.ndarray]) -> np.ndarray:
        outputs = run(net, **{name: a.transpose(2, 0, 1)[None] for name, a in arrays.items()})
        return np.concatenate([o[0].transpose(1, 2, 0) for o in outputs], -1)

    low = infer(inputs)
    if MIRROR_AVERAGE:
        signs = {"priors": PRIOR_MIRROR_SIGNS}
        mirrored = infer({k: a[:, ::-1] * signs.get(k, 1) for k, a in inputs.items()})[:, ::-1]
        low = 0.5 * (low + mirrored * MIRROR_SIGNS)
        low[..., NORMALS] = normalize(low[..., NORMALS])
    return low


def face_window(box: np.ndarray, height: int, width: int) -> tuple[slice, slice]:
    """The square crop around a face's detection box (x0, y0, x1, y1): FACE_CROP times its larger side,
    centred on it, moved inside the plate (and no larger than the plate's short side)."""
    side = int(round(min(FACE_CROP * max(box[2] - box[0], box[3] - box[1]), height, width)))
    top = int(np.clip(round((box[1] + box[3] - side) / 2), 0, height - side))
    left = int(np.clip(round((box[0] + box[2] - side) / 2), 0, width - side))
    return slice(top, top + side), slice(left, left + side)


Window = tuple[slice, slice]
WindowsFn = Callable[[list[np.ndarray], int, int], list[Window]]


def face_windows(boxes: list[np.ndarray], height: int, width: int) -> list[Window]:
    """Each face's crop (``face_window``)."""
    return [face_window(box, height, width) for box in boxes]


def _feather(window: tuple[slice, slice], height: int, width: int) -> np.ndarray:
    """(h, w, 1) weight of a crop's passes: 1 inside, falling to 0 over FACE_FEATHER of its side toward
    each of its edges that lies inside the plate (at the plate's edge there is nothing to fade into)."""
    weights = []
    for part, size in zip(window, (height, width)):
        n = part.stop - part.start
        ramp = max(1.0, FACE_FEATHER * n)
        t = np.arange(n, dtype=np.float32)
        rise = np.ones(n, np.float32) if part.start == 0 else np.clip((t + 0.5) / ramp, 0, 1)
        fall = np.ones(n, np.float32) if part.stop == size else np.clip((n - t - 0.5) / ramp, 0, 1)
        weights.append(rise * fall)
    return (weights[0][:, None] * weights[1][None, :])[..., None]


def _face_crops(up: np.ndarray, rgb: NetPlate, matte: np.ndarray | None, found: Priors, net: ort.InferenceSession,
                model: PassesModel, frame_scale: float, internal: int | None, windows: WindowsFn = face_windows
                ) -> None:
    """Refine ``up`` (H, W, 8), in place, on each face the frame's run saw small: the network run on a crop
    around the face (``windows``; its own exposure, matte and priors; at most the run's internal size),
    upsampled guided by the crop, its albedo brought to the frame's level there (the frame's run sees more
    of the person and the scene, and a seam in level would show), and faded in (``_feather``)."""
    height, width = up.shape[:2]
    for window in windows([face.detection.box for face in found.faces], height, width):
        side = window[0].stop - window[0].start
        size = model.size(side, side, min(side, internal or model.internal))[0]
        if size < FACE_DETAIL * side * frame_scale:
            continue
        x = normalise(rgb[window])
        x_low, guide = resize(x, size, size), luminance(x)
        del x  # of the normalised crop only its luminance is needed now
        crop = guided_upsample(_infer(net, model, x_low, matte, found, window), luminance(x_low), guide)
        del guide
        here = up[window]
        subject = here[..., ALPHA.start] > 0.5
        if subject.any():
            crop[..., ALBEDO] *= np.median(here[..., ALBEDO][subject], 0) / \
                np.maximum(np.median(crop[..., ALBEDO][subject], 0), 1e-6)
        crop -= here  # faded in, in place: at 8K a face's crop of the passes is a few hundred MB
        crop *= _feather(window, height, width)
        here += crop
        here[..., NORMALS] = normalize(here[..., NORMALS])


def _passes(image: Image, up: np.ndarray, network_size: tuple[int, int], model: PassesModel,
            priors: Priors | None, prior_passes: bool) -> PassStack:
    """The pass stack from the upsampled network passes (H, W, 8), each pass's own constraints applied in
    place and each pass a view of ``up`` (an 8K plate's passes are a GB: they are not copied apart), and
    with ``prior_passes`` the priors' passes."""
    alpha, normals, albedo, roughness = (up[..., part] for part in (ALPHA, NORMALS, ALBEDO, ROUGHNESS))
    np.clip(alpha, 0, 1, out=alpha)
    np.clip(albedo, 0, 1, out=albedo)
    convert_in_place(albedo, NET_COLOURSPACE, working_space(image.config), image.config)
    normals[length(normals) < 1e-3] = (0.0, 0.0, 1.0)  # interpolated across opposite normals: face the camera
    normals /= length(normals)[..., None]
    np.clip(roughness, MIN_ROUGHNESS, 1, out=roughness)
    source = f"relit passes network {model.version} at {network_size[1]}x{network_size[0]}, guided upsampling"
    extra = priors.passes() if priors is not None and prior_passes else {}
    return PassStack(alpha=alpha, normals=normals, albedo=albedo, roughness=roughness,
                     colourspace=working_space(image.config), **extra,
                     metadata={"passes_source": source + ("" if priors is None else
                                                          f", fused with priors ({len(priors.faces)} face(s))")})


def estimate_passes(image: Image, matte: np.ndarray | None = None, model: PassesModel | None = None,
                    internal: int | None = None, device: str | None = None, priors: bool = True,
                    prior_passes: bool = False) -> PassStack:
    """alpha, normals, albedo and roughness for a photo, at its resolution, in the working space,
    corrected by the priors (``relit.priors``) unless ``priors`` is False; with ``prior_passes`` the
    stack holds the priors' passes too.

    ``matte`` (H, W) or (H, W, 1) in [0, 1] is a user's roto or matte: the network refines it."""
    model = model or PassesModel.load()
    x_low, _, up, found = _network(image, matte, model, internal, device, priors)
    return _passes(image, up, x_low.shape[:2], model, found, prior_passes)


def _similarity(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(2, 2) matrix and (2,) shift of the 2D similarity that best maps points ``source`` onto ``target``
    (N, 2 each; least squares, Umeyama 1991)."""
    a, b = source - source.mean(0), target - target.mean(0)
    u, s, vt = np.linalg.svd(a.T @ b)
    turn = (u @ vt).T
    matrix = turn * s.sum() / max(float((a ** 2).sum()), 1e-12)
    return matrix, target.mean(0) - source.mean(0) @ matrix.T


@dataclass
class Steadying:
    """What a sequence's frame takes from the frames before it, before the blend: each face whose change
    since the frame before the face's own motion explains (``explained``) has its landmarks and detection
    filtered along the frames (``relit.priors.smoothing``) and keeps its crop while the face's own crop
    stays within HOLD of its side of it (a crop that follows the face pixel by pixel slides over the
    network's grid, and the network's passes of the same face change with it); any other face is taken as
    it is. ``grain`` (pixels) is averaged out of the plate the face's albedo is divided from (``fuse``)."""

    grain: int
    change_scale: float  # the blend's: how far the plate may differ from where the motion says (log units)
    landmarks: LandmarkFilter = field(default_factory=LandmarkFilter)
    before: np.ndarray | None = None  # the frame before's network-size plate
    held: list[Window] = field(default_factory=list)

    HOLD = 0.1
    EXPLAINED = 0.95  # of the face's pixels, the share within change_scale of where the face's motion says

    def faces(self, now: np.ndarray, scale: tuple[float, float], faces: list[Face]) -> list[Face]:
        """This frame's faces steadied; ``now`` is its network-size plate, ``scale`` the network's pixels a
        plate pixel (x, y)."""
        before = self.before if self.before is not None and self.before.shape == now.shape else None
        return self.landmarks(faces, partial(self.explained, now, before, np.float32(scale)))

    def explained(self, now: np.ndarray, before: np.ndarray | None, scale: np.ndarray, then: np.ndarray,
                  landmarks: np.ndarray) -> bool:
        """Whether the plate over the face (``landmarks``, plate pixels) is, but for EXPLAINED of it, the
        frame before's moved as the face moved (the similarity from ``landmarks`` to ``then``)."""
        if before is None:
            return False
        points = landmarks[:, :2] * scale  # in the network's pixels
        matrix, shift = _similarity(points, then[:, :2] * scale)
        (x0, y0), (x1, y1) = (np.clip(f(points, axis=0), 0, now.shape[1::-1]).astype(int) for f in (np.min, np.max))
        if x1 <= x0 or y1 <= y0:
            return False
        y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5  # pixel centres, in the network's pixels
        where = np.stack([x, y], -1) @ matrix.T + shift
        moved = bilinear(before, where[..., 1] - 0.5, where[..., 0] - 0.5)
        change = np.abs(now[y0:y1, x0:x1] - moved).mean(-1)
        return bool(np.mean(change < self.change_scale) >= self.EXPLAINED)

    def crops(self, boxes: list[np.ndarray], height: int, width: int) -> list[Window]:
        """Each face's crop: held from the frame before for a face whose track went on."""
        free, windows = list(self.held), []
        for own, continued in zip(face_windows(boxes, height, width), self.landmarks.continued):
            side = own[0].stop - own[0].start
            near = [w for w in (free if continued else []) if w[0].stop <= height and w[1].stop <= width and
                    abs(w[0].stop - w[0].start - side) <= self.HOLD * side and
                    max(abs(w[0].start - own[0].start), abs(w[1].start - own[1].start)) <= self.HOLD * side]
            window = min(near, key=lambda w: abs(w[0].start - own[0].start) + abs(w[1].start - own[1].start),
                         default=own)
            if window in free:
                free.remove(window)
            windows.append(window)
        self.held = windows
        return windows


class TemporalPasses:
    """Passes for the frames of a plate, in order, without flicker.

    Each frame's passes are blended with the previous frame's result carried along the subject's
    motion (``relit.motion``: where each point of the person was, and how its normal turned), in
    proportion to how well that motion explains the plate there: per-frame network jitter averages out
    over about seven frames on the person, still or moving, while pixels the motion does not explain (an
    arm moving on its own, a light switching on) take the new frame, so nothing ghosts; when it
    explains under ``CUT`` of the person (a cut, a jump), the frame starts afresh. The albedo, which
    does not change as a person turns under a fixed light though the plate does, is gated by its own
    change from the carried albedo as well, and averages over about twenty frames. Before the blend, each
    face whose change its own motion explains is steadied (``Steadying``: landmarks filtered, crop held).

    The blend runs at the plate's resolution, after guided upsampling: the upsampling draws fine detail
    from each frame's plate, grain and render noise included, which only a full-resolution history
    averages out. The motion is measured on the network-size plates, where it is cheap."""

    CHANGE_SCALE = 0.3  # how far the plate may differ from where the motion says (log units) before a pixel
    MIN_NEW = 0.15  # takes the new frame; the new frame's weight where the motion explains the plate exactly
    # The albedo's own gate: how far it may differ from the carried albedo before a pixel takes the new
    # frame, its new frame's weight where it does not (about twenty frames averaged), and how steeply the
    # plate's gate takes over (from half the plate's change scale to all of it); tuned on stage sequences
    # (docs/networks.md, Video)
    ALBEDO_CHANGE = 0.1
    ALBEDO_MIN_NEW = 0.05
    ALBEDO_PLATE = 2.0
    CUT = 0.75  # under this fraction of the subject explained, the frame is a cut: the history is dropped
    # frames a resumed run or a farm chunk infers before its first one, so that its first frame is nearly
    # what a single run gives (docs/networks.md, Video)
    WARMUP = 8
    # pixels: the face's albedo is divided from the plate averaged over 3x3 (``fuse``): per-pixel grain,
    # divided anew in every frame, made the skin's albedo flicker several times as much (docs/networks.md)
    GRAIN = 1

    def __init__(self, model: PassesModel | None = None, internal: int | None = None, device: str | None = None,
                 priors: bool = True, prior_passes: bool = False):
        self.model = model or PassesModel.load()
        self.internal, self.device, self.priors, self.prior_passes = internal, device, priors, prior_passes
        self._previous: tuple[np.ndarray, np.ndarray] | None = None  # network-size plate, full-size passes
        self.steady = Steadying(self.GRAIN, self.CHANGE_SCALE)
        self.previous_frame: int | None = None  # the frame number the state holds, when the caller gives one

    def __call__(self, image: Image, matte: np.ndarray | None = None, frame: int | None = None) -> PassStack:
        x_low, low, up, found = _network(image, matte, self.model, self.internal, self.device, self.priors,
                                         self.steady)
        self.steady.before = x_low
        self.previous_frame = frame
        if self._previous is not None and self._previous[0].shape == x_low.shape \
                and self._previous[1].shape == up.shape:
            up = self._blend(x_low, low, up, *self._previous)
        self._previous = (x_low, up)
        # the stack's passes are views of what they are given: the history is given a copy
        stack = _passes(image, up.copy(), x_low.shape[:2], self.model, found, self.prior_passes)
        stack.metadata["passes_source"] += ", temporal smoothing along the motion"
        return stack

    def _blend(self, x_low: np.ndarray, low: np.ndarray, up: np.ndarray, prev_x: np.ndarray, prev_up: np.ndarray
               ) -> np.ndarray:
        """This frame's passes (H, W, 8) blended with the frame before's, carried along the motion."""
        (h, w), (height_full, width_full) = x_low.shape[:2], up.shape[:2]
        subject = low[..., ALPHA.start] > 0.5
        near = box(subject[..., None].astype(np.float32), 2)[..., 0]
        core = near > 0.999 if (near > 0.999).any() else np.ones_like(subject)  # no subject: the frame, still
        height = surface_height(low[..., NORMALS], subject)
        motion = estimate_motion(prev_x, x_low, height, (core & subject).astype(np.float32))
        offset = displacement(motion, height) * (near[..., None] > 0)  # the background stays where it is
        change = residual_change(prev_x, x_low, offset)
        if np.mean(change[core] < self.CHANGE_SCALE) < self.CUT:  # a cut
            return up
        scale = np.float32([height_full / h, width_full / w])
        carried = follow(prev_up, resize(offset, height_full, width_full) * scale)
        carried[..., NORMALS] = motion.rotate(carried[..., NORMALS])
        change = resize(change, height_full, width_full)
        weight = np.clip(change / self.CHANGE_SCALE, self.MIN_NEW, 1.0)
        # Albedo does not change when a person turns under a fixed light, which changes the plate a little: its
        # own change from the carried history says where that history is wrong, unless the plate's is large.
        albedo_change = up[..., ALBEDO] - carried[..., ALBEDO]
        np.abs(albedo_change, out=albedo_change)  # the channels' mean, summed by hand: a strided mean is slow
        albedo_change = box(((albedo_change[..., 0] + albedo_change[..., 1] + albedo_change[..., 2]) / 3)[..., None], 1)
        albedo_weight = np.clip(np.maximum(albedo_change / self.ALBEDO_CHANGE,
                                           self.ALBEDO_PLATE * (change / self.CHANGE_SCALE - 1) + 1),
                                self.ALBEDO_MIN_NEW, 1.0)
        up -= carried  # in place: at 4K each of these arrays is a quarter of a GB
        up[..., :ALBEDO.start] *= weight
        up[..., ALBEDO] *= albedo_weight
        up[..., ALBEDO.stop:] *= weight
        up += carried
        up[..., NORMALS] = normalize(up[..., NORMALS])
        return up
