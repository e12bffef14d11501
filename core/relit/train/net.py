"""The passes network: one small U-Net with a head per pass (alpha, normals, albedo, roughness).

One shared encoder instead of Total Relighting's separate matting, geometry and albedo networks: on
two CPU cores a single encoder trains several times faster, and the passes inform each other (the
silhouette bounds the normals, shading separates albedo). Outputs are final values, so the ONNX
graph needs no post-processing beyond the guided upsampling.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

WIDTHS = (24, 32, 48, 64, 96)
OUTPUTS = {"alpha": 1, "normals": 3, "albedo": 3, "roughness": 1}
MIN_ROUGHNESS = 0.05


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PassesNet(nn.Module):
    """image (N, 3, H, W) normalised by ``relit.estimate.normalise``, matte prior (N, 1, H, W) in [0, 1]
    (0.5 everywhere when the user has none); H and W multiples of 16."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        self.down = nn.ModuleList()
        cin = 4
        for w in widths:
            self.down.append(_block(cin, w))
            cin = w
        self.up = nn.ModuleList(_block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(len(widths) - 1)))
        self.head = nn.Conv2d(widths[0], sum(OUTPUTS.values()), 1)

    def forward(self, image: torch.Tensor, matte: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = torch.cat([image, matte], 1)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            up = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([up, skip], 1))
        alpha, normals, albedo, rough = torch.split(self.head(x), list(OUTPUTS.values()), 1)
        normals = F.normalize(torch.cat([normals[:, :2], F.softplus(normals[:, 2:]) + 1e-3], 1), dim=1)
        return (torch.sigmoid(alpha), normals, torch.sigmoid(albedo),
                MIN_ROUGHNESS + (1 - MIN_ROUGHNESS) * torch.sigmoid(rough))
