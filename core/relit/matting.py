"""Matte refinement, Total Relighting's trimap -> refinement stage: the network's alpha becomes a
trimap whose uncertain band is solved by closed-form matting (Levin et al. 2008, via pymatting) on the
plate's own colours, so hair and edges follow the plate rather than the network's 192-pixel view.

Closed-form matting grows faster than the uncertain band (0.5 s at 512 pixels, 20 s at 1080p on this
project's 2-core machine), so it runs at up to ``REFINE_RESOLUTION`` on the short side and is
guided-upsampled beyond. Needs the ``matting`` extra (pymatting).
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from .colour import Image, srgb_space
from .errors import RelitError
from .passes import PassStack
from .upsample import guided_upsample, resize

CERTAIN = 0.005  # network alpha below this is known background, above 1 - this known foreground
BAND = 1  # pixels the known regions give up to the uncertain band
# CERTAIN and BAND were chosen on 24 training files of the stage (SAD, MSE and gradient error all best)
REFINE_RESOLUTION = 512


def trimap(alpha: np.ndarray) -> np.ndarray:
    """(H, W) alpha -> trimap: 0 background, 1 foreground, 0.5 to be solved."""
    from scipy.ndimage import binary_erosion  # here, not at import: every relit command loads this module
    structure = np.ones((2 * BAND + 1, 2 * BAND + 1), bool)
    out = np.full(alpha.shape, 0.5)
    out[binary_erosion(alpha > 1 - CERTAIN, structure, border_value=1)] = 1.0  # the frame edge is no boundary
    out[binary_erosion(alpha < CERTAIN, structure, border_value=1)] = 0.0
    return out


def refine_alpha(image: Image, alpha: np.ndarray) -> np.ndarray:
    """A plate (any colourspace) and its rough alpha (H, W, 1) in [0, 1] -> the refined alpha (H, W, 1)."""
    try:
        from pymatting import estimate_alpha_cf
    except ImportError:
        raise RelitError("matte refinement needs pymatting: pip install 'relit[matting]'") from None
    h, w = alpha.shape[:2]
    scale = min(1.0, REFINE_RESOLUTION / min(h, w))
    sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
    display = np.clip(image.to(srgb_space(image.config)).pixels[..., :3], 0, 1).astype(np.float32)
    small = resize(display, sh, sw) if scale < 1 else display
    tri = trimap(resize(alpha, sh, sw)[..., 0] if scale < 1 else alpha[..., 0])
    if not ((tri == 0).any() and (tri == 1).any() and (tri == 0.5).any()):
        return alpha  # nothing to solve, or nothing known to solve it from
    with contextlib.redirect_stdout(io.StringIO()):  # pymatting prints its preconditioner's fallbacks
        solved = estimate_alpha_cf(small.astype(np.float64), tri)
    solved = np.clip(solved, 0, 1).astype(np.float32)[..., None]
    if scale == 1:
        return solved
    return np.clip(guided_upsample(solved, small.mean(axis=-1), display.mean(axis=-1)), 0, 1)


def refine_matte(image: Image, stack: PassStack) -> PassStack:
    """The pass stack with its alpha refined on ``image``, the plate it was inferred from."""
    out = stack.replace(alpha=refine_alpha(image, stack.alpha))
    out.metadata["alpha_refinement"] = f"closed-form matting at up to {REFINE_RESOLUTION} px"
    return out
