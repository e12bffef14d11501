#!/usr/bin/env bash
# Install relit into ./.venv. `scripts/install.sh` installs the runtime; `scripts/install.sh test` adds
# the test and reference-renderer extras (pytest, onnx, Mitsuba 3) and, where apt is usable, libLLVM 19
# so Mitsuba runs its fast llvm_ad_rgb variant (relit finds libLLVM-19 itself, or honours
# $DRJIT_LIBLLVM_PATH; without it Mitsuba falls back to scalar_rgb, slower but correct), and
# `test` makes .mpvenv too (scripts/mediapipe_env.sh: MediaPipe 0.10.14, tflite-runtime; needs Python 3.11) and
# installs Debian's blender and POCL (an OpenCL CPU driver, for the Copernicus kernel test).
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
# Debian packages the tests use where apt is usable: libLLVM 19 (Mitsuba's llvm_ad_rgb) and Blender (a real
# compositing host that opens relit's EXRs, tests/test_blender.py); elsewhere those tests say why they skip.
apt_install() {  # package, what it is for
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1") >/dev/null \
      || echo "install.sh: $1 not installed ($2)" >&2
  else
    echo "install.sh: for $2: sudo apt-get install $1" >&2
  fi
}
if [ "${1:-}" = "test" ]; then
  extras="[train,test]"
  if ! ls /usr/lib/*/libLLVM-19.so* /usr/lib/llvm-19/lib/libLLVM.so* >/dev/null 2>&1; then
    apt_install libllvm19 "Mitsuba's llvm_ad_rgb variant; without it Mitsuba uses scalar_rgb"
  fi
  command -v blender >/dev/null || apt_install blender "the Blender compositor test"
  # POCL, an OpenCL driver for the CPU, and the ICD loader it registers with: tests/test_houdini_copernicus.py
  # runs the Copernicus HDA's OpenCL kernel on it with pyopencl (the test extra)
  [ -e /etc/OpenCL/vendors/pocl.icd ] || apt_install pocl-opencl-icd "the Copernicus OpenCL kernel test"
  ls /usr/lib/*/libOpenCL.so.1 >/dev/null 2>&1 || apt_install ocl-icd-libopencl1 "the Copernicus OpenCL kernel test"
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${extras}"
if [ "${1:-}" = "test" ]; then
  # .mpvenv: MediaPipe 0.10.14 and a TFLite interpreter, apart from relit (protobuf < 5), for the parity tests of
  # the converted MediaPipe models (tests/test_mediapipe_onnx.py); a failure here fails the install.
  bash scripts/mediapipe_env.sh
fi
