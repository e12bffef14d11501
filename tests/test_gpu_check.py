"""benchmarks/gpu_check.py's CPU half (the GPU machine runs the whole of it): it runs, finds the face the
priors need, and reports every pass; its parity measure is zero against itself and catches a changed pass."""
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_the_cpu_half_runs_and_reports_every_pass():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--cpu-only", "--repeat", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("320x180 cpu:"))
    for name in ("alpha", "normals", "albedo", "roughness", "face_normals", "face", "person"):
        assert f"{name} 0" in line, line  # the CPU against itself: every pass, no difference


def test_differences_catch_a_changed_pass():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gpu_check import differences

    from relit.passes import PassStack
    a = PassStack(alpha=np.zeros((4, 4, 1), np.float32), albedo=np.zeros((4, 4, 3), np.float32))
    b = a.replace(albedo=a.albedo + np.float32(0.25))
    assert differences(a, b) == {"alpha": 0.0, "albedo": 0.25}
