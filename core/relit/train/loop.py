"""Training the passes network: seeded, resumable from its checkpoint, progress with losses, ONNX export.

Losses per pass follow what a compositor sees: alpha L1 plus its gradient (edges), normals by angle
on the subject, albedo and roughness L1 on the subject, and Lumos's lighting consistency: the same
person's albedo and normals must not change with the lighting. Synthetic-to-real: on real portraits,
which have no labels, the alpha follows a teacher's matte where the teacher is confident, and albedo
and normals must not change between two jitters (illuminant colour, noise) of the same crop, and
their shading (image / albedo) must be smooth (Retinex).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import RelitError
from ..io import atomic_path
from ..layout import OUTPUTS
from ..priors import PRIOR_CHANNELS
from .data import RealData, StageData
from .net import WIDTHS, PassesNet
from .run import RunSettings, load_checkpoint, optimise, save_checkpoint

CHECKPOINT = "passes.pt"
LOSS_WEIGHTS = {"alpha": 1.0, "alpha_grad": 1.0, "normals": 1.0, "albedo": 1.0, "roughness": 0.5, "consistency": 0.5,
                "real_teacher": 0.5, "real_consistency": 0.5}
RETINEX_LUMINANCE = 0.3  # shading edges in brightness (cast shadows) are real; in colour they are rare
TEACHER_CONFIDENCE = 0.35  # teacher mattes count where |matte - 0.5| exceeds this


@dataclass
class TrainSettings(RunSettings):
    real: str | None = None  # folder of real portraits
    teacher: str | None = None  # folder of their teacher mattes (<stem>.png); default: their person prior
    real_batch: int = 4  # real crops per step (pairs of jitters)
    retinex: float = 1.0  # weight of the Retinex prior on real crops (0 in the shipped 0.2's first 2500 steps)
    skin: float = 0.0  # extra weight of skin pixels in the normals loss (faces are what a relight is judged by)
    priors: bool = False  # the network takes relit.priors' passes as inputs
    variety: bool = False  # batches with people behind, soft focus and greyscale (relit.train.data)
    widths: tuple[int, ...] = WIDTHS  # the U-Net's channels per level


def _gradient(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def _masked_mean(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (x * weight).sum() / weight.sum().clamp(min=1.0)


def losses(pred: tuple[torch.Tensor, ...], batch: dict[str, torch.Tensor], skin: float = 0.0
           ) -> dict[str, torch.Tensor]:
    """The stage's losses; ``skin`` is the extra weight of skin pixels in the normals term."""
    alpha, normals, albedo, rough = pred
    subject = (batch["alpha"] > 0.5).float()
    gx, gy = _gradient(alpha)
    tx, ty = _gradient(batch["alpha"])
    out = {
        "alpha": F.l1_loss(alpha, batch["alpha"]),
        "alpha_grad": F.l1_loss(gx, tx) + F.l1_loss(gy, ty),
        "normals": _masked_mean(1 - (normals * batch["normals"]).sum(1, keepdim=True),
                                subject * (1 + skin * batch["skin"])),
        "albedo": _masked_mean((albedo - batch["albedo"]).abs().mean(1, keepdim=True), subject),
        "roughness": _masked_mean((rough - batch["roughness"]).abs(), subject),
    }
    # batches hold pairs: rows 2k and 2k+1 are one person, one crop, two lightings
    both = subject[0::2] * subject[1::2]
    out["consistency"] = (_masked_mean((albedo[0::2] - albedo[1::2]).abs().mean(1, keepdim=True), both)
                          + _masked_mean(1 - (normals[0::2] * normals[1::2]).sum(1, keepdim=True), both))
    out["total"] = sum(LOSS_WEIGHTS[k] * v for k, v in out.items())
    return out


def _retinex(image: torch.Tensor, albedo: torch.Tensor, subject: torch.Tensor) -> torch.Tensor:
    """Retinex's prior on unlabelled photos: shading (image / albedo) is smooth, so the image's edges,
    its colour edges above all, belong to the albedo. Without it the consistency loss alone is met
    by one flat albedo for everything (seen on real portraits with relit 0.1)."""
    log_shading = torch.log(torch.expm1(image).clamp(min=0) + 0.01) - torch.log(albedo + 0.01)
    brightness = log_shading.mean(1, keepdim=True)
    total = 0.0
    for channels, weight in ((log_shading - brightness, 1.0), (brightness, RETINEX_LUMINANCE)):
        for g, m in zip(_gradient(channels), _gradient(subject)):
            inside = (m == 0).float() * (subject[..., : g.shape[-2], : g.shape[-1]] > 0).float()
            total = total + weight * _masked_mean(g.abs().mean(1, keepdim=True), inside)
    return total


def real_losses(pred: tuple[torch.Tensor, ...], batch: dict[str, torch.Tensor], retinex: float = 1.0
                ) -> dict[str, torch.Tensor]:
    """Unlabelled real crops: rows 2k and 2k+1 are one crop under two jitters."""
    alpha, normals, albedo, _ = pred
    teacher = batch["teacher"]
    confident = ((teacher - 0.5).abs() > TEACHER_CONFIDENCE).float()
    subject = (teacher[0::2] > 0.5).float()
    out = {"real_teacher": _masked_mean((alpha - teacher).abs(), confident),
           "real_consistency": _masked_mean((albedo[0::2] - albedo[1::2]).abs().mean(1, keepdim=True), subject)
           + _masked_mean(1 - (normals[0::2] * normals[1::2]).sum(1, keepdim=True), subject),
           "real_retinex": _retinex(batch["image"], albedo, (teacher > 0.5).float())}
    weights = {**LOSS_WEIGHTS, "real_retinex": retinex}
    out["total"] = sum(weights[k] * v for k, v in out.items())
    return out


def train(data_dir: str | Path, out_dir: str | Path, settings: TrainSettings) -> Path:
    """Train (or resume) the passes network; returns the checkpoint path. A rerun with more ``steps``
    continues from the checkpoint with the same data order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    net = PassesNet(settings.widths, settings.priors)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr)
    gen = torch.Generator().manual_seed(settings.seed)
    ckpt_path = out_dir / CHECKPOINT
    step, history, earlier = 0, [], []  # earlier: the settings of previous runs that differ, with their last step
    if ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        if state["widths"] != list(settings.widths):
            raise RelitError(f"checkpoint was trained with widths {state['widths']}, not {list(settings.widths)}",
                             ckpt_path)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        step, history, earlier = state["step"], state["history"], state.get("earlier", [])
        if state["settings"] != asdict(settings):  # a fine-tune: keep how the steps so far were made
            earlier = earlier + [{**state["settings"], "until_step": step}]
    data = StageData.load(data_dir, "train", priors=settings.priors)
    real = RealData.load(settings.real, settings.teacher) if settings.real else None
    manifest = json.loads((Path(data_dir) / "manifest.json").read_text())

    def checkpoint(step: int) -> None:
        save_checkpoint(ckpt_path, {
            "model": net.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(), "step": step,
            "history": history, "widths": list(settings.widths), "settings": asdict(settings), "earlier": earlier,
            "data": {"folder": str(data_dir), "files": len(data.files), "identities": len(data.pairs),
                     "stage_seed": manifest["seed"], "resolution": manifest["resolution"],
                     "spp": manifest["spp"], "real": real.files if real else []}})

    def step_terms() -> dict[str, torch.Tensor]:
        batch = data.batch(settings.batch, settings.res, gen, settings.variety)
        inputs = ["image", "matte"] + ["priors"] * settings.priors
        if real is not None:  # one forward pass for both, so batch norm sees them together
            real_batch = real.batch(settings.real_batch, settings.res, gen, settings.variety)
            pred = net(*(torch.cat([batch[k], real_batch[k]]) for k in inputs))
        else:
            pred = net(*(batch[k] for k in inputs))
        n = len(batch["image"])
        terms = losses(tuple(p[:n] for p in pred), batch, settings.skin)
        if real is not None:
            real_terms = real_losses(tuple(p[n:] for p in pred), real_batch, settings.retinex)
            total = terms["total"] + real_terms.pop("total")
            terms.update(real_terms, total=total)
        return terms

    net.train()
    optimise(settings, opt, step, history, step_terms, checkpoint, "train passes",
             ("total", "alpha", "normals", "albedo"))
    return ckpt_path


INPUTS = {"image": "relit.estimate.normalise(linear Rec.709)", "matte": "user matte in [0, 1], or 0.5 for none",
          "priors": "relit.priors.network_input: face-mesh normals (3), face coverage, person probability"}


def export_passes(state: dict, output: Path, internal: int, version: str) -> dict:
    priors = state["settings"].get("priors", False)
    net = PassesNet(tuple(state["widths"]), priors)
    net.load_state_dict(state["model"])
    net.eval()
    inputs = {k: v for k, v in INPUTS.items() if k != "priors" or priors}
    example = (torch.zeros(1, 3, 64, 64), torch.full((1, 1, 64, 64), 0.5), torch.zeros(1, PRIOR_CHANNELS, 64, 64))
    axes = {name: {2: "height", 3: "width"} for name in [*inputs, *OUTPUTS]}
    with atomic_path(output) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(net, example[:len(inputs)], str(tmp), input_names=list(inputs),
                          output_names=list(OUTPUTS), dynamic_axes=axes, opset_version=17, dynamo=False)
    return {"version": version, "internal": internal, "inputs": inputs,
            "outputs": {k: n for k, n in OUTPUTS.items()}, "widths": state["widths"], "steps": state["step"],
            "training": state["settings"], "earlier_training": state.get("earlier", []), "data": state["data"],
            "final_losses": {k: round(v, 5) for k, v in (state["history"][-1] if state["history"] else {}).items()},
            "parameters": int(sum(np.prod(p.shape) for p in state["model"].values() if p.dtype.is_floating_point))}
