"""Resumable sequences and the Open Job Description job, run for real (openjd run, SIGKILL)."""
import json
import signal
import subprocess
import sys
import time

import pytest

from relit.errors import RelitError
from relit.farm import chunks, openjd_template
from relit.io import write_passes
from tests.conftest import sphere_stack

LIGHT = '{"type": "area", "position": [0.5, 1, 1], "direction": [-0.5, -1, -2], "size": [0.5, 0.5]}'


def _frames(folder, count, size=16):
    for f in range(1, count + 1):
        write_passes(folder / f"in.{f:04d}.exr", sphere_stack(size))


def test_chunks_split_a_range():
    assert chunks("1001-1007", 3) == ["1001-1003", "1004-1006", "1007"]
    assert chunks("1-10x3", 2) == ["1,4", "7,10"]  # stepped ranges keep their frames
    with pytest.raises(RelitError, match="chunk size must be >= 1"):
        chunks("1-3", 0)
    with pytest.raises(RelitError, match="bad frame range"):
        chunks("one-two", 2)


def test_template_refuses_what_it_cannot_run():
    with pytest.raises(RelitError, match="a farm job runs one of: relight"):
        openjd_template(["demo"], "1-2", 1)
    with pytest.raises(RelitError, match="leave --frames out"):
        openjd_template(["relight", "a.####.exr", "--frames", "1-2"], "1-2", 1)


def test_openjd_template_validates_and_runs_two_chunks_locally(tmp_path):
    _frames(tmp_path, 4)
    job = tmp_path / "job.json"
    made = subprocess.run([sys.executable, "-m", "relit.cli", "farm", "openjd", "--frames", "1-4", "--chunk", "2",
                           "--executable", f"{sys.executable} -m relit.cli", "-o", job, "--",
                           "relight", tmp_path / "in.####.exr", "-o", tmp_path / "out.####.exr", "--light", LIGHT],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    template = json.loads(job.read_text())
    assert template["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0]["range"] == ["1-2", "3-4"]
    openjd = [sys.executable, "-m", "openjd"]
    check = subprocess.run([*openjd, "check", job], capture_output=True, text=True)
    assert check.returncode == 0 and "passes validation" in check.stdout, check.stdout + check.stderr
    run = subprocess.run([*openjd, "run", job], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and "Session ended successfully" in run.stdout, run.stdout[-2000:] + run.stderr
    assert sorted(p.name for p in tmp_path.glob("out.*.exr")) == [f"out.{f:04d}.exr" for f in range(1, 5)]


def test_a_killed_sequence_resumes_with_only_the_missing_frames(tmp_path):
    _frames(tmp_path, 12, size=192)
    command = [sys.executable, "-m", "relit.cli", "relight", tmp_path / "in.####.exr", "-o", tmp_path / "out.####.exr",
               "--light", LIGHT]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(tmp_path.glob("out.*.exr"))) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("out.*.exr")}
    assert 3 <= len(done) < 12, "the run should have been killed half-way"
    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(done)} of 12 frame(s) already written, skipped" in rerun.stderr
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("out.*.exr")}
    assert len(after) == 12
    assert all(after[name] == mtime for name, mtime in done.items())  # finished frames were not redone
    assert not list(tmp_path.glob(".*tmp*"))  # the killed run's temp file was cleared


def test_executables_with_spaces_in_their_path(monkeypatch):
    """A relit installed under a folder with a space: the job runs that path, not its first word."""
    monkeypatch.setattr("shutil.which", lambda name: "/opt/vfx tools/bin/relit")
    template = openjd_template(["relight", "a.####.exr", "-o", "b.####.exr"], "1-2", 1)
    action = template["steps"][0]["script"]["actions"]["onRun"]
    assert template["parameterDefinitions"][0]["default"] == "/opt/vfx tools/bin/relit"
    assert action["args"][:2] == ["relight", "a.####.exr"]
    given = openjd_template(["relight", "a.####.exr"], "1-2", 1, executable='"/opt/my py/python" -m relit.cli')
    assert given["parameterDefinitions"][0]["default"] == "/opt/my py/python"
    assert given["steps"][0]["script"]["actions"]["onRun"]["args"][:3] == ["-m", "relit.cli", "relight"]
