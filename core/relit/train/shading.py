"""Training the shading network on virtual-light-stage pairs: relighting one lighting's passes to the other.

For each training person lit two ways, and each way round (source -> target lighting), the engine
relights two pass stacks under the target lighting: the passes network's, inferred from the source
image (what a user has), and the exact ones (what a render gives). The network learns per-pixel gains
on that diffuse and specular light so that albedo x diffuse + specular matches the path-traced image
of the target lighting. The engine's inputs are made once into a cache (resumable, one file per
example); training crops and mirrors them.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..camera import Camera
from ..colour import Image, resolve_config
from ..errors import RelitError
from ..estimate import NET_COLOURSPACE, PassesModel, estimate_passes
from ..io import atomic_path, read_passes
from ..relight import relight
from ..shading import FEATURES, network_input
from ..stage.scene import StageLighting
from ..upsample import resize
from .data import manifest_entries
from .net import SHADING_WIDTHS, ShadingNet
from .run import RunSettings, load_checkpoint, optimise, save_checkpoint

CHECKPOINT = "shading.pt"
CACHE_SIZE = 192  # pixels: stage frames at the size the shading network sees a plate (its internal size)
NORMALS_X = 1  # feature channel mirrored with the image
ALBEDO, DIFFUSE, SPECULAR = slice(4, 7), slice(8, 11), slice(11, 14)
GAIN_PENALTY = 0.01  # on (log gain)^2: no gain without a reason


def _example(source, target, passes: str, config, model: PassesModel) -> np.ndarray:
    """(FEATURES + 3, S, S) float16: the network's input for ``passes`` ("network" or "exact") of the
    source sample relit by the engine under the target's lighting, and the target's image on the
    same light scale."""
    lighting = StageLighting(**json.loads(target.metadata["lighting"])).to_lighting()
    if passes == "network":
        stack = estimate_passes(Image(source.composite, source.colourspace, config), model=model)
    else:
        stack = source.replace(diffuse=None, specular=None, relit=None, composite=None)
    lit = relight(stack, lighting, Camera.from_metadata(target.metadata), config=config)
    size = (CACHE_SIZE, CACHE_SIZE)
    x, scale = network_input(lit.alpha, lit.normals, lit.albedo, lit.roughness, lit.diffuse, lit.specular,
                             lit.colourspace, config, size)
    truth = Image(resize(target.relit, *size), target.colourspace, config).to(NET_COLOURSPACE).pixels / scale
    return np.concatenate([x, truth], -1).transpose(2, 0, 1).astype(np.float16)


def build_cache(data_dir: str | Path, cache_dir: str | Path, model: PassesModel | None = None,
                split: str = "train") -> list[Path]:
    """Write (or finish writing) one example file per person, direction and kind of passes."""
    data_dir, cache_dir = Path(data_dir), Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    model, config = model or PassesModel.load(), resolve_config()
    people: dict[int, list[dict]] = {}
    for entry in manifest_entries(data_dir, split):
        people.setdefault(entry["identity"], []).append(entry)
    jobs = []
    for identity, group in sorted(people.items()):
        if len(group) < 2:
            continue
        for src, dst in ((0, 1), (1, 0)):
            for passes in ("network", "exact"):
                jobs.append((cache_dir / f"{identity:06d}_{src}to{dst}_{passes}.npy", group[src], group[dst], passes))
    if not jobs:
        raise RelitError("no person lit two ways in the training split", data_dir)
    for path, src, dst, passes in tqdm(jobs, desc="shading cache", unit="example"):
        if path.exists():
            continue
        source, target = (read_passes(data_dir / e["file"]).to_working(config) for e in (src, dst))
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, _example(source, target, passes, config, model))
    return [job[0] for job in jobs]


def _crop(x: torch.Tensor, res: int, generator: torch.Generator) -> torch.Tensor:
    """A random ``res`` window of each example, mirrored half the time (normals' x flips with it)."""
    n, _, h, w = x.shape
    out = torch.empty(n, x.shape[1], res, res)
    for i in range(n):
        top = int(torch.randint(h - res + 1, (1,), generator=generator))
        left = int(torch.randint(w - res + 1, (1,), generator=generator))
        crop = x[i, :, top:top + res, left:left + res]
        if torch.rand(1, generator=generator) < 0.5:
            crop = crop.flip(-1)
            crop[NORMALS_X] = -crop[NORMALS_X]
        out[i] = crop
    return out


def loss(gains: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """L1 of the refined relit image against the path-traced one (linear and log, both on the light scale)
    over the subject, plus a small pull of the gains toward 1; ``engine`` is the same error with no gains."""
    features, truth = x[:, :FEATURES], x[:, FEATURES:]
    albedo = features[:, ALBEDO]
    diffuse, specular = torch.expm1(features[:, DIFFUSE]), torch.expm1(features[:, SPECULAR])
    subject = (features[:, :1] > 0.5).float()

    def error(relit: torch.Tensor) -> torch.Tensor:
        e = (relit - truth).abs() + (torch.log1p(relit.clamp(min=0)) - torch.log1p(truth.clamp(min=0))).abs()
        return (e.mean(1, keepdim=True) * subject).sum() / subject.sum().clamp(min=1.0)

    refined = error(albedo * diffuse * gains[:, :3] + specular * gains[:, 3:])
    penalty = (torch.log(gains) ** 2).mean(1, keepdim=True).mul(subject).sum() / subject.sum().clamp(min=1.0)
    with torch.no_grad():
        engine = error(albedo * diffuse + specular)
    return {"relit": refined, "gain": penalty, "total": refined + GAIN_PENALTY * penalty, "engine": engine}


def train_shading(data_dir: str | Path, out_dir: str | Path, settings: RunSettings,
                  model: PassesModel | None = None) -> Path:
    """Build the cache if needed (``OUT/cache``), then train (or resume) the shading network."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    model = model or PassesModel.load()
    files = build_cache(data_dir, out_dir / "cache", model)
    examples = torch.from_numpy(np.stack([np.load(f) for f in files]))
    torch.manual_seed(settings.seed)
    net = ShadingNet()
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr)
    gen = torch.Generator().manual_seed(settings.seed)
    ckpt_path = out_dir / CHECKPOINT
    step, history = 0, []
    if ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        if state["widths"] != list(SHADING_WIDTHS):
            raise RelitError(f"checkpoint was trained with widths {state['widths']}, this relit has "
                             f"{list(SHADING_WIDTHS)}", ckpt_path)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        step, history = state["step"], state["history"]
    manifest = json.loads((Path(data_dir) / "manifest.json").read_text())

    def checkpoint(step: int) -> None:
        save_checkpoint(ckpt_path, {
            "kind": "shading", "model": net.state_dict(), "optimizer": opt.state_dict(),
            "generator": gen.get_state(), "step": step, "history": history,
            "widths": list(SHADING_WIDTHS), "settings": asdict(settings),
            "data": {"folder": str(data_dir), "examples": len(files), "stage_seed": manifest["seed"],
                     "resolution": manifest["resolution"], "spp": manifest["spp"],
                     "passes_network": model.version}})

    def step_terms() -> dict[str, torch.Tensor]:
        x = _crop(examples[torch.randint(len(examples), (settings.batch,), generator=gen)].float(), settings.res, gen)
        return loss(net(x[:, :FEATURES]), x)

    net.train()
    optimise(settings, opt, step, history, step_terms, checkpoint, "train shading", ("relit", "engine"))
    return ckpt_path


def export_shading(state: dict, output: Path, internal: int, version: str) -> dict:
    """The ONNX model and its card from a shading checkpoint's state (see ``relit.train.export``)."""
    net = ShadingNet(tuple(state["widths"]))
    net.load_state_dict(state["model"])
    net.eval()
    example = torch.zeros(1, FEATURES, 64, 64)
    axes = {"features": {2: "height", 3: "width"}, "gains": {2: "height", 3: "width"}}
    with atomic_path(output) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(net, (example,), str(tmp), input_names=["features"], output_names=["gains"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    return {"version": version, "internal": internal,
            "inputs": {"features": "relit.shading.features (passes and the engine's light, linear Rec.709)"},
            "outputs": {"gains": "diffuse (0-2) and specular (3-5) light gains, linear Rec.709"},
            "widths": state["widths"], "steps": state["step"], "training": state["settings"], "data": state["data"],
            "final_losses": {k: round(v, 5) for k, v in (state["history"][-1] if state["history"] else {}).items()},
            "parameters": int(sum(np.prod(p.shape) for p in state["model"].values() if p.dtype.is_floating_point))}
