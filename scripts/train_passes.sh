#!/usr/bin/env bash
# The recipe that rebuilds relit's shipped networks (core/relit/weights/passes.onnx, shading.onnx and their cards).
# Every step is resumable: rerun the script after an interruption and it continues where it stopped.
# Times are for the project's 2-core machine; see docs/networks.md (Measured) for the measured figures.
#
#   bash scripts/train_passes.sh [WORK_DIR] [ASSETS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-../relit-work}
assets=${2:-../shared/assets}
relit=.venv/bin/relit
steps=${STEPS:-2500}

# 1. Virtual light stage: people lit two ways each, 256 px, 64 spp (about 19 files a minute here).
$relit stage render --count "${PEOPLE:-300}" --lightings 2 --res 256 --spp 64 --seed 7 \
    --hdris "$assets/hdri" --out "$work/stage256"
# 2. Teacher mattes for the real training portraits (pd_0001-pd_0016; the others are kept for the sheet),
#    from MediaPipe's selfie segmentation in its own venv (it pins protobuf < 5).
if [ ! -x .mpvenv/bin/python ]; then python3 -m venv .mpvenv && .mpvenv/bin/pip install -q mediapipe==0.10.14; fi
.mpvenv/bin/python scripts/teacher_mattes.py "$assets"/portraits/pool/pd_00{01..16}.jpg -o "$work/teacher"
#    and for the held-out ones `relit eval --real` compares with (photos gathered in one folder)
mkdir -p "$work/real_eval/photos"
cp "$assets"/portraits/pool/pd_00{17,18,19,20,31,32}.jpg "$assets"/portraits/{astronaut.png,grace_hopper.jpg} \
    "$work/real_eval/photos/"
.mpvenv/bin/python scripts/teacher_mattes.py "$work"/real_eval/photos/* -o "$work/real_eval/mattes"
# 3. Train (seeded, checkpoints every 100 steps; rerunning resumes), export, evaluate, draw the sheet.
#    2500 steps without the Retinex prior, then 600 steps of fine-tuning with it (without it the albedo of
#    real photos came out one flat colour; see docs/networks.md): model 0.3, not shipped.
$relit train passes --data "$work/stage256" --out "$work/ckpt" --steps "$steps" --batch 16 --res 128 --seed 0 \
    --threads 2 --real "$assets/portraits/pool" --teacher "$work/teacher" --retinex 0
$relit train passes --data "$work/stage256" --out "$work/ckpt" --steps $((steps + 600)) --batch 16 --res 128 \
    --seed 0 --lr 0.01 --real "$assets/portraits/pool" --teacher "$work/teacher" --retinex 1
# 4. Model 0.4: 600 more steps with skin pixels weighing 3x in the normals loss (faces are what a relight
#    is judged by; skin normals went from 15.2 to 14.0 degrees, see docs/networks.md). In a folder of its
#    own, from a copy of 0.3's checkpoint, so that a rerun leaves 0.3's alone.
mkdir -p "$work/ckpt_skin"
[ -f "$work/ckpt_skin/passes.pt" ] || cp "$work/ckpt/passes.pt" "$work/ckpt_skin/passes.pt"
$relit train passes --data "$work/stage256" --out "$work/ckpt_skin" --steps $((steps + 1200)) --batch 16 --res 128 \
    --seed 0 --lr 0.01 --real "$assets/portraits/pool" --teacher "$work/teacher" --retinex 1 --skin 2
$relit train export "$work/ckpt_skin/passes.pt" -o core/relit/weights/passes.onnx --internal 192 --version 0.4
# 5. The shading network, on the engine's light from the passes network just exported (and the exact passes).
$relit train shading --data "$work/stage256" --out "$work/shading04" --steps "${SHADING_STEPS:-3000}" --seed 0 \
    --threads 2
$relit train export "$work/shading04/shading.pt" -o core/relit/weights/shading.onnx --internal 192 --version 0.4
$relit eval "$work/stage256" --shading-model core/relit/weights/shading.onnx --real "$work/real_eval/photos" \
    --teacher "$work/real_eval/mattes" --json "$work/eval.json" --record
# 6. Flicker (docs/networks.md, Video): sequences of unseen people under held-out HDRIs, turning, slow, static.
$relit stage render --count 4 --frames 12 --turn 1.5 --res 256 --spp 64 --seed 7 --hdris "$assets/hdri" \
    --out "$work/seq_turn"
$relit stage render --count 3 --frames 10 --turn 0.4 --res 256 --spp 64 --seed 11 --hdris "$assets/hdri" \
    --out "$work/seq_slow"
$relit stage render --count 1 --frames 8 --turn 0 --res 256 --spp 64 --seed 7 --hdris "$assets/hdri" \
    --out "$work/seq_static"
for seq in seq_turn seq_slow seq_static; do
    $relit eval "$work/$seq" --sequences --json "$work/eval_$seq.json" --record
done
.venv/bin/python scripts/portrait_sheet.py --portraits "$assets/portraits" --hdris "$assets/hdri" \
    -o docs/portraits_sheet.png
