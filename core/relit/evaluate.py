"""``relit eval``: the passes network against the virtual light stage's validation split (people and
HDRIs never seen in training), beside the trivial baselines it must beat, in one run.

Relighting is judged the way it is used: passes inferred from a person under one lighting are lit by
the engine under the other lighting of the same sample pair and compared with the path-traced image
of that lighting. The same engine fed the exact passes shows how much of the gap is the engine's.
"""
from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from .baseline import inflated_normals
from .camera import Camera
from .colour import Image, resolve_config
from .errors import RelitError
from .estimate import PassesModel, TemporalPasses, estimate_passes
from .io import READ_FORMATS, read_image, read_matte, read_passes
from .matting import refine_alpha
from .metrics import angular_error, gross_matte_error, matte_errors, psnr, scale_invariant_mse, ssim
from .passes import PassStack
from .relight import relight
from .shading import ShadingModel, refine
from .stage.scene import StageLighting, previous_pixels, skin_mask
from .upsample import bilinear

THRESHOLDS = (11.25, 22.5, 30.0)
GT_CHANGE = "ground truth's own frame-to-frame change"
HIDDEN_DEPTH = 0.01  # metres: a point this much behind what the frame before saw there was hidden


def _rough_roto(alpha: np.ndarray) -> np.ndarray:
    """A compositor's quick roto: the true matte dilated by a few pixels and softened."""
    from scipy.ndimage import gaussian_filter, grey_dilation
    return np.clip(gaussian_filter(grey_dilation(alpha[..., 0], size=7), 2.0), 0, 1)[..., None]


def _lighting(stack: PassStack) -> StageLighting:
    try:
        return StageLighting(**json.loads(stack.metadata["lighting"]))
    except (KeyError, TypeError, ValueError):
        raise RelitError("not a virtual-light-stage sample (no lighting metadata)") from None


def _exact(stack: PassStack) -> PassStack:
    """A stage sample's exact passes, without its lighting's images: what the engine is fed as truth."""
    return stack.replace(diffuse=None, specular=None, relit=None, composite=None)


def evaluate(folder: str | Path, model: PassesModel | None = None, limit: int | None = None,
             relight_pairs: bool = True, shading: ShadingModel | None = None, priors: bool = True
             ) -> dict[str, dict[str, dict[str, float]]]:
    """{table: {method: {metric: mean over samples}}} on the validation split of a stage folder (with
    the matte refinement's row when the matting extra is installed, and the shading network's rows
    when one is given). The network's passes are fused with the priors unless ``priors`` is False."""
    folder = Path(folder)
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise RelitError("no manifest.json: not a `relit stage render` folder", folder)
    entries = [e for e in json.loads(manifest.read_text())["samples"] if e["split"] == "validation"]
    if not entries:
        raise RelitError("no validation samples in the manifest", manifest)
    by_identity: dict[int, list[dict]] = defaultdict(list)
    for e in entries:
        by_identity[e["identity"]].append(e)
    people = list(by_identity.values())[: limit or None]
    config = resolve_config()
    model = model or PassesModel.load()
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    matting = importlib.util.find_spec("pymatting") is not None  # the matting extra is installed

    def add(table: str, method: str, **metrics: float) -> None:
        for metric, value in metrics.items():
            sums[(table, method, metric)].append(value)

    for group in tqdm(people, desc="eval", unit="person"):
        stacks = [read_passes(folder / e["file"]).to_working(config) for e in group]
        predictions = []
        for gt in stacks:
            photo = Image(gt.composite, gt.colourspace, config)
            pred = estimate_passes(photo, model=model, priors=priors)
            refined = estimate_passes(photo, _rough_roto(gt.alpha), model=model, priors=priors)
            predictions.append(pred)
            subject, skin = gt.alpha[..., 0] > 0.5, skin_mask(gt)
            add("alpha", "network", **matte_errors(pred.alpha, gt.alpha))
            add("alpha", "network refining a rough roto", **matte_errors(refined.alpha, gt.alpha))
            add("alpha", "baseline: segmentation only (network > 0.5)",
                **matte_errors((pred.alpha > 0.5).astype(np.float32), gt.alpha))
            if matting:
                add("alpha", "network + closed-form refinement (--refine-matte)",
                    **matte_errors(refine_alpha(photo, pred.alpha), gt.alpha))
            flat = np.broadcast_to(np.float32([0, 0, 1]), gt.normals.shape)
            for method, normals in (("network", pred.normals), ("baseline: facing the camera", flat),
                                    ("baseline: inflated silhouette", inflated_normals(pred.alpha))):
                for region, mask in (("skin", skin), ("subject", subject)):
                    err = angular_error(normals, gt.normals, mask)
                    add(f"normals ({region})", method, mean=float(err.mean()),
                        **{f"<{t}": float((err < t).mean() * 100) for t in THRESHOLDS})
            for method, albedo in (("network", pred.albedo),
                                   ("baseline: the input image", np.clip(gt.composite, 0, 1))):
                add("albedo", method, siMSE=scale_invariant_mse(albedo, gt.albedo, subject),
                    MSE=float(np.mean((albedo[subject] - gt.albedo[subject]) ** 2)))
        if not relight_pairs or len(stacks) < 2:
            continue
        # passes seen under one lighting, lit by the other (relighting), and by their own (reconstruction:
        # albedo x diffuse + specular should give back the input where the engine can)
        for src, dst in ((0, 1), (1, 0), (0, 0), (1, 1)):
            table = "relit" if src != dst else "reconstruction (own lighting)"
            gt, target = stacks[dst], _lighting(stacks[dst]).to_lighting()
            subject = gt.alpha[..., 0] > 0.5
            source = stacks[src]
            candidates = {
                "network": predictions[src].replace(depth=None),
                "exact passes (engine bound)": _exact(source),
                "baseline: input as albedo, camera-facing normals": source.replace(
                    albedo=np.clip(source.composite, 0, 1), normals=np.broadcast_to(np.float32([0, 0, 1]),
                                                                                   source.normals.shape),
                    depth=None, roughness=None, diffuse=None, specular=None, relit=None, composite=None),
            }
            camera = Camera.from_metadata(gt.metadata)
            runs = [(method, stack, None) for method, stack in candidates.items()]
            if shading is not None:
                runs += [("network + shading network", candidates["network"], shading),
                         ("exact passes + shading network", candidates["exact passes (engine bound)"], shading)]
            for method, stack, net in runs:
                lit = relight(stack, target, camera, config=config)
                lit = (refine(lit, net, config) if net is not None else lit).relit
                # compared as a composite sees it: the light the engine carries past the matte (alpha 0) is
                # for viewing the straight pass, and the ground truth's straight relit is 0 there
                lit = np.where(stack.alpha > 0, lit, 0) if stack.alpha is not None else lit
                add(table, method, PSNR=psnr(lit, gt.relit, subject), SSIM=ssim(lit, gt.relit, subject))
    return table_means(sums)


def _regions(stack: PassStack) -> dict[str, np.ndarray]:
    """Where a stage frame is subject, and where it is skin: the regions temporal error is measured on."""
    return {"subject": stack.alpha[..., 0] > 0.5, "skin": skin_mask(stack)}


def _follow(frame: PassStack, previous: PassStack, now: dict[str, np.ndarray], before: dict[str, np.ndarray]
            ) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, np.ndarray]]:
    """A warp bringing the previous frame's passes to this frame's pixels along the subject's exact motion
    (``previous_pixels``), and where it holds for each of the frames' regions (``_regions``): in the
    region in both frames, every pixel the look-up weighs included, and not hidden in the frame before."""
    row, col, depth = previous_pixels(frame, previous)
    h, w = frame.shape

    def warp(x: np.ndarray) -> np.ndarray:
        return bilinear(np.asarray(x, np.float32), row, col)

    seen = (row >= 0) & (row <= h - 1) & (col >= 0) & (col <= w - 1) \
        & (np.abs(warp(previous.depth)[..., 0] - depth) < HIDDEN_DEPTH)
    # a warped mask is 1 only where all four neighbours were in the region
    return warp, {name: now[name] & (warp(before[name][..., None])[..., 0] > 0.999) & seen for name in now}


def evaluate_sequences(folder: str | Path, model: PassesModel | None = None, priors: bool = True
                       ) -> dict[str, dict[str, dict[str, float]]]:
    """Flicker on stage sequences (``seqNNNN/frame.####.exr``: a person turning under fixed light).

    Temporal error of a pass: the mean absolute difference between its frame-to-frame change and the
    ground truth's, over pixels that are subject (or skin) in both frames; beside it, in the same
    column, the ground truth's own mean absolute change, and each frame's accuracy. It is measured two
    ways. In place, pixel by pixel: an error that moves with the person (a nose too flat in every
    frame) counts as change. Along the motion (the warped frame difference of video consistency
    metrics): the frame before is first carried to this frame's pixels along the person's exact motion
    (``_follow``), so only error that changes on the same point of the person counts, which is what
    flicker is. On a static sequence the two agree, and the ground truth does not change.
    The relit pass's true change is that of the engine lighting the exact passes: the path tracer's
    per-frame noise is not a change of the scene, and would otherwise swamp the flicker it measures.
    Per-frame inference and temporal inference (``TemporalPasses``) run on the same frames."""
    folder = Path(folder)
    sequences = sorted(d for d in folder.glob("seq*") if d.is_dir())
    if not sequences:
        raise RelitError("no seqNNNN folders: render with `relit stage render --frames N`", folder)
    config = resolve_config()
    model = model or PassesModel.load()
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for seq in tqdm(sequences, desc="sequences", unit="sequence"):
        gts = [read_passes(f).to_working(config) for f in sorted(seq.glob("frame.*.exr"))]
        lighting, camera = _lighting(gts[0]).to_lighting(), Camera.from_metadata(gts[0].metadata)
        regions = [_regions(gt) for gt in gts]
        temporal = TemporalPasses(model, priors=priors)
        runs = {"per-frame": [], "temporal": []}
        for gt, region in zip(gts, regions):
            photo = Image(gt.composite, gt.colourspace, config)
            subject = region["subject"]
            for method, infer in (("per-frame", lambda p: estimate_passes(p, model=model, priors=priors)),
                                  ("temporal", temporal)):
                pred = infer(photo)
                runs[method].append(pred.replace(relit=relight(pred, lighting, camera, config=config).relit))
                sums[("accuracy", method, "normals mean")].append(
                    float(angular_error(pred.normals, gt.normals, subject).mean()))
                sums[("accuracy", method, "albedo siMSE")].append(scale_invariant_mse(pred.albedo, gt.albedo, subject))
                sums[("accuracy", method, "relit PSNR")].append(psnr(runs[method][-1].relit, gt.relit, subject))
        truths = [gt.replace(relit=relight(_exact(gt), lighting, camera, config=config).relit) for gt in gts]
        for t in range(1, len(gts)):
            warp, moved = _follow(gts[t], gts[t - 1], regions[t], regions[t - 1])
            in_place = {name: regions[t][name] & regions[t - 1][name] for name in regions[t]}
            for kind, masks, before in (("temporal error", in_place, lambda x: x),
                                        ("temporal error along the motion", moved, warp)):
                for name in ("normals", "albedo", "relit"):
                    truth = getattr(truths[t], name) - before(getattr(truths[t - 1], name))
                    errors = {method: np.abs(getattr(preds[t], name) - before(getattr(preds[t - 1], name)) - truth)
                              for method, preds in runs.items()}
                    errors[GT_CHANGE] = np.abs(truth)
                    for method, error in errors.items():
                        for region, mask in masks.items():
                            if mask.any():
                                sums[(f"{kind} ({region})", method, name)].append(float(error[mask].mean()))
    return table_means(sums)


def evaluate_real(photos: str | Path, mattes: str | Path, model: PassesModel | None = None
                  ) -> dict[str, dict[str, dict[str, float]]]:
    """Alpha on real portraits, which have no ground truth, against a teacher's mattes (MediaPipe
    selfie segmentation, ``scripts/teacher_mattes.py``): agreement with a strong segmenter on photos,
    not accuracy. IoU of the mattes above 0.5, and the matting errors."""
    config = resolve_config()
    model = model or PassesModel.load()
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    files = sorted(Path(mattes).glob("*.png"))
    if not files:
        raise RelitError("no teacher mattes (*.png) here: run scripts/teacher_mattes.py", mattes)
    for matte_path in tqdm(files, desc="real", unit="photo"):
        photo_path = next(iter(sorted(Path(photos).glob(matte_path.stem + ".*"))), None)
        if photo_path is None:
            raise RelitError(f"no photo for teacher matte {matte_path.name}", photos)
        photo = read_image(photo_path, config=config)
        teacher = read_matte(matte_path)
        if teacher.shape[:2] != (photo.height, photo.width):
            raise RelitError(f"matte is {teacher.shape[1]}x{teacher.shape[0]}, the photo "
                             f"{photo.width}x{photo.height}", matte_path)
        table = "alpha on real portraits (vs teacher)"
        for method, alpha in (("network", estimate_passes(photo, model=model).alpha),
                              ("baseline: everything is subject", np.ones_like(teacher))):
            a, t = alpha[..., 0] > 0.5, teacher[..., 0] > 0.5
            sums[(table, method, "IoU")].append(float((a & t).sum() / max((a | t).sum(), 1)))
            sums[(table, method, "MSE")].append(float(np.mean((alpha - teacher) ** 2)))
    return table_means(sums)


GROSS_TABLE = "gross matte errors (% of the subject's area)"
GROSS_GOAL = 0.01  # a portrait's matte is clean at or under 1% of gross errors


def portrait_files(paths: list[str | Path]) -> list[Path]:
    """The photos named, and the readable images in the folders named, in order."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in READ_FORMATS)
        elif path.is_file():
            files.append(path)
        else:
            raise RelitError("no such photo or folder", path)
    if not files:
        raise RelitError("no photos (" + ", ".join(sorted(READ_FORMATS)) + ") here", paths[0])
    return files


def evaluate_mattes(photos: list[Path], passes: Callable[[Image], PassStack] | None = None
                    ) -> dict[str, dict[str, dict[str, float]]]:
    """Gross matte errors (``relit.metrics.gross_matte_error``) of real portraits, which have no ground
    truth, per portrait in percent, and how many are clean (at or under ``GROSS_GOAL``)."""
    passes = passes or estimate_passes
    config = resolve_config()
    rows: dict[str, dict[str, float]] = {}
    for path in tqdm(photos, desc="mattes", unit="photo"):
        errors = gross_matte_error(passes(read_image(path, config=config)).alpha)
        rows[path.name] = {name: 100 * value for name, value in errors.items()}
    clean = sum(row["gross"] <= 100 * GROSS_GOAL for row in rows.values())
    return {GROSS_TABLE: rows, "portraits with clean mattes": {
        f"at or under {100 * GROSS_GOAL:g}% gross": {"portraits": float(clean), "of": float(len(rows))}}}


def table_means(sums: dict[tuple[str, str, str], list[float]]) -> dict[str, dict[str, dict[str, float]]]:
    """{table: {method: {metric: mean}}} from the values gathered per (table, method, metric)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (table, method, metric), values in sums.items():
        out.setdefault(table, {}).setdefault(method, {})[metric] = float(np.mean(values))
    return out


def format_tables(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = []
    for table, methods in results.items():
        metrics = list(next(iter(methods.values())))
        lines.append(f"\n{table}")
        lines.append(f"  {'method':52s}" + "".join(f"{m:>14s}" for m in metrics))
        for method, values in methods.items():
            lines.append(f"  {method:52s}" + "".join(f"{values[m]:14.4g}" for m in metrics))
    return "\n".join(lines)
