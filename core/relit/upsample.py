"""Resampling images: bilinear look-ups at any points, area-averaging resizes, and the edge-aware
upsampling of low-resolution network passes to the plate's resolution.

The networks run at a few hundred pixels; a 1080p or 4K plate gets its passes through the fast
guided filter (He and Sun 2015; the idea behind Robust Video Matting's deep guided filter): a local
linear model ``out = a * guide + b`` is fitted at low resolution, its coefficients are upsampled
smoothly and applied to the full-resolution guide, so edges (hair, the silhouette) follow the plate.
"""
from __future__ import annotations

import numpy as np

ROWS_PER_BLOCK = 16  # full-resolution rows made at once: every channel's values for them stay in cache


def box(img: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, shrinking at the borders: (H, W, C), float32. One axis at a time, each a
    sum of 2r+1 shifted slices: the radii here are small, and a summed-area table of a 1080p plate (float64,
    its corners gathered) took four times as long."""
    out = np.asarray(img, np.float32)
    for axis in (0, 1):
        out = _window_mean(out, radius, axis)
    return out


def _window_mean(img: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Mean of each run of 2r+1 values along ``axis`` (0 or 1), shrinking at the ends: a new array."""
    n = img.shape[axis]

    def part(start: int | None, stop: int | None) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(start, stop),)

    total = img.copy()
    for d in range(1, min(radius, n - 1) + 1):
        total[part(d, None)] += img[part(None, -d)]
        total[part(None, -d)] += img[part(d, None)]
    i = np.arange(n)
    count = (np.minimum(i + radius, n - 1) - np.maximum(i - radius, 0) + 1).astype(np.float32)
    total /= count.reshape((n,) + (1,) * (img.ndim - 1 - axis))
    return total


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """(H // factor, W // factor, C) float32: the mean of each factor x factor block of ``image`` (H, W, ...),
    summed a slice at a time (numpy's mean over two strided axes took ten times as long)."""
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:h, :w].reshape(h // factor, factor, w // factor, factor, -1)
    rows = blocks[:, 0].astype(np.float32)
    for k in range(1, factor):
        rows += blocks[:, k]
    out = rows[:, :, 0].copy()
    for k in range(1, factor):
        out += rows[:, :, k]
    out /= factor * factor
    return out


def _taps(size: int, new_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of a linear resize along one axis, pixel centres aligned, clamped."""
    pos = np.clip((np.arange(new_size) + 0.5) * (size / new_size) - 0.5, 0, size - 1)
    i0 = np.minimum(np.floor(pos).astype(np.int64), max(size - 2, 0))
    return i0, np.minimum(i0 + 1, size - 1), (pos - i0).astype(np.float32)


class Resized:
    """``image`` (h, w, C) resized to (height, width, C), made a window at a time: ``resized[rows, cols]``
    (slices, steps allowed) is that window of the whole resize, which is never held (an 8K plate's
    probability of a person is 0.13 GB); ``np.asarray(resized)`` makes the whole. Bilinear, one axis at a
    time (the 2D gather is several times slower at 1080p), area-averaged first when shrinking by 2x or
    more so that the result is not aliased."""

    def __init__(self, image: np.ndarray, height: int, width: int):
        h, w = image.shape[:2]
        factor = min(h // height, w // width)
        if factor >= 2:
            image = block_mean(image, factor)
        self.image = image
        self.shape = (height, width) + image.shape[2:]
        self._taps = _taps(image.shape[0], height), _taps(image.shape[1], width)

    def __getitem__(self, window: slice | tuple[slice, ...]) -> np.ndarray:
        rows, cols = (tuple(window) + (slice(None),) * 2)[:2] if isinstance(window, tuple) else (window, slice(None))
        (r0, r1, fr), (c0, c1, fc) = ([a[part] for a in taps] for part, taps in zip((rows, cols), self._taps))
        lines = self.image[r0] * (1 - fr)[:, None, None] + self.image[r1] * fr[:, None, None]
        return (lines[:, c0] * (1 - fc)[None, :, None] + lines[:, c1] * fc[None, :, None]).astype(np.float32)

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        whole = self[:, :]
        return whole if dtype is None else whole.astype(dtype)


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize (H, W, C) -> (height, width, C) (``Resized``, whole)."""
    return Resized(img, height, width)[:, :]


def guided_upsample(low: np.ndarray, guide_low: np.ndarray, guide: np.ndarray, radius: int = 2,
                    eps: float = 1e-3) -> np.ndarray:
    """Upsample ``low`` (h, w, C) to the resolution of ``guide`` (H, W) using the local linear model
    fitted against ``guide_low`` (h, w), the guide at the network's resolution."""
    g = guide_low[..., None]
    mean_g = box(g, radius)
    mean_p = box(low, radius)
    cov = box(g * low, radius) - mean_g * mean_p
    var = box(g * g, radius) - mean_g * mean_g
    a = cov / (var + eps)
    b = mean_p - a * mean_g
    a, b = box(a, radius), box(b, radius)
    height, width = guide.shape[:2]
    if height < a.shape[0] or width < a.shape[1]:  # not an upsampling: resize's area average applies
        return resize(a, height, width) * guide[..., None] + resize(b, height, width)
    # columns at the network's rows first, then a few full-resolution rows at a time with every channel:
    # the output is written in order (channel by channel, its channel-last stores were strided: 2.5x slower)
    a, b = resize(a, a.shape[0], width), resize(b, b.shape[0], width)
    r0, r1, fr = _taps(a.shape[0], height)
    out = np.empty((height, width, a.shape[-1]), np.float32)
    for start in range(0, height, ROWS_PER_BLOCK):
        rows = slice(start, start + ROWS_PER_BLOCK)
        f = fr[rows, None, None]
        block = out[rows]
        np.multiply(a[r0[rows]] * (1 - f) + a[r1[rows]] * f, guide[rows, :, None], out=block)
        block += b[r0[rows]] * (1 - f) + b[r1[rows]] * f
    return out


LOOKUPS_PER_BLOCK = 1 << 18  # bilinear look-ups made at once: their corners and weights stay small at any size


def bilinear(img: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Bilinear look-up of an (H, W, C) image at float pixel coordinates (centres at integers), clamped
    at the borders: (..., C) for coordinates (...). Each corner's C values are gathered as one row and
    weighted in place, a block of look-ups at a time (a 4K frame's look-ups all at once held six copies of
    the image; gathering channel by channel needed the image transposed first: 1.7x the time at 1080p)."""
    h, w = img.shape[:2]
    flat = img.reshape(h * w, -1)
    shape = np.shape(row) + img.shape[2:]
    row, col = np.asarray(row).reshape(-1), np.asarray(col).reshape(-1)
    down, right = (w if h > 1 else 0), (1 if w > 1 else 0)
    out = np.empty((len(row), flat.shape[1]), img.dtype)
    for start in range(0, len(row), LOOKUPS_PER_BLOCK):
        rows, cols = row[start:start + LOOKUPS_PER_BLOCK], col[start:start + LOOKUPS_PER_BLOCK]
        r0 = np.clip(np.floor(rows).astype(np.int32), 0, max(h - 2, 0))
        c0 = np.clip(np.floor(cols).astype(np.int32), 0, max(w - 2, 0))
        fr = np.clip(rows - r0, 0, 1).astype(img.dtype)[:, None]  # not float64 (int minus float): twice the work
        fc = np.clip(cols - c0, 0, 1).astype(img.dtype)[:, None]
        i = r0 * w + c0  # flat indices: np.take is several times faster than 2D fancy indexing
        top, b = np.take(flat, i, axis=0), np.take(flat, i + right, axis=0)
        b -= top
        b *= fc
        top += b  # a + (b - a) fc
        bottom, b = np.take(flat, i + down, axis=0), np.take(flat, i + down + right, axis=0)
        b -= bottom
        b *= fc
        bottom += b
        bottom -= top
        bottom *= fr
        top += bottom
        out[start:start + len(rows)] = top
    return out.reshape(shape)


def fill_near(values: np.ndarray, defined: np.ndarray, steps: int) -> None:
    """Continue (H, W, C) ``values`` (contiguous), in place, from the ``defined`` (H, W) pixels to those up to
    ``steps`` pixels away, each taking the mean of its 4-neighbours already filled, a ring at a time: a
    straight pass carried a little past its matte shows no black specks where the matte is 0 between
    strands of hair. Only the rings are touched (a 1080p matte's outline is tens of thousands of pixels)."""
    if not values.flags.c_contiguous:  # its reshape would be a copy, filled in vain
        raise ValueError("fill_near fills contiguous values in place")
    h, w = defined.shape
    flat = values.reshape(h * w, -1)
    known = defined.ravel().copy()
    outline = np.zeros((h, w), bool)
    outline[:-1] |= defined[:-1] & ~defined[1:]
    outline[1:] |= defined[1:] & ~defined[:-1]
    outline[:, :-1] |= defined[:, :-1] & ~defined[:, 1:]
    outline[:, 1:] |= defined[:, 1:] & ~defined[:, :-1]
    ring = np.flatnonzero(outline)
    for _ in range(steps):
        around = np.concatenate([neighbour[inside] for neighbour, inside in _neighbours(ring, h, w)])
        ring = np.unique(around[~known[around]])
        if not len(ring):
            return
        total, count = np.zeros((len(ring), flat.shape[1]), np.float32), np.zeros(len(ring), np.float32)
        for neighbour, inside in _neighbours(ring, h, w):
            use = inside & known[np.where(inside, neighbour, 0)]
            total[use] += flat[neighbour[use]]
            count[use] += 1
        flat[ring] = total / count[:, None]
        known[ring] = True


def _neighbours(ring: np.ndarray, h: int, w: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The 4-neighbours of flat pixel indices in an (h, w) frame, each with where it lies in the frame."""
    col = ring % w
    return ((ring - w, ring >= w), (ring + w, ring < (h - 1) * w), (ring - 1, col > 0), (ring + 1, col < w - 1))
