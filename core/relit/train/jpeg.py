"""Baseline JPEG as a camera writes it (4:2:0 chroma, 8x8 DCT blocks quantized by the IJG tables scaled to a
quality), in torch, for a batch: the blocking, ringing and chroma bleed of the compressed photos relit is
given, without an encoder per sample. The entropy coding JPEG adds is lossless, so this is the whole loss."""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

# The IJG (libjpeg) base quantization tables, Annex K of the standard, at quality 50
LUMA_TABLE = torch.tensor([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=torch.float32).view(8, 8)
CHROMA_TABLE = torch.full((8, 8), 99.0)
CHROMA_TABLE[:4, :4] = torch.tensor([17, 18, 24, 47, 18, 21, 26, 66, 24, 26, 56, 99, 47, 66, 99, 99],
                                    dtype=torch.float32).view(4, 4)
_k = torch.arange(8, dtype=torch.float32)
DCT = torch.cos((2 * _k[None, :] + 1) * _k[:, None] * math.pi / 16) * \
    torch.where(_k[:, None] == 0, math.sqrt(1 / 8), math.sqrt(2 / 8))  # orthonormal 8-point DCT-II rows


def tables(base: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """(N, 8, 8) quantization steps for qualities (N,) in [1, 100], as libjpeg scales its base tables."""
    scale = torch.where(quality < 50, 5000 / quality, 200 - 2 * quality)
    return ((base * scale.view(-1, 1, 1) + 50) // 100).clamp(1, 255)


def _quantize(plane: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) level-shifted samples through the DCT, quantization and back, block by block."""
    n, _, h, w = plane.shape
    x = F.pad(plane, (0, -w % 8, 0, -h % 8), mode="replicate")
    rows, cols = x.shape[2] // 8, x.shape[3] // 8
    blocks = x.view(n, rows, 8, cols, 8).transpose(2, 3)
    coefficients = DCT @ blocks @ DCT.T
    step = steps.view(n, 1, 1, 8, 8)
    blocks = DCT.T @ (torch.round(coefficients / step) * step) @ DCT
    return blocks.transpose(2, 3).reshape(n, 1, rows * 8, cols * 8)[..., :h, :w]


def jpeg(encoded: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) display-encoded RGB in [0, 1] as a baseline JPEG at qualities (N,) decodes: JFIF YCbCr,
    chroma averaged over 2x2 and brought back bilinearly, 8-bit values."""
    x = encoded.clamp(0, 1) * 255
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    y = _quantize(0.299 * r + 0.587 * g + 0.114 * b - 128, tables(LUMA_TABLE, quality)) + 128
    h, w = x.shape[2:]
    chroma_steps = tables(CHROMA_TABLE, quality)

    def chroma(c: torch.Tensor) -> torch.Tensor:
        small = _quantize(F.avg_pool2d(F.pad(c, (0, w % 2, 0, h % 2), mode="replicate"), 2), chroma_steps)
        return F.interpolate(small, scale_factor=2, mode="bilinear", align_corners=False)[..., :h, :w]

    cb = chroma(-0.168736 * r - 0.331264 * g + 0.5 * b)
    cr = chroma(0.5 * r - 0.418688 * g - 0.081312 * b)
    rgb = torch.cat([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    return torch.round(rgb).clamp(0, 255) / 255
