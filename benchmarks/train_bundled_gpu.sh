#!/usr/bin/env bash
# Train every bundled model at once on one GPU, each with `denoisekit train` for a fixed
# wall-clock budget (see denoisekit/bundled/RECIPE.md):
#   KERAS_BACKEND=jax bash benchmarks/train_bundled_gpu.sh [SECONDS] [OUTDIR] [MODEL...]
# Keras runs the models on the GPU through JAX while tf.data (tensorflow-cpu) cuts and corrupts
# the patches on the CPU cores; the small models leave the GPU mostly idle, so the runs share it.
# Finished models land in OUTDIR (default runs/gpu); copy the ones you keep into denoisekit/bundled/.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-450}
out=${2:-runs/gpu}
shift $(($# < 2 ? $# : 2))
mkdir -p "$out"
[ -d runs/train-images ] || python benchmarks/training_data.py runs/train-images
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
# Each JAX process would otherwise reserve 75% of the GPU's memory for itself.
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.15}

common=(--data runs/train-images --val-data samples/clean --seed 1 --patience 1000 --patch 128 --batch 32
        --epochs 100000 --steps-per-epoch 500 --time-limit "$budget")
# Impulse noise and colorization train with L2: under L1 a residual net's best first guess is
# "no noise anywhere" (the median of a sparse residual is 0), which drives its ReLUs to zero.
declare -A RECIPES=(
  [gaussian-gray]="--noise gaussian -p sigma=0:55 --channels gray"
  [gaussian-color]="--noise gaussian -p sigma=0:55 --channels rgb"
  [salt-and-pepper-gray]="--noise salt-and-pepper -p amount=0:0.5 --channels gray -a bias=true --loss l2"
  [salt-and-pepper-color]="--noise salt-and-pepper -p amount=0:0.5 --channels rgb -a bias=true --loss l2"
  [colorize-color]="--noise grayscale --channels rgb -a bias=true --loss l2"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(gaussian-gray gaussian-color salt-and-pepper-gray salt-and-pepper-color colorize-color)
for name in "${names[@]}"; do
  # shellcheck disable=SC2086
  timeout $((budget + 300)) denoisekit train "${common[@]}" --out "$out/$name.keras" --overwrite \
    ${RECIPES[$name]} >"$out/$name.log" 2>&1 &
done
wait
for name in "${names[@]}"; do
  printf '%-24s %s\n' "$name" "$(tail -n 1 "$out/$name.log")"
done
