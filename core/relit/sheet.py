"""Contact sheets: every pass of a stack side by side, labelled, as an sRGB PNG for review."""
from __future__ import annotations

import os

import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as ocio

from .colour import Image, resolve_config, srgb_space
from .io import write_image
from .passes import PASS_BY_NAME, PassStack

LABEL_HEIGHT = 22


def _display(name: str, arr: np.ndarray, colourspace: str, config: ocio.Config) -> np.ndarray:
    """A pass as display-referred sRGB pixels in [0, 1]: colour through OCIO, data remapped."""
    if PASS_BY_NAME[name].colour:
        return np.clip(Image(arr, colourspace, config).to(srgb_space(config)).pixels, 0, 1)
    if name == "normals":
        return arr * 0.5 + 0.5
    grey = arr[..., :1]
    if name == "depth":
        inside = grey > 0
        lo, hi = (grey[inside].min(), grey[inside].max()) if inside.any() else (0.0, 1.0)
        grey = np.where(inside, 1 - (grey - lo) / max(hi - lo, 1e-6) * 0.8, 0)
    return np.repeat(np.clip(grey, 0, 1), 3, axis=2)


Tile = tuple[str, str, np.ndarray]  # label, the pass it shows (for display), pixels (H, W, C)


def contact_sheet(stacks: list[tuple[str, PassStack]], path: str | os.PathLike[str], tile: int = 256,
                  config: ocio.Config | None = None) -> None:
    """One row per stack (its title first), one labelled tile per pass."""
    rows = [(title, stack.colourspace, [(name, name, arr) for name, arr in stack.items()]) for title, stack in stacks]
    tile_sheet(rows, path, tile, config)


def tile_sheet(rows: list[tuple[str, str, list[Tile]]], path: str | os.PathLike[str], tile: int = 256,
               config: ocio.Config | None = None) -> None:
    """One row per (title, colourspace of its colour tiles, tiles), each tile labelled."""
    cfg = resolve_config(config)
    columns = max(len(tiles) for _, _, tiles in rows)
    sheet = np.zeros((len(rows) * (tile + LABEL_HEIGHT), columns * tile, 3), np.float32)
    for row, (title, colourspace, tiles) in enumerate(rows):
        for col, (_, name, arr) in enumerate(tiles):
            h, w = arr.shape[:2]
            scale = tile / max(h, w)
            th, tw = max(1, round(h * scale)), max(1, round(w * scale))
            disp = np.ascontiguousarray(_display(name, arr, colourspace, cfg), np.float32)
            small = oiio.ImageBufAlgo.resize(oiio.ImageBuf(disp), roi=oiio.ROI(0, tw, 0, th, 0, 1, 0, 3))
            y0 = row * (tile + LABEL_HEIGHT) + LABEL_HEIGHT
            x0 = col * tile + (tile - tw) // 2
            sheet[y0:y0 + th, x0:x0 + tw] = np.asarray(small.get_pixels(oiio.FLOAT)).reshape(th, tw, 3)
        buf = oiio.ImageBuf(sheet)
        for col, (label, _, _) in enumerate(tiles):
            text = f"{title}: {label}" if col == 0 else label
            oiio.ImageBufAlgo.render_text(buf, col * tile + 4, row * (tile + LABEL_HEIGHT) + 16, text, 14, "",
                                          (1.0, 1.0, 1.0))
        sheet = np.asarray(buf.get_pixels(oiio.FLOAT)).reshape(sheet.shape)
    write_image(path, Image(sheet, srgb_space(cfg), cfg))
