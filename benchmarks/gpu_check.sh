#!/usr/bin/env bash
# ONNX Runtime's CUDA provider against the CPU (issue 21): parity per pass, priors included, and the time
# per 1080p and 4K frame, in under five minutes, on a machine with an NVIDIA GPU and no network:
#
#   1. place wheels in benchmarks/wheels/: onnxruntime-gpu, and those of relit's dependencies
#      (setup.py's install_requires, less onnxruntime) the machine's Python lacks;
#   2. bash benchmarks/gpu_check.sh          # prints the machine, parity and timings
#
# The CPU half runs in CI (tests/test_gpu_check.py: gpu_check.py --cpu-only), so the script cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."
env=/tmp/relit-gpu-check
wheels=benchmarks/wheels
python3 -m venv --system-site-packages "$env"
"$env/bin/python" -m pip install -q --no-index --find-links "$wheels" onnxruntime-gpu
"$env/bin/python" -m pip install -q --no-index --find-links "$wheels" --no-deps --no-build-isolation -e .
missing=$("$env/bin/python" -c 'import importlib.util as u; print(" ".join(m for m in ("numpy", "OpenImageIO",
  "PyOpenColorIO", "tqdm", "fileseq", "scipy") if u.find_spec(m) is None))')
if [ -n "$missing" ]; then
  echo "gpu_check.sh: put wheels for these in $wheels: $missing" >&2
  exit 1
fi
timeout 280 "$env/bin/python" benchmarks/gpu_check.py "$@"
