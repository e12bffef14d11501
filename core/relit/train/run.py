"""What every training run of relit's networks shares: its settings, the optimisation loop (cosine learning
rate, running losses, checkpoints) and plain-data checkpoints."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from ..errors import RelitError
from ..io import atomic_path


@dataclass
class RunSettings:
    """What every training run of relit's networks is set by (recorded in its checkpoint and card)."""

    steps: int = 3000
    batch: int = 16
    res: int = 128  # training crop, pixels
    lr: float = 2e-3  # at the start of the cosine schedule
    seed: int = 0
    checkpoint_every: int = 100
    threads: int = 0  # 0: torch's default


def optimise(settings: RunSettings, opt: torch.optim.Optimizer, step: int, history: list[dict],
             step_terms: Callable[[], dict[str, torch.Tensor]], checkpoint: Callable[[int], None], desc: str,
             shown: tuple[str, ...]) -> None:
    """The loop every network trains in: from ``step`` to ``settings.steps`` on a cosine learning rate,
    ``step_terms`` giving each step's losses (``total`` is minimised), their running means in the progress
    bar (the ``shown`` ones) and in ``history``, and a checkpoint every ``checkpoint_every`` steps and at
    the end."""
    bar = tqdm(total=settings.steps, initial=step, desc=desc, unit="step")
    running: dict[str, float] = {}
    start = time.time()
    while step < settings.steps:
        for group in opt.param_groups:
            group["lr"] = settings.lr * 0.5 * (1 + math.cos(math.pi * step / settings.steps))
        terms = step_terms()
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        step += 1
        running = {k: 0.9 * running.get(k, v.item()) + 0.1 * v.item() for k, v in terms.items()}
        bar.update()
        bar.set_postfix({k: f"{v:.4f}" for k, v in running.items() if k in shown})
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            history.append({"step": step, "seconds": round(time.time() - start, 1), **running})
            checkpoint(step)
    bar.close()


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's tensors, numbers and strings, and nothing else: unpickling arbitrary objects from a
    file would run whatever code it names."""
    try:
        return torch.load(path, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError and others for what it refuses
        raise RelitError(f"not a relit checkpoint ({str(exc).splitlines()[0]})", path) from None
