"""Image, pass-stack and sequence I/O through OpenImageIO; every write is atomic (temp file + rename)."""
from __future__ import annotations

import logging
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import fileseq
import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as ocio

from .colour import Image, canonical_colourspace, resolve_config, srgb_space, working_space
from .errors import RelitError
from .passes import EDGE_COVERAGE, PASSES, PassStack

log = logging.getLogger("relit.io")

READ_FORMATS = {".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".hdr"}
FLOAT_WRITE_FORMATS = {".exr", ".hdr"}
WRITE_FORMATS = READ_FORMATS
META_PREFIX = "relit:"
COLOURSPACE_KEY = META_PREFIX + "colourspace"
EXR_COMPRESSIONS = ("none", "zip", "zips", "piz", "pxr24", "b44", "dwaa", "dwab")

# OIIO >= 3 labels files with colour-interop IDs; map those to the config's roles/aliases.
_INTEROP_IDS = {
    "srgb_rec709_scene": "srgb_tx", "srgb_rec709_display": "srgb_tx", "srgb": "srgb_tx", "sRGB": "srgb_tx",
    "lin_rec709_scene": "lin_rec709_srgb", "lin_rec709": "lin_rec709_srgb", "linear": "lin_rec709_srgb",
    "lin_ap1_scene": "ACEScg", "lin_ap0_scene": "ACES2065-1",
}
# EXR chromaticities (red, green, blue xy) -> colourspace; the white point is not compared
# because real-world files often carry D50 from their authoring tool.
_PRIMARIES = {
    "lin_rec709_srgb": (0.64, 0.33, 0.30, 0.60, 0.15, 0.06),
    "ACEScg": (0.713, 0.293, 0.165, 0.830, 0.128, 0.044),
    "ACES2065-1": (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077),
}
_PRIMARIES_TOLERANCE = 0.025


def _check_extension(path: Path, allowed: set[str], verb: str) -> None:
    if path.is_dir():
        raise RelitError("is a folder; expected an image file (or a #### pattern for a sequence)", path)
    if path.suffix.lower() not in allowed:
        raise RelitError(f"cannot {verb} {path.suffix or 'files without an extension'!s}; "
                         f"expected one of {', '.join(sorted(allowed))}", path)


def _infer_colourspace(path: Path, spec: oiio.ImageSpec, config: ocio.Config) -> str:
    """File metadata first, then the file's type: integer pixels are sRGB encoded, float is linear."""
    for key in (COLOURSPACE_KEY, "oiio:ColorSpace"):
        name = spec.getattribute(key)
        if isinstance(name, str) and name:
            for candidate in (name, _INTEROP_IDS.get(name)):
                if candidate and config.getColorSpace(candidate) is not None:
                    return canonical_colourspace(config, candidate)
    chroma = spec.getattribute("chromaticities")
    if chroma is not None and len(chroma) >= 6:
        for name, primaries in _PRIMARIES.items():
            if max(abs(a - b) for a, b in zip(chroma[:6], primaries)) < _PRIMARIES_TOLERANCE:
                return canonical_colourspace(config, name)
    if path.suffix.lower() == ".hdr":
        return canonical_colourspace(config, "lin_rec709_srgb")
    if spec.format.basetype in (oiio.FLOAT, oiio.HALF, oiio.DOUBLE):
        return working_space(config)
    return srgb_space(config)


def _first_line(error: str) -> str:
    """OIIO's error text is one line per report; the first says what is wrong."""
    return (error.strip().splitlines() or [""])[0]


@contextmanager
def _input(path: Path) -> Iterator[oiio.ImageInput]:
    """An open OIIO input, with the one-line errors for a missing, directory or unreadable file."""
    if not path.exists():
        raise RelitError("no such file", path)
    if path.is_dir():
        raise RelitError("is a folder; expected an image file (or a #### pattern for a sequence)", path)
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise RelitError(f"unreadable or corrupt image ({_first_line(oiio.geterror()) or 'unknown format'})", path)
    try:
        yield inp
    finally:
        inp.close()


def _open(path: Path, wanted: Iterable[str] | None = None) -> tuple[oiio.ImageSpec, np.ndarray, int]:
    """Subimage 0's channels as float32 (H, W, C): all of them, or the run from the first to the last of
    the ``wanted`` names the file has (a pass stack's relit R/G/B, first in the file, are not decoded for
    relighting it); and the index of the first channel read."""
    with _input(path) as inp:
        spec = inp.spec()
        names = set(spec.channelnames if wanted is None else wanted)
        at = [i for i, name in enumerate(spec.channelnames) if name in names] or [0]
        first, last = at[0], at[-1] + 1
        pixels = inp.read_image(0, 0, first, last, oiio.FLOAT)
        if pixels is None:
            raise RelitError(f"unreadable or corrupt image ({_first_line(inp.geterror())})", path)
    pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, last - first)
    return spec, pixels, first


def _read_spec(path: Path) -> oiio.ImageSpec:
    """The header alone: no pixels are decoded."""
    with _input(path) as inp:
        return oiio.ImageSpec(inp.spec())


def _relit_metadata(spec: oiio.ImageSpec) -> dict[str, str]:
    return {a.name[len(META_PREFIX):]: str(a.value) for a in spec.extra_attribs if a.name.startswith(META_PREFIX)}


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """relit's metadata of a file (``relit:`` attributes, prefix removed), without reading its pixels."""
    path = Path(path)
    _check_extension(path, READ_FORMATS, "read")
    return _relit_metadata(_read_spec(path))


def _check_finite(path: Path, pixels: np.ndarray) -> None:
    bad = ~np.isfinite(pixels)
    if bad.any():
        raise RelitError(f"{int(bad.sum())} NaN/Inf value(s) in the pixels; expected finite values", path)


def read_image(path: str | os.PathLike[str], colourspace: str | None = None,
               config: str | ocio.Config | None = None) -> Image:
    """Read an RGB(A) image (grey is expanded to RGB); the colourspace is inferred unless given."""
    path = Path(path)
    _check_extension(path, READ_FORMATS, "read")
    cfg = resolve_config(config)
    spec, pixels, _ = _open(path)
    names = list(spec.channelnames)
    if all(c in names for c in "RGB"):
        keep = [names.index(c) for c in ("R", "G", "B", "A") if c in names]
        pixels = pixels[:, :, keep]
    elif spec.nchannels == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    elif spec.nchannels not in (3, 4):
        raise RelitError(f"has {spec.nchannels} channels ({', '.join(names)}); expected grey, RGB or RGBA", path)
    _check_finite(path, pixels)
    try:
        cs = canonical_colourspace(cfg, colourspace) if colourspace else _infer_colourspace(path, spec, cfg)
    except RelitError as exc:
        raise RelitError(str(exc), path) from None
    return Image(pixels, cs, cfg)


def read_data(path: str | os.PathLike[str], channels: int, formats: set[str] = READ_FORMATS) -> np.ndarray:
    """Read a data image (a matte, a depth map, a photo taken as linear) with no colour conversion; must
    have ``channels`` channels and one of the ``formats`` extensions."""
    path = Path(path)
    _check_extension(path, formats, "read")
    _, pixels, _ = _open(path)
    if pixels.shape[2] != channels:
        raise RelitError(f"has {pixels.shape[2]} channel(s); expected {channels}", path)
    _check_finite(path, pixels)
    return pixels


def read_matte(path: str | os.PathLike[str]) -> np.ndarray:
    """A roto or matte as (H, W, 1): its alpha channel (``A``) when it has one, else its only channel."""
    path = Path(path)
    _check_extension(path, READ_FORMATS, "read")
    spec, pixels, _ = _open(path)
    names = list(spec.channelnames)
    if "A" in names:
        pixels = pixels[:, :, names.index("A"):names.index("A") + 1]
    elif len(names) != 1:
        raise RelitError(f"a matte needs an alpha channel A or a single channel; has {', '.join(names)}", path)
    _check_finite(path, pixels)
    return pixels


TEMP_TAG = 8  # hex digits of a temp file's random tag


def _temp_name(path: Path, tag: str) -> str:
    """``path``'s temp file: hidden, beside it, with its extension (OIIO picks the format from it);
    ``atomic_path`` makes them and ``remove_stale_temp`` finds them, and no other output's."""
    return f".{path.stem}.{tag}.tmp{path.suffix}"


def remove_stale_temp(path: str | os.PathLike[str]) -> None:
    """Remove temp files a killed run left beside ``path`` (a rename never happened for them); the tag's
    exact length keeps ``relit.exr``'s pattern off ``relit.0001.exr``'s temp files."""
    path = Path(path)
    for stale in path.parent.glob(_temp_name(path, "[0-9a-f]" * TEMP_TAG)):
        stale.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``path`` (same extension, so OIIO picks the format); rename on success."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise RelitError(f"cannot write: folder {parent} does not exist", path)
    while True:
        tmp = parent / _temp_name(path, secrets.token_hex(TEMP_TAG // 2))
        try:  # created as open() creates files: the umask applies, nothing needs to read it
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise RelitError(f"cannot write ({exc.strerror})", path) from None
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# Rows written at a time: each strip's planes are interleaved into one small buffer, which stays in cache
# while OpenImageIO converts it to the file's channel formats and OpenEXR compresses it (1080p, 21 channels:
# twice as fast as interleaving the whole frame first, and the frame is never held twice)
STRIP = 64


class _Premultiplied:
    """Colour (H, W, 3) times alpha (H, W, 1), made a strip of rows at a time as the writer asks for it."""

    def __init__(self, colour: np.ndarray, alpha: np.ndarray):
        self.colour, self.alpha = colour, alpha

    def __getitem__(self, rows: slice) -> np.ndarray:
        return self.colour[rows] * self.alpha[rows]


Plane = np.ndarray | _Premultiplied  # what the writer takes a strip of rows of at a time


def _channels(plane: Plane) -> int:
    return (plane.colour if isinstance(plane, _Premultiplied) else plane).shape[2]


def _write(path: Path, planes: list[Plane], spec: oiio.ImageSpec) -> None:
    """Write the planes (H, W, C_i), side by side, as the channels of ``spec``, a strip of rows at a time."""
    with atomic_path(path) as tmp:
        out = oiio.ImageOutput.create(str(tmp))
        if out is None:
            raise RelitError(f"no writer for this format ({oiio.geterror().strip()})", path)
        ok = out.open(str(tmp), spec)
        ends = np.cumsum([0] + [_channels(plane) for plane in planes])
        for top in range(0, spec.height, STRIP):
            if not ok:
                break
            bottom = min(top + STRIP, spec.height)
            # filled plane by plane: C order whatever the planes' layout (a stack read from a file holds
            # views of its channel-planar buffer, which np.concatenate would keep)
            strip = np.empty((bottom - top, spec.width, int(ends[-1])), np.float32)
            for plane, first, last in zip(planes, ends[:-1], ends[1:]):
                strip[..., first:last] = plane[top:bottom]
            ok = out.write_scanlines(top, bottom, 0, strip)
        error = out.geterror().strip()
        out.close()
        if not ok:
            raise RelitError(f"write failed ({error})", path)


def _metadata_spec(width: int, height: int, names: list[str], fmt: str, metadata: dict[str, str]) -> oiio.ImageSpec:
    spec = oiio.ImageSpec(width, height, len(names), fmt)
    spec.channelnames = tuple(names)
    if "A" in names:
        spec.alpha_channel = names.index("A")
    for key, value in metadata.items():
        spec.attribute(META_PREFIX + key if not key.startswith(META_PREFIX) else key, str(value))
    return spec


def write_image(path: str | os.PathLike[str], image: Image, half: bool = False, compression: str = "zip") -> None:
    """Write an RGB(A) image. Float formats keep the image's colourspace; integer ones keep an encoded
    (display/log) colourspace and turn scene-linear images into sRGB."""
    path = Path(path)
    _check_extension(path, WRITE_FORMATS, "write")
    is_float = path.suffix.lower() in FLOAT_WRITE_FORMATS
    if not is_float and image.config.getColorSpace(image.colourspace).getEncoding() in ("scene-linear", ""):
        image = image.to(srgb_space(image.config))  # integer files hold encoded values, never linear light
    rgba = image.channels in (3, 4)
    names = ["R", "G", "B", "A"][: image.channels] if rgba else [f"C{i}" for i in range(image.channels)]
    fmt = ("half" if half else "float") if is_float else "uint8"
    if path.suffix.lower() in {".tif", ".tiff", ".dpx"}:
        fmt = "uint16"
    spec = _metadata_spec(image.width, image.height, names, fmt, {"colourspace": image.colourspace})
    spec.attribute("oiio:ColorSpace", image.colourspace)
    if path.suffix.lower() == ".exr":
        spec.attribute("compression", _exr_compression(compression, path))
    pixels = image.pixels if is_float else np.clip(image.pixels, 0.0, 1.0)
    _write(path, [pixels], spec)


def _exr_compression(compression: str, path: Path) -> str:
    if compression not in EXR_COMPRESSIONS:
        raise RelitError(f"unknown EXR compression {compression!r}; expected one of "
                         f"{', '.join(EXR_COMPRESSIONS)}", path)
    return compression


PRECISIONS = ("mixed", "half", "float")


def write_passes(path: str | os.PathLike[str], stack: PassStack, precision: str = "mixed",
                 compression: str = "zip") -> None:
    """Multi-layer EXR: ``albedo.R/G/B``, ``normals.X/Y/Z``, ``depth.Z``, alpha in ``A``, and an RGBA that
    any viewer or compositor reads as OpenEXR defines it: R/G/B the relit person (else the albedo)
    premultiplied by A. The passes' layers are straight (not premultiplied). ``precision`` "mixed" writes
    the colour passes (and R/G/B) as half floats, as compositing tools write colour, and the data passes
    (alpha, normals, depth, ...) as full floats; "half" and "float" write every channel so."""
    path = Path(path)
    if path.suffix.lower() != ".exr":
        raise RelitError("pass stacks are written as multi-layer OpenEXR; expected a .exr path", path)
    if precision not in PRECISIONS:
        raise RelitError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}", path)
    names: list[str] = []
    planes: list[Plane] = []
    colour: list[bool] = []
    beauty = stack.relit if stack.relit is not None else stack.albedo
    if beauty is not None:
        names += ["R", "G", "B"]
        planes.append(beauty if stack.alpha is None else _Premultiplied(beauty, stack.alpha))
        colour += [True] * 3
    for spec in PASSES:
        arr = getattr(stack, spec.name)
        if arr is not None:
            names += list(spec.exr_channels)
            planes.append(arr)
            colour += [spec.colour] * spec.channels
    if not planes:
        raise RelitError("the pass stack is empty; nothing to write", path)
    h, w = stack.shape
    header = _metadata_spec(w, h, names, "half" if precision == "half" else "float",
                            {**stack.metadata, "colourspace": stack.colourspace})
    if precision == "mixed":
        header.channelformats = tuple(oiio.TypeDesc("half" if c else "float") for c in colour)
    header.attribute("oiio:ColorSpace", stack.colourspace)
    header.attribute("compression", _exr_compression(compression, path))
    _write(path, planes, header)


def read_passes(path: str | os.PathLike[str]) -> PassStack:
    """Read a multi-layer EXR written by relit (or any tool using the same channel names)."""
    path = Path(path)
    if path.suffix.lower() != ".exr":
        raise RelitError("expected a multi-layer OpenEXR (.exr) pass file", path)
    spec, pixels, first = _open(path, [c for pspec in PASSES for c in pspec.exr_channels])
    names = list(spec.channelnames)
    found: dict[str, np.ndarray] = {}
    for pspec in PASSES:
        present = [c for c in pspec.exr_channels if c in names]
        if not present:
            continue
        if len(present) != pspec.channels:
            missing = sorted(set(pspec.exr_channels) - set(present))
            raise RelitError(f"layer {pspec.name!r} is incomplete: missing {', '.join(missing)}", path)
        found[pspec.name] = pixels[:, :, [names.index(c) - first for c in pspec.exr_channels]]
    if not found:
        expected = ", ".join(p.exr_channels[0] for p in PASSES)
        raise RelitError(f"no relit pass layers among channels {', '.join(names)}; expected e.g. {expected}", path)
    for name, arr in found.items():
        _check_finite(path, arr)
    metadata = _relit_metadata(spec)
    colourspace = metadata.pop("colourspace", None) or working_space(resolve_config())
    try:
        stack, filled = PassStack(**found, colourspace=colourspace, metadata=metadata).conform_normals()
    except RelitError as exc:
        raise RelitError(str(exc), path) from None
    if filled:
        log.warning("%s: %d edge pixel(s) under alpha < %g had no normal; they take their neighbours'", path, filled,
                    EDGE_COVERAGE)
    return stack


def describe(path: str | os.PathLike[str]) -> dict[str, object]:
    """What ``relit info`` prints: size, channels grouped into layers, colourspace, relit metadata."""
    path = Path(path)
    _check_extension(path, READ_FORMATS, "read")
    spec, _, _ = _open(path)  # the pixels too: a truncated file has a whole header
    layers: dict[str, list[str]] = {}
    for name in spec.channelnames:
        layer, _, chan = name.rpartition(".")
        layers.setdefault(layer or "rgba", []).append(chan)
    cfg = resolve_config()
    return {
        "file": str(path),
        "resolution": f"{spec.width}x{spec.height}",
        "format": str(spec.format),
        "channels": list(spec.channelnames),
        "layers": layers,
        "colourspace": _infer_colourspace(path, spec, cfg),
        "metadata": {a.name: str(a.value) for a in spec.extra_attribs if a.name.startswith(META_PREFIX)},
    }


def _file_sequence(pattern: str) -> fileseq.FileSequence:
    return fileseq.FileSequence(pattern, pad_style=fileseq.PAD_STYLE_HASH1, allow_subframes=False)


def has_frame_token(pattern: str | os.PathLike[str]) -> bool:
    """Whether a path holds a frame token (``####``, ``%04d``, ``$F4``, ``@``). A literal frame number
    (``shot.1001.exr``) is a still: fileseq reads it as padding, but no token is written."""
    padding = _file_sequence(str(pattern)).padding()
    return bool(padding) and padding in str(pattern)


class Sequence:
    """A frame pattern (``shot.####.exr``, ``shot.%04d.exr``, ``shot.$F4.exr``) and, optionally, a frame range.

    A path with no frame token is a sequence of one (frame ``None``), so every command handles stills
    and sequences the same way.
    """

    def __init__(self, pattern: str | os.PathLike[str], frames: str | None = None) -> None:
        self.pattern = str(pattern)
        self._seq = _file_sequence(self.pattern)
        self.is_sequence = has_frame_token(self.pattern)
        if not self.is_sequence:
            if frames:
                raise RelitError(f"a frame range ({frames}) needs a frame pattern such as shot.####.exr", pattern)
            self._frames: list[int | None] = [None]
            return
        if frames is None:
            found = fileseq.findSequenceOnDisk(self.pattern, pad_style=fileseq.PAD_STYLE_HASH1) \
                if self._any_on_disk() else None
            if found is None:
                raise RelitError("no frames on disk match this pattern; give a frame range", pattern)
            self._frames = list(found.frameSet())
        else:
            try:
                self._frames = list(fileseq.FrameSet(frames))
            except fileseq.ParseException:
                raise RelitError(f"bad frame range {frames!r}; expected e.g. 1-100, 1-100x2 or 1,5,9",
                                 pattern) from None

    def _any_on_disk(self) -> bool:
        folder = Path(self._seq.dirname() or ".")
        return folder.is_dir() and any(p.name.startswith(self._seq.basename()) for p in folder.iterdir())

    @property
    def frames(self) -> list[int | None]:
        return list(self._frames)

    @property
    def frame_range(self) -> str | None:
        """The frames as a range string (for a matching output pattern); None for a still."""
        return str(fileseq.FrameSet(self._frames)) if self.is_sequence else None

    def path(self, frame: int | None) -> Path:
        if frame is None:
            return Path(self.pattern)
        return Path(self._seq.frame(frame))

    def __iter__(self) -> Iterator[tuple[int | None, Path]]:
        for frame in self._frames:
            yield frame, self.path(frame)

    def __len__(self) -> int:
        return len(self._frames)
