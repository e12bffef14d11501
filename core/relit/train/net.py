"""relit's networks: small U-Nets. The passes network has a head per pass (alpha, normals, albedo,
roughness); the shading network (Total Relighting's last stage) refines the engine's light.

One shared encoder instead of Total Relighting's separate matting, geometry and albedo networks: on
two CPU cores a single encoder trains several times faster, and the passes inform each other (the
silhouette bounds the normals, shading separates albedo). Outputs are final values, so the ONNX
graph needs no post-processing beyond the guided upsampling.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..layout import MIN_ROUGHNESS, OUTPUTS
from ..priors import PRIOR_CHANNELS

WIDTHS = (24, 32, 48, 64, 96)
SHADING_WIDTHS = (16, 24, 32, 48)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """(N, cin, H, W) -> (N, cout, H, W), H and W multiples of 2^(len(widths) - 1)."""

    def __init__(self, cin: int, widths: tuple[int, ...], cout: int) -> None:
        super().__init__()
        self.down = nn.ModuleList()
        for w in widths:
            self.down.append(_block(cin, w))
            cin = w
        self.up = nn.ModuleList(_block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(len(widths) - 1)))
        self.head = nn.Conv2d(widths[0], cout, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            up = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([up, skip], 1))
        return self.head(x)


class PassesNet(UNet):
    """image (N, 3, H, W) normalised by ``relit.estimate.normalise``, matte prior (N, 1, H, W) in [0, 1]
    (0.5 everywhere when the user has none) and, if it takes them, the priors (N, PRIOR_CHANNELS, H, W)
    of ``relit.priors.network_input``; H and W multiples of 16."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS, priors: bool = False) -> None:
        super().__init__(4 + PRIOR_CHANNELS * priors, widths, sum(OUTPUTS.values()))
        self.takes_priors = priors

    def forward(self, image: torch.Tensor, matte: torch.Tensor, *priors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        alpha, normals, albedo, rough = torch.split(self.features(torch.cat([image, matte, *priors], 1)),
                                                    list(OUTPUTS.values()), 1)
        normals = F.normalize(torch.cat([normals[:, :2], F.softplus(normals[:, 2:]) + 1e-3], 1), dim=1)
        return (torch.sigmoid(alpha), normals, torch.sigmoid(albedo),
                MIN_ROUGHNESS + (1 - MIN_ROUGHNESS) * torch.sigmoid(rough))


class ShadingNet(UNet):
    """features (N, FEATURES, H, W) from ``relit.shading.features`` -> gains (N, 6, H, W) for the engine's
    diffuse (0-2) and specular (3-5) light, in [exp(-MAX_LOG_GAIN), exp(MAX_LOG_GAIN)]; H and W multiples
    of 8."""

    def __init__(self, widths: tuple[int, ...] = SHADING_WIDTHS) -> None:
        from ..shading import FEATURES, MAX_LOG_GAIN
        super().__init__(FEATURES, widths, 6)
        self.max_log_gain = MAX_LOG_GAIN

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.max_log_gain * torch.tanh(self.features(features) / self.max_log_gain))
