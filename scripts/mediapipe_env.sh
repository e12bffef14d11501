#!/usr/bin/env bash
# Create ./.mpvenv, the environment of relit's MediaPipe tools (scripts/convert_mediapipe.py,
# scripts/mediapipe_reference.py, scripts/teacher_mattes.py). MediaPipe pins protobuf < 5, which relit's
# own .venv (onnx >= 1.17, protobuf 5+) rejects, so these run apart from relit; relit itself only runs the
# converted ONNX files with ONNX Runtime.
#
# Pinned (resolved together on Python 3.11, manylinux x86_64, from PyPI):
#   mediapipe 0.10.14       the wheel whose TFLite models are converted (Apache-2.0)
#   tflite-runtime 2.14.0   a TFLite interpreter, the parity reference for the converted graphs
#   tflite 2.18.0           pure-Python flatbuffer schema of .tflite files (the converter's parser)
#   onnx 1.16.2             last onnx line that accepts protobuf 4 (mediapipe wants protobuf >= 4.25.3, < 5)
#   protobuf 4.25.9, flatbuffers 25.12.19, numpy 1.26.4 (< 2: tflite-runtime 2.14 and mediapipe 0.10.14
#   are built against numpy 1), opencv-contrib-python 4.11.0.86 (the last release that takes numpy 1)
#
# Idempotent: a complete environment (its stamp matches the pins and the packages import) is left alone.
# Usage: bash scripts/mediapipe_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."

pins=(
  "mediapipe==0.10.14"
  "tflite-runtime==2.14.0"
  "tflite==2.18.0"
  "onnx==1.16.2"
  "protobuf==4.25.9"
  "flatbuffers==25.12.19"
  "numpy==1.26.4"
  "opencv-contrib-python==4.11.0.86"
)
env=.mpvenv
stamp="$env/relit-mediapipe-env.txt"
check='import cv2, flatbuffers, mediapipe, numpy, onnx, tflite, tflite_runtime.interpreter'

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(printf '%s\n' "${pins[@]}")" ] \
   && "$env/bin/python" -c "$check" 2>/dev/null; then
  echo "mediapipe_env.sh: $env is complete"
  exit 0
fi

if [ ! -x "$env/bin/python" ]; then
  "$(command -v python3.11 || command -v python3)" -m venv "$env"
fi
py_ok=$("$env/bin/python" -c 'import sys; print(int(sys.version_info[:2] == (3, 11)))')
if [ "$py_ok" != 1 ]; then
  echo "mediapipe_env.sh: $env needs Python 3.11 (tflite-runtime 2.14.0 and mediapipe 0.10.14 wheels)" >&2
  exit 1
fi
"$env/bin/python" -m pip install -q --upgrade pip
"$env/bin/python" -m pip install -q "${pins[@]}"
"$env/bin/python" -c "$check"
rm -f "$stamp"
printf '%s\n' "${pins[@]}" > "$stamp.tmp"
mv "$stamp.tmp" "$stamp"  # written last: a failed install leaves no stamp and is redone
echo "mediapipe_env.sh: $env ready ($(tr '\n' ' ' < "$stamp"))"
