"""The Nuke and Houdini adapters type-check against the real APIs' stubs (types-nuke, types-houdini, from the
`test` extra), so a call to a function or method Nuke or Houdini does not have fails CI, not a session in the
DCC. The fakes the adapter tests run against (tests/fakes) cannot catch that: they have what the adapters call.
mypy.ini names the files (the adapters, the HDA's PythonCook section and relit.dcc) and the settings."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mypy.ini"

# calls neither API has: the check must report both, or the stubs are not what mypy reads
BAD_CALLS = '''import hou
import nuke

node = hou.node("/obj")
assert node is not None
node.notAMethod()
nuke.notAFunction()
'''


def _mypy(cache: Path, *files: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    # the cache in a temporary folder, not .mypy_cache in the checkout
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(CONFIG), "--cache-dir", str(cache),
                           "--no-error-summary", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mypy_cache")


def test_adapters_type_check_against_the_stubs(cache):
    result = _mypy(cache)  # the files mypy.ini names
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"mypy (mypy.ini) reports errors:\n{report}"


def test_the_check_catches_calls_the_apis_do_not_have(cache, tmp_path):
    bad = tmp_path / "bad_calls.py"
    bad.write_text(BAD_CALLS)
    result = _mypy(cache, str(bad))
    report = result.stdout + result.stderr
    assert result.returncode == 1, f"mypy should report the bad calls:\n{report}"
    errors = [line for line in report.splitlines() if ": error:" in line]
    assert any(":6:" in e and '"Node" has no attribute "notAMethod"' in e for e in errors), report
    assert any(":7:" in e and 'has no attribute "notAFunction"' in e for e in errors), report
    assert not any("import-not-found" in e or "import-untyped" in e for e in errors), report
