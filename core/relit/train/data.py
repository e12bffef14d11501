"""Training batches. Virtual light stage samples: the same person under two lightings per pair (Lumos's
lighting-consistency loss), random crop/zoom/flip, a camera after the render (illuminant, tone curve,
blur, noise, greyscale), a degraded copy of the true matte as the optional user-matte input, and the
priors (``relit.priors``) computed on the render as on any plate. Real portraits (synthetic-to-real):
each crop twice under different jitter, with a teacher's matte (the person prior, or
scripts/teacher_mattes.py's) and no other label."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from ..colour import Image
from ..errors import RelitError
from ..estimate import NET_COLOURSPACE, NO_MATTE, mean_luminance, normalise
from ..io import READ_FORMATS, read_image, read_matte, read_passes
from ..priors import PRIOR_CHANNELS, PRIOR_MIRROR_SIGNS, compute_priors, network_input
from ..stage.scene import skin_mask
from ..upsample import resize
from .jpeg import jpeg

# channels of a stacked sample: input (3), alpha (1), normals (3), albedo (3), roughness (1), the
# person alone (3: premultiplied, on the input's scale) for putting them over another background, and
# where the skin is (1: the evaluation's ``skin_mask``), and the priors (``relit.priors.network_input``)
SLICES = {"image": slice(0, 3), "alpha": slice(3, 4), "normals": slice(4, 7), "albedo": slice(7, 10),
          "roughness": slice(10, 11), "person": slice(11, 14), "skin": slice(14, 15),
          "priors": slice(15, 15 + PRIOR_CHANNELS)}
REAL_SLICES = {"image": slice(0, 3), "teacher": slice(3, 4), "priors": slice(4, 4 + PRIOR_CHANNELS)}
NEW_BACKGROUND = 0.5  # share of stage samples put over a procedural background instead of their HDRI's view
OTHER_PERSON = 0.4  # share of those with another person behind, to one side (a crowd, a two-shot)
FLAG = 0.25  # share of those with a flag behind (striped, folded: portraits in offices and halls of state)
BLURRED = 0.25  # share of samples softened by up to a 3x3 box
GREYSCALE = 0.15  # share of samples turned grey
JPEG_SHARE = 0.3  # share of samples saved as JPEG by the camera, at a quality drawn from JPEG_QUALITY
JPEG_QUALITY = (30.0, 95.0)
# The JPEG camera's exposure and curve: the frame's mean luminance at display value 0.18 (highlights over
# 5.6 times the mean clip, as they do in photos), encoded with a 2.2 power
JPEG_EXPOSURE = 0.18
CAMERA_GAMMA = 2.2


def sample_array(path: Path, priors: bool = True) -> np.ndarray:
    """(20, H, W) float16: the normalised composite (what a photo would show), the true passes, the
    premultiplied person on the same scale, in log form like the input, the skin mask and the priors
    of the composite."""
    stack = read_passes(path)
    stack.require("composite", "alpha", "normals", "albedo", "roughness", "relit")
    composite, albedo, relit = (Image(p, stack.colourspace).to(NET_COLOURSPACE).pixels
                                for p in (stack.composite, stack.albedo, stack.relit))
    person = np.log1p(np.maximum(relit * stack.alpha, 0) / mean_luminance(composite))
    skin = skin_mask(stack)[..., None].astype(np.float32)
    prior = network_input(compute_priors(Image(stack.composite, stack.colourspace))) if priors else \
        np.zeros((*stack.shape, PRIOR_CHANNELS), np.float32)
    arr = np.concatenate([normalise(composite), stack.alpha, stack.normals, albedo, stack.roughness, person, skin,
                          prior], -1)
    return arr.transpose(2, 0, 1).astype(np.float16)


def manifest_entries(folder: Path, split: str, limit: int | None = None) -> list[dict]:
    """The manifest's samples of one split whose files exist (the first ``limit``)."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise RelitError("no manifest.json: render with `relit stage render` first", folder)
    entries = [e for e in json.loads(manifest.read_text())["samples"] if e["split"] == split]
    entries = [e for e in entries if (folder / e["file"]).is_file()][: limit or None]
    if not entries:
        raise RelitError(f"no {split} samples in the manifest", manifest)
    return entries


@dataclass
class StageData:
    samples: torch.Tensor  # (N, 20, H, W) float16: sample_array's
    pairs: list[list[int]]  # per identity, the sample indices of its lightings
    files: list[str]

    @classmethod
    def load(cls, folder: str | Path, split: str, limit: int | None = None, priors: bool = True) -> "StageData":
        """The split's samples; without ``priors`` their channels are zeros (computing them takes a while)."""
        folder = Path(folder)
        entries = manifest_entries(folder, split, limit)
        arrays, by_identity = [], defaultdict(list)
        for i, entry in enumerate(tqdm(entries, desc=f"load {split}", unit="file", leave=False)):
            arrays.append(sample_array(folder / entry["file"], priors))
            by_identity[entry["identity"]].append(i)
        return cls(torch.from_numpy(np.stack(arrays)), list(by_identity.values()), [e["file"] for e in entries])

    def batch(self, size: int, res: int, generator: torch.Generator, variety: bool = False
              ) -> dict[str, torch.Tensor]:
        """``size`` samples (pairs of lightings of one person where there are two) at ``res`` pixels; with
        ``variety``, people behind and the camera's soft focus and greyscale too."""
        people = torch.randint(len(self.pairs), (max(1, size // 2),), generator=generator).tolist()
        index, crops = [], []
        for p in people:
            group = self.pairs[p]
            pick = torch.randperm(len(group), generator=generator)[:2].tolist()
            pick = pick if len(pick) == 2 else pick * 2
            index += [group[i] for i in pick]
            crops += [torch.rand(4, generator=generator)] * 2  # both lightings share the crop
        x, flip = _crop(self.samples[index].float(), torch.stack(crops), res)
        out = {k: x[:, s] for k, s in SLICES.items()}
        out["normals"] = F.normalize(out["normals"] * _mirror_signs(flip, [-1, 1, 1]), dim=1)
        out["priors"] = out["priors"] * _mirror_signs(flip, PRIOR_MIRROR_SIGNS)
        out["image"] = _jitter(_new_background(out["image"], out.pop("person"), out["alpha"], generator, variety),
                               generator, variety)
        out["matte"] = _matte_prior(out["alpha"], generator)
        return out


@dataclass
class RealData:
    """Real portraits (normalised linear Rec.709), their teacher mattes and priors, (N, 4 + PRIOR_CHANNELS,
    S, S) float16 in REAL_SLICES' order."""

    samples: torch.Tensor
    files: list[str]

    @classmethod
    def load(cls, photos: str | Path, mattes: str | Path | None = None, size: int = 256) -> "RealData":
        """The photos in ``photos`` with, as teacher, their matte in ``mattes`` (<stem>.png; only the photos
        that have one), or without ``mattes`` their person prior (MediaPipe's selfie segmentation, which
        scripts/teacher_mattes.py runs through MediaPipe itself)."""
        arrays, files = [], []
        for photo_path in sorted(p for p in Path(photos).iterdir() if p.suffix.lower() in READ_FORMATS):
            matte_path = Path(mattes) / f"{photo_path.stem}.png" if mattes else None
            if matte_path is not None and not matte_path.is_file():
                continue
            image = read_image(photo_path)
            priors = compute_priors(image)
            teacher = read_matte(matte_path) if matte_path is not None else np.asarray(priors.person)
            rgb = image.to(NET_COLOURSPACE).pixels[..., :3]
            x = np.concatenate([normalise(resize(rgb, size, size)), resize(teacher, size, size),
                                resize(network_input(priors), size, size)], -1)
            arrays.append(x.transpose(2, 0, 1).astype(np.float16))
            files.append(photo_path.name)
        if not arrays:
            raise RelitError("no photos with teacher mattes (<stem>.png) here", mattes or photos)
        return cls(torch.from_numpy(np.stack(arrays)), files)

    def batch(self, size: int, res: int, generator: torch.Generator, variety: bool = False
              ) -> dict[str, torch.Tensor]:
        """``size`` crops (an even number): rows 2k and 2k+1 are one crop under two jitters."""
        index = torch.randint(len(self.files), (max(1, size // 2),), generator=generator).repeat_interleave(2)
        crops = torch.rand(len(index) // 2, 4, generator=generator).repeat_interleave(2, 0)
        x, flip = _crop(self.samples[index].float(), crops, res)
        out = {k: x[:, s] for k, s in REAL_SLICES.items()}
        out["priors"] = out["priors"] * _mirror_signs(flip, PRIOR_MIRROR_SIGNS)
        out["image"] = _jitter(out["image"], generator, variety)
        out["matte"] = _matte_prior(out["teacher"], generator)
        return out


def _mirror_signs(flip: torch.Tensor, signs: list[float] | np.ndarray) -> torch.Tensor:
    """(N, C, 1, 1): ``signs`` (the channels that change sign in a mirror image) where ``flip`` (N,) is -1,
    else 1."""
    signs = torch.as_tensor(np.asarray(signs, np.float32))
    return torch.where(flip[:, None] < 0, signs[None], torch.ones_like(signs)[None])[:, :, None, None]


def _crop(x: torch.Tensor, c: torch.Tensor, res: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random zoom (a window of 50-100% of the frame: the person at 1-2x size), shift and mirror, one per
    row of ``c`` (N, 4) uniform numbers; returns the crops and each one's x sign (-1: mirrored)."""
    scale = 0.5 + 0.5 * c[:, 0]
    flip = torch.where(c[:, 3] < 0.5, -1.0, 1.0)
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0] = scale * flip
    theta[:, 1, 1] = scale
    theta[:, 0, 2] = (1 - scale) * (2 * c[:, 1] - 1)
    theta[:, 1, 2] = (1 - scale) * (2 * c[:, 2] - 1)
    grid = F.affine_grid(theta, [len(x), x.shape[1], res, res], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False), flip


def _new_background(image: torch.Tensor, person: torch.Tensor, alpha: torch.Tensor,
                    generator: torch.Generator, variety: bool = False) -> torch.Tensor:
    """Some samples get a procedural background (smooth colour fields with hard-edged blocks, like walls
    and windows behind real sitters) in place of their blurred HDRI, renormalised like a photo; with
    ``variety``, a share of those hang a flag behind the sitter and a share have another person of the
    batch standing behind, to one side, out of focus (without it no number is drawn for them: model
    0.4's batches are as they were)."""
    n, _, h, w = image.shape
    field = F.interpolate(torch.rand(n, 3, 4, 4, generator=generator), size=(h, w), mode="bicubic",
                          align_corners=False)
    blocks = F.interpolate(torch.rand(n, 3, 3, 3, generator=generator), size=(h, w), mode="nearest")
    mix = torch.rand(n, 1, 1, 1, generator=generator)
    level = torch.exp(torch.randn(n, 1, 1, 1, generator=generator) * 0.7)
    background = level * (mix * field + (1 - mix) * blocks).clamp(min=0.01)
    if variety:
        hung = (torch.rand(n, 1, 1, 1, generator=generator) < FLAG).float()
        background = background + hung * (level * _flag(n, h, w, generator) - background)
        other, other_alpha = _beside(torch.expm1(person).roll(2, 0) * level, alpha.roll(2, 0), generator)
        behind = (torch.rand(n, 1, 1, 1, generator=generator) < OTHER_PERSON).float() * other_alpha
        background = background + behind * (other / other_alpha.clamp(min=1e-3) - background)
    linear = torch.expm1(person) + (1 - alpha) * background
    luma = (linear * torch.tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    replaced = torch.log1p(linear / luma.mean((2, 3), keepdim=True).clamp(min=1e-6))
    use = (torch.rand(n, 1, 1, 1, generator=generator) < NEW_BACKGROUND).float()
    return use * replaced + (1 - use) * image


def _flag(n: int, h: int, w: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 3, h, w) flags filling the frame: 2-13 bands of two saturated colours, across or down, half
    with a canton of a third colour sprinkled with light dots, hung in folds (shading across the
    stripes); values in (0, 1]."""
    out = torch.empty(n, 3, h, w)
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    for i in range(n):
        colours = torch.rand(3, 3, generator=generator) ** 2
        colours /= colours.amax(1, keepdim=True).clamp(min=1e-3)  # saturated: the brightest channel at 1
        bands = int(torch.randint(2, 14, (1,), generator=generator))
        across = bool(torch.rand(1, generator=generator) < 0.5)
        scale = 0.5 + 1.5 * float(torch.rand(1, generator=generator))  # how much of the flag the frame sees
        band = ((y if across else x) * bands * scale).long() % 2
        flag = colours[band.flatten()].T.reshape(3, h, w)
        if torch.rand(1, generator=generator) < 0.5:
            canton = (x < 0.4) & (y < 0.45)  # the top corner of the frame
            dots = torch.rand(h, w, generator=generator) < 0.02
            flag = torch.where(canton, torch.where(dots, 1.0, colours[2].view(3, 1, 1)), flag)
        folds = 1 + 2.5 * float(torch.rand(1, generator=generator))
        phase = 6.3 * float(torch.rand(1, generator=generator))
        shade = 0.55 + 0.45 * torch.sin((x if across else y) * folds * 6.283 + phase) ** 2
        out[i] = (flag * shade).clamp(min=0.01)
    return out


def _beside(person: torch.Tensor, alpha: torch.Tensor, generator: torch.Generator
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """A premultiplied person and its matte moved to one side (its centre by 20-90% of the frame's
    width), sized 0.7-1.25 times, and softened like a background out of focus."""
    n = len(alpha)
    scale = 0.8 + 0.6 * torch.rand(n, generator=generator)
    side = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale, scale
    theta[:, 0, 2] = side * (0.6 + 0.8 * torch.rand(n, generator=generator))
    theta[:, 1, 2] = -0.3 * torch.rand(n, generator=generator)
    x = torch.cat([person, alpha], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    moved = F.avg_pool2d(F.grid_sample(x, grid, padding_mode="zeros", align_corners=False), 5, 1, 2,
                         count_include_pad=False)
    return moved[:, :3], moved[:, 3:]


def _jitter(image: torch.Tensor, generator: torch.Generator, variety: bool = False) -> torch.Tensor:
    """A camera after the render, in linear light: another illuminant colour, a tone curve (contrast and
    a highlight shoulder, as in photos linearised from JPEG), a soft lens or focus (a BLURRED share),
    sensor noise, a greyscale print (a GREYSCALE share: archive and black-and-white plates) and JPEG
    compression (a JPEG_SHARE, ``relit.train.jpeg``); the soft focus, greyscale and JPEG only with
    ``variety``."""
    n = image.shape[0]
    linear = torch.expm1(image)
    gain = torch.exp(0.15 * torch.randn(n, 3, 1, 1, generator=generator))
    linear = linear * gain / gain.mean(1, keepdim=True)
    gamma = 0.8 + 0.45 * torch.rand(n, 1, 1, 1, generator=generator)
    white = 2 + 18 * torch.rand(n, 1, 1, 1, generator=generator)
    linear = linear.clamp(min=0) ** gamma
    linear = torch.where(torch.rand(n, 1, 1, 1, generator=generator) < 0.5, linear / (1 + linear / white), linear)
    if variety:
        soft = (torch.rand(n, 1, 1, 1, generator=generator) < BLURRED).float() * \
            torch.rand(n, 1, 1, 1, generator=generator)
        linear = linear + soft * (F.avg_pool2d(linear, 3, 1, 1, count_include_pad=False) - linear)
    noise = 0.02 * torch.rand(n, 1, 1, 1, generator=generator)
    linear = linear + noise * torch.sqrt(linear.clamp(min=0) + 1e-3) * torch.randn(linear.shape, generator=generator)
    if variety:
        grey = (torch.rand(n, 1, 1, 1, generator=generator) < GREYSCALE).float()
        luma = (linear * torch.tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        linear = linear + grey * (luma - linear)
        saved = torch.rand(n, generator=generator) < JPEG_SHARE
        if saved.any():
            low, high = JPEG_QUALITY
            quality = torch.round(low + (high - low) * torch.rand(int(saved.sum()), generator=generator))
            encoded = (linear[saved].clamp(min=0) * JPEG_EXPOSURE).clamp(max=1) ** (1 / CAMERA_GAMMA)
            linear[saved] = jpeg(encoded, quality) ** CAMERA_GAMMA / JPEG_EXPOSURE
    return torch.log1p(linear.clamp(min=0))


def _matte_prior(alpha: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Half the batch gets a rough roto (eroded or dilated, blurred) of the true matte, the rest none."""
    k = 2 * int(torch.randint(1, 6, (1,), generator=generator)) + 1
    grown = F.max_pool2d(alpha, k, 1, k // 2) if torch.rand(1, generator=generator) < 0.5 \
        else -F.max_pool2d(-alpha, k, 1, k // 2)
    rough = F.avg_pool2d(grown, k, 1, k // 2, count_include_pad=False)
    use = (torch.rand(alpha.shape[0], 1, 1, 1, generator=generator) < 0.5).float()
    return use * rough + (1 - use) * NO_MATTE
