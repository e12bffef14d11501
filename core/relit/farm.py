"""Render-farm jobs: an Open Job Description template that splits a frame range into chunks, each
running one ``relit`` sequence command on its frames.

The chunks are written out as a STRING task parameter ("1001-1010", "1011-1020", ...), the form every
OpenJD 2023-09 scheduler (Deadline Cloud included) accepts without template extensions. Each task
resumes: frames already written are skipped, so a retried task only does what is missing.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import fileseq

from .errors import RelitError
from .io import atomic_path

SEQUENCE_COMMANDS = ("relight",)


def chunks(frames: str, size: int) -> list[str]:
    """Contiguous runs of at most ``size`` frames, as fileseq range strings ("1001-1010", "1015")."""
    if size < 1:
        raise RelitError(f"chunk size must be >= 1, got {size}")
    try:
        ordered = list(fileseq.FrameSet(frames))
    except fileseq.ParseException:
        raise RelitError(f"bad frame range {frames!r}; expected e.g. 1001-1100") from None
    return [str(fileseq.FrameSet(ordered[i:i + size])) for i in range(0, len(ordered), size)]


def default_executable() -> list[str]:
    """The relit that is running now, so farm tasks use the same install (a path, spaces and all)."""
    found = shutil.which("relit")
    return [found] if found else [sys.executable, "-m", "relit.cli"]


def openjd_template(command: list[str], frames: str, chunk: int, name: str = "relit",
                    executable: str | None = None, timeout: int = 3600) -> dict:
    """An OpenJD job template running ``relit <command> --frames <chunk>`` for every chunk. ``executable`` is
    a command line (quote a path with spaces), by default the running relit."""
    if not command or command[0] not in SEQUENCE_COMMANDS:
        got = " ".join(command) or "nothing"
        raise RelitError(f"a farm job runs one of: {', '.join(SEQUENCE_COMMANDS)}; got {got}")
    if "--frames" in command:
        raise RelitError("leave --frames out of the command: the job gives each task its chunk")
    program, *prefix = shlex.split(executable) if executable else default_executable()
    return {
        "specificationVersion": "jobtemplate-2023-09",
        "name": name,
        "parameterDefinitions": [
            {"name": "RelitExecutable", "type": "STRING", "default": program,
             "description": "relit on the render nodes (same version as the one that wrote this job)"},
        ],
        "steps": [{
            "name": command[0].capitalize(),
            "parameterSpace": {"taskParameterDefinitions": [
                {"name": "Frames", "type": "STRING", "range": chunks(frames, chunk)},
            ]},
            "script": {"actions": {"onRun": {
                "command": "{{Param.RelitExecutable}}",
                "args": [*prefix, *command, "--frames", "{{Task.Param.Frames}}"],
                "timeout": timeout,
            }}},
        }],
    }


def write_template(template: dict, path: str | os.PathLike[str]) -> None:
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise RelitError("OpenJD templates are written as JSON; expected a .json path", path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(template, indent=2) + "\n")
