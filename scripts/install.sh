#!/usr/bin/env bash
# Install relit into ./.venv. `scripts/install.sh` installs the runtime; `scripts/install.sh test` adds
# the test and reference-renderer extras (pytest, onnx, Mitsuba 3) and, where apt is usable, libLLVM 19
# so Mitsuba runs its fast llvm_ad_rgb variant (relit finds libLLVM-19 itself, or honours
# $DRJIT_LIBLLVM_PATH; without it Mitsuba falls back to scalar_rgb, slower but correct), and
# `test` makes .mpvenv too (scripts/mediapipe_env.sh: MediaPipe 0.10.14, tflite-runtime; needs Python 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
if [ "${1:-}" = "test" ]; then
  extras="[train,test]"
  if ! ls /usr/lib/*/libLLVM-19.so* /usr/lib/llvm-19/lib/libLLVM.so* >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libllvm19) >/dev/null \
        || echo "install.sh: libllvm19 not installed; Mitsuba will use scalar_rgb" >&2
    else
      echo "install.sh: to use Mitsuba's llvm_ad_rgb variant: sudo apt-get install libllvm19" >&2
    fi
  fi
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${extras}"
if [ "${1:-}" = "test" ]; then
  # .mpvenv: MediaPipe 0.10.14 and a TFLite interpreter, apart from relit (protobuf < 5), for the parity tests of
  # the converted MediaPipe models (tests/test_mediapipe_onnx.py); a failure here fails the install.
  bash scripts/mediapipe_env.sh
fi
