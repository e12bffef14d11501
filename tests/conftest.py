"""Shared fixtures: real files in tmp dirs, the shipped OCIO config, small analytic pass stacks."""
from __future__ import annotations

import os

import numpy as np
import pytest

from relit.colour import resolve_config
from relit.passes import PassStack


@pytest.fixture(autouse=True, scope="session")
def _light_cache(tmp_path_factory):
    """The tests' light maps go to a folder of their own (the CLI's subprocesses inherit it), not the user's."""
    os.environ["RELIT_CACHE"] = str(tmp_path_factory.mktemp("lightcache"))


@pytest.fixture
def config():
    return resolve_config()


def sphere_stack(size: int = 64, albedo: float = 0.5) -> PassStack:
    """An orthographic unit sphere filling the frame: exact normals, depth and alpha."""
    y, x = np.mgrid[0:size, 0:size]
    nx, ny = (x + 0.5) / size * 2 - 1, 1 - (y + 0.5) / size * 2
    r2 = nx ** 2 + ny ** 2
    inside = r2 < 1
    nz = np.sqrt(np.clip(1 - r2, 0, 1))
    normals = np.where(inside[..., None], np.stack([nx, ny, nz], -1), np.float32([0, 0, 1])).astype(np.float32)
    return PassStack(alpha=inside.astype(np.float32), normals=normals, depth=np.where(inside, 3 - nz, 0)[..., None],
                     albedo=np.full((size, size, 3), albedo, np.float32),
                     metadata={"camera_hfov": "0.0", "camera_ortho_width": "2.0"})


@pytest.fixture
def sphere():
    return sphere_stack()


@pytest.fixture(scope="session")
def stage(tmp_path_factory):
    """Two virtual-light-stage people, two lightings each, rendered for real at 64 px (module tests
    of the stage, the training loop and the evaluation share them)."""
    pytest.importorskip("anny")
    from relit import data
    from relit.stage.job import render_stage
    out = tmp_path_factory.mktemp("stage")
    manifest = render_stage(out, count=2, res=64, spp=64, seed=5, hdri_dir=data.path(""), workers=1)
    return out, manifest


@pytest.fixture(scope="session")
def stage_sequence(tmp_path_factory):
    """One virtual-light-stage sequence: a person turning 3 degrees a frame, three frames at 48 px."""
    pytest.importorskip("anny")
    from relit import data
    from relit.stage.job import render_stage
    out = tmp_path_factory.mktemp("sequence")
    manifest = render_stage(out, count=1, res=48, spp=8, seed=3, hdri_dir=data.path(""), workers=1,
                            turn=(0.0, 3.0, 6.0))
    return out, manifest


@pytest.fixture
def stage_validation(stage, tmp_path):
    """A copy of the ``stage`` folder whose second person is relabelled validation (for ``relit eval``)."""
    import json
    import shutil
    folder, _ = stage
    work = tmp_path / "stage"
    shutil.copytree(folder, work)
    manifest = json.loads((work / "manifest.json").read_text())
    for sample in manifest["samples"]:
        sample["split"] = "validation" if sample["identity"] == 1 else "train"
    (work / "manifest.json").write_text(json.dumps(manifest))
    return work


# Under CI (CI=true, as .ci/run runs) a skipped test means the test install failed to enable a suite it should
# (Blender, .mpvenv, the shared assets, the train extra): the run fails. Skips that CI's machine cannot avoid:
EXPECTED_SKIPS = ("running as root",)


def unexpected_skips(reasons: list[str]) -> list[str]:
    return [r for r in reasons if not any(allowed in r for allowed in EXPECTED_SKIPS)]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI", "").lower() not in ("true", "1") or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    reasons = [str(r.longrepr[2]) if isinstance(r.longrepr, tuple) else str(r.longrepr) for r in skipped]
    unexpected = unexpected_skips(reasons)
    if unexpected:
        reporter.ensure_newline()
        reporter.write_line("CI: skipped, though the test install should enable them:", red=True)
        for reason in unexpected:
            reporter.write_line(f"  {reason}", red=True)
        session.exitstatus = 1
