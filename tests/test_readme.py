"""The README as users read it: short, every `relit` command in it accepted by relit's own argument parser,
every subcommand in its reference, its light JSON loadable, and its three-step example run for real, on
the command line and in Python, on the bundled portrait and HDRIs."""
from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from relit import data
from relit.camera import Camera
from relit.cli import main, parser
from relit.environment import load_latlong, view
from relit.io import read_image, read_passes, write_image
from relit.lighting import Environment, load_lights

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE = "## Relight a plate in three steps"


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of one language, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def commands(block: str) -> list[list[str]]:
    """Each command line of a sh block as argv: continuation lines (ending in a backslash) joined,
    comments dropped, `a && b` split in two."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(re.sub(r"(^|\s)#.*", "", line))  # a comment starts a word (not shot.####.exr)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            out.append(words[:cut])
            words = words[cut + 1:]
    return [argv for argv in out if argv]


def relit_argv(words: list[str]) -> list[str] | None:
    """The arguments after `relit` (or `.venv/bin/relit`), reference notation made concrete: brackets
    dropped, the first of `a|b` or `[--x | --y]` taken, `...` dropped, and placeholders in capitals
    (PLATE, PASSES.exr, DEG, CKPT_DIR/passes.pt) replaced by "1", which every option's type accepts."""
    if not words or Path(words[0]).name != "relit":
        return None
    argv: list[str] = []
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
            continue
        if word == "|":
            skip = True
            continue
        if not word.startswith(("{", "'", '"')):
            word = word.strip("[]").split("|")[0]
        if word in ("", "..."):
            continue
        argv.append("1" if word[0].isupper() else word)
    return argv


def parse_error(argv: list[str]) -> str | None:
    """None if relit's parser takes ``argv`` (and, for `relit farm ... -- CMD`, CMD too), else its message."""
    split = argv.index("--") if "--" in argv else len(argv)
    for part in (argv[:split], argv[split + 1:]):
        if not part:
            continue
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                parser().parse_args(part)
        except SystemExit as exc:
            return f"relit {' '.join(part)}: exit {exc.code}: {err.getvalue().strip()}"
    return None


def readme_commands() -> list[list[str]]:
    return [argv for block in blocks(README.read_text(), "sh") for words in commands(block)
            if (argv := relit_argv(words)) is not None]


def subcommands(p: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable subcommand of the parser: ('passes',), ('stage', 'render'), ..."""
    found = []
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += subcommands(sub, prefix + (name,)) or [prefix + (name,)]
    return found


def test_the_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) < 250, f"README.md has {len(lines)} lines; move detail into docs/"


def test_every_relit_command_in_the_readme_parses():
    argvs = readme_commands()
    assert len(argvs) >= 15, argvs  # the example, the demo and the reference are all found
    errors = [e for argv in argvs if (e := parse_error(argv))]
    assert not errors, "\n".join(errors)


def test_the_reference_names_every_subcommand():
    named = {tuple(argv[:2]) for argv in readme_commands()} | {tuple(argv[:1]) for argv in readme_commands()}
    missing = [" ".join(cmd) for cmd in subcommands(parser()) if cmd not in named]
    assert not missing, f"not in the README's command reference: {missing}"


def test_the_checker_catches_an_option_that_is_gone():
    assert parse_error(relit_argv(shlex.split("relit relight PASSES.exr -o OUT.exr [--no-such-option]")))
    assert parse_error(relit_argv(shlex.split("relit farm openjd --frames 1-2 -o J.json -- relight P --gone")))
    assert parse_error(relit_argv(shlex.split("relit passes PLATE -o P.exr [--device cpu|cuda]"))) is None


def test_the_light_json_in_the_readme_loads():
    (block,) = blocks(README.read_text(), "json")
    assert [type(light).__name__ for light in load_lights(block)] == \
        ["DirectionalLight", "PointLight", "SpotLight", "AreaLight"]


def example_section() -> str:
    text = README.read_text()
    start = text.index(EXAMPLE)
    return text[start:text.index("\n## ", start + 1)]


def background_like(plate_path: Path, out: Path) -> None:
    """A background plate of the plate's size: a view of the bundled courtyard HDRI."""
    plate = read_image(plate_path)
    courtyard = Environment(data.hdri("courtyard"), colourspace=data.HDRI_COLOURSPACE)
    pixels = view(load_latlong(courtyard), Camera(40.0), plate.height, plate.width)
    write_image(out, type(plate)(pixels, "ACEScg"))


def test_the_command_line_example_runs(tmp_path, monkeypatch):
    """The example's sh block as written, in a folder holding the files it names: the bundled portrait as
    plate.jpg, the bundled studio HDRI as studio.exr and a background of the plate's size."""
    (block,) = blocks(example_section(), "sh")
    shutil.copy(data.portrait(), tmp_path / "plate.jpg")
    shutil.copy(data.hdri("studio"), tmp_path / "studio.exr")
    background_like(tmp_path / "plate.jpg", tmp_path / "background.exr")
    monkeypatch.chdir(tmp_path)
    oiiotool = shutil.which("oiiotool") or str(Path(sys.executable).with_name("oiiotool"))
    ran = []
    for words in commands(block):
        argv = relit_argv(words)
        if argv is not None:
            assert main(argv) == 0, words
        elif words[0] == "oiiotool":
            if not Path(oiiotool).exists():
                pytest.skip("oiiotool (OpenImageIO's command line) is not installed")
            result = subprocess.run([oiiotool, *words[1:]], capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
        else:
            raise AssertionError(f"the example runs only relit and oiiotool: {words}")
        ran.append(words[-1] if words[0] == "oiiotool" else argv[argv.index("-o") + 1])
    assert ran == ["passes.exr", "relit.exr", "composite.exr"]
    lit = read_passes("relit.exr")
    assert lit.composite is not None and lit.relit is not None
    composite = read_image("composite.exr").pixels
    assert composite.shape == lit.composite.shape and np.allclose(composite, lit.composite, atol=1e-2, rtol=1e-2)


def test_the_python_example_runs(tmp_path, monkeypatch):
    (block,) = blocks(example_section(), "python")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(README) + ":python example", "exec"), {"__name__": "readme_example"})
    written = re.findall(r'write_\w+\("([^"]+)"', block)
    assert written == ["passes.exr", "relit.exr", "composite.exr"]
    for name in written:
        assert (tmp_path / name).stat().st_size > 0, name
    lit = read_passes("relit.exr")
    assert lit.composite is not None and lit.shape == read_passes("passes.exr").shape
