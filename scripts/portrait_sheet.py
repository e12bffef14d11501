"""docs/portraits_sheet.png: the shipped passes network, fused with the real-trained priors, on real
portraits it was not trained on, each row the input, alpha, normals, albedo, diffuse and specular light,
the relit image under a side key light (a terminator should cross every face) and under two HDRIs, the
engine's and, for the first HDRI, with the shipped shading network.

    python scripts/portrait_sheet.py --portraits ../shared/assets/portraits --hdris ../shared/assets/hdri

Portraits are read with their embedded or inferred colourspace (sRGB JPEG/PNG), brought to 512 pixels
on the long side, and relit with an assumed 40-degree lens.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from relit.camera import Camera  # noqa: E402
from relit.colour import Image  # noqa: E402
from relit.estimate import estimate_passes  # noqa: E402
from relit.io import read_image  # noqa: E402
from relit.lighting import DirectionalLight, Environment, Lighting  # noqa: E402
from relit.relight import relight  # noqa: E402
from relit.shading import ShadingModel, refine  # noqa: E402
from relit.sheet import tile_sheet  # noqa: E402
from relit.upsample import resize  # noqa: E402

# real portraits no training step sees (the training split of the pool is pd_0001 to pd_0016)
SHEET = ("astronaut.png", "grace_hopper.jpg", "pool/pd_0017.jpg", "pool/pd_0018.jpg", "pool/pd_0019.jpg",
         "pool/pd_0020.jpg", "pool/pd_0031.jpg", "pool/pd_0032.jpg")
LONG_SIDE = 512
SIDE_KEY = DirectionalLight((-0.94, 0.17, 0.3), irradiance=3.0)  # from the image's left, 72 degrees off the axis


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--portraits", required=True, help="folder with astronaut.png, grace_hopper.jpg and pool/")
    p.add_argument("--hdris", required=True, help="folder of lat-long HDRIs")
    p.add_argument("--lighting", nargs=2, default=("sunset", "interior"), help="two HDRI names")
    p.add_argument("-o", "--output", default="docs/portraits_sheet.png")
    args = p.parse_args()
    camera = Camera(40.0)
    envs = [Environment(str(Path(args.hdris) / f"{name}.exr"), rotation=r) for name, r in zip(args.lighting, (60, 200))]
    rows = []
    for name in SHEET:
        photo = read_image(Path(args.portraits) / name).to_working()
        scale = LONG_SIDE / max(photo.height, photo.width)
        photo = Image(resize(photo.pixels[..., :3], round(photo.height * scale), round(photo.width * scale)),
                      photo.colourspace)
        stack = estimate_passes(photo)
        stack.metadata.update(camera.to_metadata())
        lit = [relight(stack, Lighting(env)) for env in envs]
        key = relight(stack, Lighting(lights=[SIDE_KEY]))
        shaded = refine(lit[0], ShadingModel.load())
        tiles = [("input", "relit", photo.pixels), ("alpha", "alpha", stack.alpha),
                 ("normals", "normals", stack.normals), ("albedo", "albedo", stack.albedo),
                 (f"diffuse {args.lighting[0]}", "diffuse", lit[0].diffuse),
                 (f"specular {args.lighting[0]}", "specular", lit[0].specular)]
        tiles.append(("relit side key", "relit", key.relit * key.alpha))
        tiles += [(f"relit {n}", "relit", s.relit * s.alpha) for n, s in zip(args.lighting, lit)]
        tiles.append((f"+ shading net {args.lighting[0]}", "relit", shaded.relit * shaded.alpha))
        rows.append((Path(name).stem, stack.colourspace, tiles))
        print(f"{name}: done")
    tile_sheet(rows, args.output, tile=200)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
