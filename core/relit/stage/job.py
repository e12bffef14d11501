"""Rendering a virtual-light-stage data set: deterministic per seed, parallel, resumable, with a manifest.

Sample ``i`` is a new identity lit ``lightings`` ways (a lighting-consistency pair for Lumos's loss).
Identities ``i % VALIDATION_EVERY == VALIDATION_EVERY - 1`` are the validation split and are lit only
by the held-out HDRIs, which training identities never see: validation is unseen in person and light.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import RelitError
from ..io import atomic_path, read_metadata, write_passes

VALIDATION_EVERY = 8
HELD_OUT_HDRIS = ("courtyard", "night")
MAX_BAD_SHARE = 0.01  # of the matte: more pixels than this facing away or without albedo rejects a render
RETRIES = 3
SEQUENCE_SEEDS = 1_000_003  # sequences draw people from another seed stream than the stills


def sample_paths(out: Path, index: int, lightings: int, frames: int = 0) -> list[Path]:
    if frames:
        return [out / f"seq{index:04d}" / f"frame.{f:04d}.exr" for f in range(frames)]
    return [out / f"{index:06d}_L{k}.exr" for k in range(lightings)]


def is_validation(index: int) -> bool:
    return index % VALIDATION_EVERY == VALIDATION_EVERY - 1


def sample_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] % (2 ** 31))


def _hdri_split(hdris: list[str]) -> tuple[list[str], list[str]]:
    held = [h for h in hdris if Path(h).stem in HELD_OUT_HDRIS]
    train = [h for h in hdris if h not in held]
    if not held or not train:  # too few HDRIs to hold any out: both splits share them (said in the manifest)
        return hdris, hdris
    return train, held


def defects(stack) -> float:
    """Share of the matte whose normals face away from the camera or whose albedo is zero.

    A sound render has neither (a few silhouette pixels aside). Rarely, Mitsuba's AOVs come back wrong
    over a whole image region while its RGB is fine (seen once in 32 files; cause not found yet), so
    every render is checked and a failing person is rendered again with another seed.
    """
    inside = stack.alpha[..., 0] > 0.5
    if not inside.any():
        return 1.0
    away = stack.normals[..., 2] < -0.2
    dark = stack.albedo.max(axis=2) < 0.003
    return float(((away | dark) & inside).sum() / inside.sum())


@dataclass(frozen=True)
class _Job:
    """What every worker needs besides the sample's index (picklable: workers are spawned)."""
    out: str
    res: int
    spp: int
    seed: int
    hdris: tuple[str, ...]
    lightings: int
    turn: tuple[float, ...]
    truth_spp: int | None
    close_ups: float
    wardrobe: float
    hands: float
    arms: float
    owner: int  # the process that started the run


def _render_one(task: tuple[int, _Job]) -> tuple[int, str, float]:
    from .sample import render_sample
    index, job = task
    paths = sample_paths(Path(job.out), index, job.lightings, len(job.turn))
    if all(p.exists() for p in paths):
        return index, "skipped", 0.0
    start = time.perf_counter()
    train, held = _hdri_split(list(job.hdris))
    validation = bool(job.turn) or is_validation(index)  # sequences are for measuring: unseen people and light
    first_seed = sample_seed(job.seed + SEQUENCE_SEEDS if job.turn else job.seed, index)
    for attempt in range(RETRIES):
        stacks = render_sample(first_seed + attempt, held if validation else train, job.res, job.spp,
                               job.lightings, job.turn, job.truth_spp, job.close_ups, job.wardrobe, job.hands,
                               job.arms)
        if max(defects(s) for s in stacks) <= MAX_BAD_SHARE:
            break
    else:
        return index, "rejected", time.perf_counter() - start
    if job.owner not in (os.getpid(), os.getppid()):  # the run is gone (killed): a pool worker outlives it, and its
        return index, "abandoned", time.perf_counter() - start  # folder may be another run's by now
    for path, stack in zip(paths, stacks):
        stack.metadata.update(index=str(index), split="validation" if validation else "train", attempt=str(attempt))
        path.parent.mkdir(exist_ok=True)
        write_passes(path, stack, "half")
    return index, "rendered", time.perf_counter() - start


def render_stage(out: str | os.PathLike[str], count: int, res: int = 256, spp: int = 64, seed: int = 0,
                 hdri_dir: str | os.PathLike[str] | None = None, workers: int | None = None,
                 lightings: int = 2, turn: tuple[float, ...] = (), truth_spp: int | None = None,
                 close_ups: float = 0.0, wardrobe: float = 0.0, hands: float = 0.0,
                 arms: float = 0.0) -> dict:
    """Render samples 0..count-1 into ``out`` (skipping finished ones), then write the manifest. With
    ``turn`` (degrees per frame, see ``render_sample``), sequences ``seqNNNN/frame.####.exr`` instead;
    ``truth_spp`` renders their passes with more samples than their image, ``close_ups`` is the share
    of close-up shots, ``wardrobe`` the share of people dressed beyond the plain shirt, ``hands`` the
    share with a hand near the face and ``arms`` the share with folded arms (``render_sample``)."""
    from .. import data
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(hdri_dir) if hdri_dir else data.path("")
    hdris = sorted(str(p) for p in folder.glob("*.exr"))
    if not hdris:
        raise RelitError("no lat-long .exr environments in this folder", folder)
    if count < 1 or res < 16 or spp < 1 or lightings < 1 or (truth_spp is not None and truth_spp < spp) \
            or not all(0 <= share <= 1 for share in (close_ups, wardrobe, hands, arms)):
        raise RelitError("need count >= 1, res >= 16, spp >= 1, lightings >= 1, truth spp >= spp, close-ups, "
                         f"wardrobe, hands and arms in [0, 1]; got {count}, {res}, {spp}, {lightings}, "
                         f"{truth_spp}, {close_ups}, {wardrobe}, {hands}, {arms}")
    job = _Job(str(out), res, spp, seed, tuple(hdris), lightings, tuple(turn), truth_spp, close_ups, wardrobe,
               hands, arms, os.getpid())
    tasks = [(i, job) for i in range(count)]
    workers = max(1, min(workers or os.cpu_count() or 1, count))
    statuses: list[str] = []
    # spawn: each worker builds its own anny model and Mitsuba state; one worker renders in this process
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else nullcontext()
    with pool, tqdm(total=count, desc="stage", unit="sample") as bar:
        results = pool.imap_unordered(_render_one, tasks) if workers > 1 else map(_render_one, tasks)
        for _, status, _ in results:
            statuses.append(status)
            bar.update()
    manifest = write_manifest(out, seed, res, spp, hdris, truth_spp, close_ups, wardrobe, hands, arms)
    manifest["rendered_now"] = statuses.count("rendered")
    manifest["rejected_now"] = statuses.count("rejected")
    return manifest


def write_manifest(out: Path, seed: int, res: int, spp: int, hdris: list[str], truth_spp: int | None = None,
                   close_ups: float = 0.0, wardrobe: float = 0.0, hands: float = 0.0,
                   arms: float = 0.0) -> dict:
    """manifest.json: every sample file with its identity, split, lighting and framing, read back from the
    files."""
    from .scene import Shot
    samples = []
    for path in sorted(out.glob("*_L*.exr")):
        meta = read_metadata(path)
        lighting = json.loads(meta.get("lighting", "{}"))
        shot = Shot(**json.loads(meta["shot"])) if "shot" in meta else None
        samples.append({"file": path.name, "identity": int(meta.get("index", -1)), "split": meta.get("split"),
                        "lighting_index": int(meta.get("lighting_index", 0)),
                        "hdri": Path(lighting.get("hdri", "")).stem,
                        "lights": len(lighting.get("lights", [])), "framing": shot.framing if shot else None,
                        "wardrobe": json.loads(meta.get("wardrobe", "{}")).get("items", []),
                        "hand": _hand_place(json.loads(meta.get("person", "{}")))})
    train, held = _hdri_split(hdris)
    sequences = {d.name: len(list(d.glob("frame.*.exr"))) for d in sorted(out.glob("seq*")) if d.is_dir()}
    manifest = {"seed": seed, "resolution": res, "spp": spp, "truth_spp": truth_spp or spp, "close_ups": close_ups,
                "wardrobe": wardrobe, "hands": hands, "arms": arms,
                "validation_every": VALIDATION_EVERY,
                "held_out_hdris": sorted({Path(h).stem for h in held}) if held != train else [],
                "samples": samples, "sequences": sequences}
    with atomic_path(out / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _hand_place(person: dict) -> str | None:
    """Where a sample's hands are (a place near the face, or folded), or None."""
    hands = person.get("hands") or [{}]
    return hands[0].get("place")
