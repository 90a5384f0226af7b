#!/usr/bin/env bash
# Retrain the bundled models with `denoisekit train`, each for a wall-clock budget
# (see denoisekit/bundled/RECIPE.md for how the shipped files were made):
#   bash benchmarks/train_bundled.sh [--parallel] [--budget SECONDS] [--finetune] [--batch N] [--out DIR] [MODEL...]
# --parallel starts every run at once: meant for one GPU (KERAS_BACKEND=jax, so Keras runs the
# models on the GPU through JAX while tf.data cuts and corrupts patches on the CPU cores; the
# small models leave the GPU mostly idle, so the runs share it). Without it the runs go one
# after another, as a 2-core CPU needs. --finetune continues from the model now in
# denoisekit/bundled/ (`train --init`, learning rate 3e-4 instead of 1e-3, a fresh cosine over
# --budget): the shipped files are a first run plus fine-tuning runs (RECIPE.md). Models land in --out (default runs/bundled); copy the
# ones you keep into denoisekit/bundled/ (salt-and-pepper-color was trained but not kept: the
# gray model per channel beat it; see RECIPE.md).
set -uo pipefail
cd "$(dirname "$0")/.."
parallel=0 budget=440 finetune=0 batch=32 out=runs/bundled names=()
while [ $# -gt 0 ]; do
  case $1 in
    --parallel) parallel=1 ;;
    --budget) budget=$2; shift ;;
    --finetune) finetune=1 ;;
    --batch) batch=$2; shift ;;
    --out) out=$2; shift ;;
    *) names+=("$1") ;;
  esac
  shift
done
mkdir -p "$out"
[ -d runs/train-images ] || python benchmarks/training_data.py runs/train-images
# Each JAX process would otherwise reserve 75% of the GPU's memory for itself.
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.15}

common=(--data runs/train-images --val-data samples/clean --seed 1 --patience 1000 --patch 128 --batch "$batch"
        --epochs 100000 --steps-per-epoch 500 --time-limit "$budget")
# The half-resolution U-Net, fed 12 correlated colour channels after space-to-depth, trailed a
# full-resolution DnCNN on colour Gaussian noise (29.8 against 32.6 dB validation): DnCNN there.
# Impulse noise and colorization train with L2 and biases: under L1 a residual net's best first
# guess is "no noise anywhere" (the median of a sparse residual is 0), and its ReLUs all died.
declare -A TASKS=(
  [gaussian-gray]="--noise gaussian -p sigma=0:55 --channels gray"
  [gaussian-color]="--noise gaussian -p sigma=0:55 --channels rgb"
  [salt-and-pepper-gray]="--noise salt-and-pepper -p amount=0:0.5 --channels gray --loss l2"
  [salt-and-pepper-color]="--noise salt-and-pepper -p amount=0:0.5 --channels rgb --loss l2"
  [colorize-color]="--noise grayscale --channels rgb --loss l2"
)
# The architecture of a first run (a fine-tuning run takes it from the model it starts from).
declare -A ARCHS=(
  [gaussian-gray]=""
  [gaussian-color]="--arch dncnn -a features=48 -a depth=8"
  [salt-and-pepper-gray]="-a bias=true"
  [salt-and-pepper-color]="-a bias=true"
  [colorize-color]="-a bias=true"
)
[ ${#names[@]} -gt 0 ] || names=(gaussian-gray gaussian-color salt-and-pepper-gray salt-and-pepper-color colorize-color)
for name in "${names[@]}"; do
  [ -n "${TASKS[$name]:-}" ] || { echo "unknown model $name (choose from ${!TASKS[*]})" >&2; exit 2; }
  [ $finetune = 0 ] || [ -f "denoisekit/bundled/$name.keras" ] || { echo "no bundled $name to fine-tune" >&2; exit 2; }
done

train_one() {
  local start=(${ARCHS[$1]})
  [ $finetune = 0 ] || start=(--init "denoisekit/bundled/$1.keras" --lr 3e-4)
  # shellcheck disable=SC2086
  timeout $((budget + 300)) denoisekit train "${common[@]}" --out "$out/$1.keras" --overwrite \
    ${TASKS[$1]} "${start[@]}" >"$out/$1.log" 2>&1
}
for name in "${names[@]}"; do
  if [ $parallel = 1 ]; then train_one "$name" & else train_one "$name"; fi
done
wait
for name in "${names[@]}"; do
  printf '%-24s %s\n' "$name" "$(tail -n 1 "$out/$name.log")"
done
