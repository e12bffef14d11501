"""The shading network (Total Relighting's last stage): a learned refinement of the engine's light.

The physical engine misses what screen-space methods cannot see (a head shadowing itself from the
environment, light scattered through hair) and inherits the passes network's errors (an albedo that
is too bright or too dark). The shading network looks at the passes and the engine's diffuse and
specular light under the target lighting, at a low resolution, and returns a smooth per-pixel gain
for each; relit stays albedo x diffuse + specular with the refined light. It is its own step after the
engine (``refine`` on what ``relit.relight.relight`` gives), which knows nothing of networks. Inputs are
in linear Rec.709 like the passes network's, the light divided by its mean luminance over the subject
(exposure-invariant) in log form.
"""
from __future__ import annotations

import numpy as np
import PyOpenColorIO as ocio

from .colour import Image, resolve_config
from .estimate import LUMA, NET_COLOURSPACE
from .models import ShippedNetwork, run, session
from .passes import PassStack
from .relight import EDGE_FILL
from .upsample import fill_near, resize

FEATURES = 14  # alpha, normals (3), albedo (3), roughness, diffuse (3), specular (3)
MAX_LOG_GAIN = 2.0  # gains stay within exp(+-2)


class ShadingModel(ShippedNetwork):
    DEFAULT = "shading.onnx"
    MULTIPLE = 8  # the U-Net pools three times


def light_scale(diffuse: np.ndarray, alpha: np.ndarray) -> float:
    """Mean luminance of the diffuse light (linear Rec.709) over the subject: what the light inputs are
    divided by."""
    subject = alpha[..., 0] > 0.5
    lum = np.maximum(diffuse, 0) @ LUMA
    return max(float(lum[subject].mean()) if subject.any() else float(lum.mean()), 1e-6)


def features(alpha: np.ndarray, normals: np.ndarray, albedo: np.ndarray, roughness: np.ndarray | None,
             diffuse: np.ndarray, specular: np.ndarray) -> tuple[np.ndarray, float]:
    """The network's input (h, w, FEATURES) from passes at its resolution, colour ones in linear Rec.709,
    and the light scale it was divided by."""
    scale = light_scale(diffuse, alpha)
    rough = roughness if roughness is not None else np.full(alpha.shape, 0.45, np.float32)
    x = np.concatenate([alpha, normals, np.clip(albedo, 0, 1), rough, np.log1p(np.maximum(diffuse, 0) / scale),
                        np.log1p(np.maximum(specular, 0) / scale)], -1)
    return x.astype(np.float32), scale


def network_input(alpha: np.ndarray, normals: np.ndarray, albedo: np.ndarray, roughness: np.ndarray | None,
                  diffuse: np.ndarray, specular: np.ndarray, colourspace: str, config: ocio.Config,
                  size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Full-resolution passes and light (colour ones in ``colourspace``) -> ``features`` at ``size``."""
    def low(x: np.ndarray, colour: bool = False) -> np.ndarray:
        x = resize(x, *size)
        return Image(x, colourspace, config).to(NET_COLOURSPACE).pixels if colour else x

    n = low(normals)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-6)
    rough = low(roughness) if roughness is not None else None
    inside = alpha > 0  # the light as the network learned it: none past the matte (the engine carries it on)
    return features(low(alpha), n, low(albedo, True), rough, low(np.where(inside, diffuse, 0), True),
                    low(np.where(inside, specular, 0), True))


def refine_light(alpha: np.ndarray, normals: np.ndarray, albedo: np.ndarray, roughness: np.ndarray | None,
                 diffuse: np.ndarray, specular: np.ndarray, colourspace: str, config: ocio.Config | None = None,
                 model: ShadingModel | None = None, device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The engine's diffuse and specular light (H, W, 3, in ``colourspace``) times the shading network's
    gains, found at its resolution and bilinearly upsampled (in log form): the refined pair."""
    model, config = model or ShadingModel.load(), resolve_config(config)
    h, w = alpha.shape[:2]
    x, _ = network_input(alpha, normals, albedo, roughness, diffuse, specular, colourspace, config, model.size(h, w))
    gains = run(session(model.path, device), features=x.transpose(2, 0, 1)[None])[0][0].transpose(1, 2, 0)
    gains = np.exp(resize(np.log(gains), h, w))
    out = []
    for light, gain in ((diffuse, gains[..., :3]), (specular, gains[..., 3:])):
        rec709 = Image(light, colourspace, config).to(NET_COLOURSPACE)
        out.append(Image(rec709.pixels * gain, NET_COLOURSPACE, config).to(colourspace).pixels.astype(np.float32))
    return out[0], out[1]


def refine(lit: PassStack, model: ShadingModel | None = None, config: ocio.Config | None = None,
           device: str | None = None) -> PassStack:
    """A stack the engine lit (``relit.relight.relight``) with its diffuse and specular light refined by the
    shading network, relit made again from them, and the composite with the new relit over the same
    background (what the old composite holds beside the old relit)."""
    lit.require("normals", "albedo", "diffuse", "specular")
    model = model or ShadingModel.load()
    alpha = lit.alpha if lit.alpha is not None else np.ones(lit.shape + (1,), np.float32)
    diffuse, specular = refine_light(alpha, lit.normals, lit.albedo, lit.roughness, lit.diffuse, lit.specular,
                                     lit.colourspace, config, model, device)
    inside = alpha[..., 0] > 0
    relit = np.where(inside[..., None], lit.albedo * diffuse + specular, 0).astype(np.float32)
    fill_near(relit, inside, EDGE_FILL)  # carried past the matte as the engine's (its light already is)
    passes = {"diffuse": diffuse, "specular": specular, "relit": relit}
    if lit.composite is not None and lit.relit is not None:
        passes["composite"] = lit.composite + (relit - lit.relit) * alpha
    out = lit.replace(**passes)
    out.metadata["shading"] = f"relit shading network {model.version}"
    return out
