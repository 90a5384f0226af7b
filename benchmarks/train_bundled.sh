#!/usr/bin/env bash
# Retrain every bundled model with `denoisekit train` (CPU; see denoisekit/bundled/RECIPE.md).
#   bash benchmarks/train_bundled.sh [MODEL...]      # default: all, in this order
# Each run resumes from its checkpoint in runs/ if one exists; finished models are copied
# into denoisekit/bundled/. Wall times are in each model's metadata (`denoisekit models`).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=runs
[ -d "$RUNS/train-images" ] || python benchmarks/training_data.py "$RUNS/train-images"

run() {  # name, then train options
  local name=$1; shift
  local out="$RUNS/$name.keras" resume=()
  if [ -f "$out" ]; then  # finished earlier (delete it to retrain)
    cp "$out" "denoisekit/bundled/$name.keras"; return
  fi
  [ -f "$RUNS/$name.ckpt/state.json" ] && resume=(--resume)
  denoisekit train --data "$RUNS/train-images" --val-data samples/clean --seed 1 --patience 30 \
    --out "$out" "${resume[@]}" "$@"
  cp "$out" "denoisekit/bundled/$name.keras"
}

# Color and salt-and-pepper models use a small full-resolution DnCNN: the half-resolution U-Net,
# fed 12 channels of strongly correlated color after space-to-depth, stayed near the identity for
# hundreds of steps, and on salt-and-pepper noise and colorization all its (bias-free ReLU) units
# died in the first epoch, leaving it the identity for good.
declare -A RECIPES=(
  [gaussian-gray]="--noise gaussian -p sigma=0:55 --channels gray --epochs 50 --steps-per-epoch 70"
  [gaussian-color]="--noise gaussian -p sigma=0:55 --channels rgb --arch dncnn -a features=32 -a depth=7 --epochs 20 --steps-per-epoch 70"
  [salt-and-pepper-gray]="--noise salt-and-pepper -p amount=0:0.5 --channels gray --arch dncnn -a features=32 -a depth=7 --epochs 12 --steps-per-epoch 70"
  [salt-and-pepper-color]="--noise salt-and-pepper -p amount=0:0.5 --channels rgb --arch dncnn -a features=32 -a depth=7 --epochs 8 --steps-per-epoch 60"
  [colorize-color]="--noise grayscale --channels rgb --arch dncnn -a features=32 -a depth=7 --epochs 12 --steps-per-epoch 70"
)
# salt-and-pepper-color is not in the default order: it was not trained for this release (out of
# session time); `clean --model salt-and-pepper` restores color images per channel with the gray
# model (impulses hit all channels of a pixel at once). Train it with: bash $0 salt-and-pepper-color
ORDER=(gaussian-gray gaussian-color salt-and-pepper-gray colorize-color)
for name in "${@:-${ORDER[@]}}"; do
  # shellcheck disable=SC2086
  run "$name" ${RECIPES[$name]}
done
