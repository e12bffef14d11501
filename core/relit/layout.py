"""The passes network's output channels, in order: what inference reads, what training builds and exports,
and what a passes model's card must say (``outputs``), so a network with another layout is refused by name
instead of misread."""
from __future__ import annotations

OUTPUTS = {"alpha": 1, "normals": 3, "albedo": 3, "roughness": 1}
MIN_ROUGHNESS = 0.05  # the network's roughness floor, and inference's


def _slices() -> dict[str, slice]:
    out, start = {}, 0
    for name, count in OUTPUTS.items():
        out[name] = slice(start, start + count)
        start += count
    return out


CHANNELS = _slices()
ALPHA, NORMALS, ALBEDO, ROUGHNESS = (CHANNELS[name] for name in OUTPUTS)
