#!/usr/bin/env bash
# Retrain the bundled models with `denoisekit train`, each for a wall-clock budget
# (see denoisekit/bundled/RECIPE.md for how the shipped files were made):
#   bash benchmarks/train_bundled.sh [--parallel] [--budget SECONDS] [--finetune] [--batch N] [--out DIR] [RUN...]
# A RUN is a model name (gaussian-gray, gaussian-color, ...) or a variant of one
# (gaussian-color-unet40: same task, another architecture); RUN+ft continues from the model
# now in denoisekit/bundled/ (`train --init`, learning rate 3e-4, a fresh cosine over
# --budget), and --finetune does so for every run. --parallel starts every run at once:
# meant for one GPU (KERAS_BACKEND=jax, so Keras runs the models on the GPU through JAX while
# tf.data cuts and corrupts patches on the CPU cores; the small models leave the GPU mostly
# idle, so the runs share it). Without it the runs go one after another, as a 2-core CPU
# needs. Models land in --out (default runs/bundled) as RUN.keras; copy the ones you keep
# into denoisekit/bundled/ under their model's name.
set -uo pipefail
cd "$(dirname "$0")/.."
parallel=0 budget=440 finetune=0 batch=32 out=runs/bundled runs=()
while [ $# -gt 0 ]; do
  case $1 in
    --parallel) parallel=1 ;;
    --budget) budget=$2; shift ;;
    --finetune) finetune=1 ;;
    --batch) batch=$2; shift ;;
    --out) out=$2; shift ;;
    *) runs+=("$1") ;;
  esac
  shift
done
mkdir -p "$out"
# Training photos and the held-out validation crops (benchmarks/training_data.py lists them).
[ -d runs/train-images ] && [ -d runs/val-images ] || python benchmarks/training_data.py
# The colorizer's: the colour photographs among them.
[ -d runs/colorize-images ] || python benchmarks/training_data.py --colorize-only
# The chroma model's: the opponent chroma planes of the colour photographs, full and half size.
[ -d runs/chroma-images ] && [ -d runs/chroma-val-images ] || python benchmarks/training_data.py --chroma-only
# Each JAX process would otherwise reserve 75% of the GPU's memory for itself.
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.12}

common=(--data runs/train-images --val-data runs/val-images --seed 1 --patience 1000 --patch 128 --batch "$batch"
        --epochs 100000 --steps-per-epoch 500 --time-limit "$budget")
# Impulse noise and colorization train with L2 and biases: under L1 a residual net's best first
# guess is "no noise anywhere" (the median of a sparse residual is 0), and its ReLUs all died.
declare -A TASKS=(
  [gaussian-gray]="--noise gaussian -p sigma=0:55 --channels gray"
  [gaussian-color]="--noise gaussian -p sigma=0:55 --channels rgb"
  [salt-and-pepper-gray]="--noise salt-and-pepper -p amount=0:0.5 --channels gray --loss l2"
  [salt-and-pepper-color]="--noise salt-and-pepper -p amount=0:0.5 --channels rgb --loss l2"
  [colorize-color]="--noise grayscale --channels rgb --loss l2 --data runs/colorize-images"
  # The colour route's chroma planes carry noise sigma/sqrt(2) or less, halved at half size.
  [gaussian-chroma]="--noise gaussian -p sigma=0:22 --channels gray --data runs/chroma-images --val-data runs/chroma-val-images"
)
# The architecture of a first run (a fine-tuning run takes it from the model it starts from).
# gaussian-color: the 8-layer DnCNN sees 17x17 pixels; the U-Net variants see far more
# (the suspect for its noise left on saturated colours, RECIPE.md).
declare -A ARCHS=(
  [gaussian-gray]=""
  [gaussian-color]="--arch dncnn -a features=48 -a depth=8"
  [gaussian-color-unet32]="-a features=32"
  [gaussian-color-unet40]="-a features=40"
  # The gray U-Net grown into colour (train --init GRAY --channels rgb): its inner layers as
  # trained, the first reading the channels' mean, the last writing each channel. As fast
  # per pixel as the gray U-Net, about a third of the colour DnCNN's cost.
  [gaussian-color-grown]="--init denoisekit/bundled/gaussian-gray.keras"
  # The network corrects a fill of each impulse from its clean neighbours (edge-directed where a
  # clean pair is next to it), sees the impulse mask, and changes nothing else (RECIPE.md, stage 5).
  [salt-and-pepper-gray]="-a bias=true -a prefill=directed"
  # Stage 6's recipe continued (RECIPE.md): minus each patch's PSNR as the loss, so the light
  # amounts count as much as the heavy ones; amounts from 5%, where a patch has impulses to score.
  [salt-and-pepper-gray-psnr]="--init denoisekit/bundled/salt-and-pepper-gray.keras --lr 5e-5 --loss psnr -p amount=0.05:0.5"
  [salt-and-pepper-color]="-a bias=true"
  [colorize-color]="-a bias=true"
  # The gray U-Net with its lowest level widened, 128 -> 160 channels (issue 20's "wider
  # low-resolution levels"): grown from the bundled file, the new channels read with zero
  # weights at first (training/warm_start.add_channels), so it starts as that model; 3.1 MB,
  # +11% multiply-adds per pixel (192 channels: +23%, timed 1.31x the bundled model's s/MP on
  # a 1 MP image, about the margin the speed target leaves).
  [gaussian-gray-wide]="--init denoisekit/bundled/gaussian-gray.keras -a bottom=160 --lr 1e-4"
  # The gray model taught the chroma planes' statistics (RECIPE.md, "Stage 8").
  [gaussian-chroma]="--init denoisekit/bundled/gaussian-gray.keras --lr 1e-4"
)
model_of() {  # the bundled model a run trains: its name less a variant suffix and +ft
  local run=${1%+ft}
  for model in "${!TASKS[@]}"; do
    [ "$run" = "$model" ] || [[ $run == "$model"-* ]] && { echo "$model"; return; }
  done
}
[ ${#runs[@]} -gt 0 ] || runs=(gaussian-gray gaussian-color salt-and-pepper-gray salt-and-pepper-color colorize-color)
for run in "${runs[@]}"; do
  model=$(model_of "$run")
  [ -n "$model" ] && [ -n "${ARCHS[${run%+ft}]+set}" ] || {
    echo "unknown run $run (choose from ${!ARCHS[*]}, each optionally with +ft)" >&2; exit 2; }
  if [ $finetune = 1 ] || [[ $run == *+ft ]]; then
    [ -f "denoisekit/bundled/$model.keras" ] || { echo "no bundled $model to fine-tune" >&2; exit 2; }
  fi
done

train_one() {
  local run=$1 model start
  model=$(model_of "$run")
  start=(${ARCHS[${run%+ft}]})
  if [ $finetune = 1 ] || [[ $run == *+ft ]]; then start=(--init "denoisekit/bundled/$model.keras" --lr 3e-4); fi
  # shellcheck disable=SC2086
  timeout $((budget + 300)) denoisekit train "${common[@]}" --out "$out/$run.keras" --overwrite \
    ${TASKS[$model]} "${start[@]}" >"$out/$run.log" 2>&1
}
for run in "${runs[@]}"; do
  if [ $parallel = 1 ]; then train_one "$run" & else train_one "$run"; fi
done
wait
for run in "${runs[@]}"; do
  printf '%-28s %s\n' "$run" "$(tail -n 1 "$out/$run.log")"
done
