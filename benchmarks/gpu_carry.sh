#!/usr/bin/env bash
# Prepare, on this machine, what a lent GPU machine needs for benchmarks/gpu_train.sh, in four
# folders that each fit one call's 64 MiB carry beside the working tree (RECIPE.md, "Carrying in"):
#   bash benchmarks/gpu_carry.sh        -> .gpu/c1 .. .gpu/c4 (ignored through .git/info/exclude)
# The machine's image has JAX, PyTorch and Python 3.12 but no TensorFlow, Keras or zstd: this
# carries tensorflow-cpu (for tf.data; its C++ headers left out, zstd-compressed, in four parts),
# Keras and its small dependencies as wheels, a zstd binary with its libraries, and the training
# and validation images of benchmarks/training_data.py.
set -euo pipefail
cd "$(dirname "$0")/.."
TF=tensorflow-cpu==2.21.0
WHEELS=(keras==3.15.1 namex optree astunparse gast google_pasta termcolor protobuf)
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/wheels .gpu/c1 .gpu/c2 .gpu/c3 .gpu/c4/bin
pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .gpu/wheels "$TF" "${WHEELS[@]}"
tmp=$(mktemp -d)
unzip -q .gpu/wheels/tensorflow_cpu-*.whl -d "$tmp"
rm -rf "$tmp"/tensorflow/include .gpu/wheels/tensorflow_cpu-*.whl
# Several minutes on 2 cores; --long=27 must match the reader's window (gpu_train.sh).
tar cf - -C "$tmp" . | zstd -T0 -19 --long=27 -q -o .gpu/tf.tar.zst
rm -rf "$tmp"
split -n 4 -d -a 1 .gpu/tf.tar.zst .gpu/tfpart.
for i in 0 1 2 3; do mv .gpu/tfpart.$i .gpu/c$((i + 1))/; done
rm .gpu/tf.tar.zst
mv .gpu/wheels/*.whl .gpu/c4/ && rmdir .gpu/wheels
cp "$(command -v zstd)" .gpu/c4/bin/
cp $(ldd "$(command -v zstd)" | awk '/=>/ {print $3}' | grep -E 'zstd|lzma|lz4') .gpu/c4/bin/ 2>/dev/null || true
[ -d runs/train-images ] && [ -d runs/val-images ] || python benchmarks/training_data.py
# Training images spread over the first three calls by size; validation images in the fourth.
python - <<'PY'
import os, shutil
from pathlib import Path
files = sorted(Path("runs/train-images").glob("*.png"), key=os.path.getsize, reverse=True)
sizes = {1: 0, 2: 0, 3: 0}
for f in files:
    b = min(sizes, key=sizes.get)
    (Path(f".gpu/c{b}") / "train").mkdir(exist_ok=True)
    shutil.copy(f, Path(f".gpu/c{b}") / "train")
    sizes[b] += f.stat().st_size
PY
cp -r runs/val-images .gpu/c4/val
du -sh .gpu/c*
