#!/usr/bin/env bash
# Run on a lent GPU machine (its image has JAX but no TensorFlow) from the repository root,
# after the calls carrying .gpu/c1-c3 copied them into /tmp/carry, in the call carrying .gpu/c4
# (made by benchmarks/gpu_carry.sh; RECIPE.md, "Carrying in"):
#   cp -r .gpu/c4/. /tmp/carry/ && bash benchmarks/gpu_train.sh BUDGET RUN...
# Installs the carried tensorflow-cpu (for tf.data) and Keras beside the machine's JAX, puts the
# carried training and validation images in place, trains the RUNs at once with
# benchmarks/train_bundled.sh --parallel, and copies the models and a tar of the logs to $OUT.
set -euo pipefail
budget=$1; shift
carry=/tmp/carry
site=/tmp/site
start=$(date +%s)
if [ ! -f $site/.installed ]; then
  mkdir -p $site
  # The image has no zstd: a carried binary (with its libraries) stands in.
  zstd=zstd; command -v zstd >/dev/null || { chmod +x $carry/bin/zstd; zstd="env LD_LIBRARY_PATH=$carry/bin $carry/bin/zstd"; }
  cat $carry/tfpart.? | $zstd -dc --long=27 | tar xf - -C $site
  python3 -m pip install -q --no-index --no-deps --no-compile --target $site $carry/*.whl
  touch $site/.installed
fi
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target $site --upgrade . >/dev/null
export PYTHONPATH=$site PATH=$site/bin:$PATH KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=2
mkdir -p runs/train-images runs/val-images
cp $carry/train/* runs/train-images/
cp $carry/val/* runs/val-images/
echo "installed in $(( $(date +%s) - start )) s; $(ls runs/train-images | wc -l) training, $(ls runs/val-images | wc -l) validation images; $(nproc) cores"
nvidia-smi --query-gpu=name,utilization.gpu,memory.used --format=csv -l 20 > runs/gpu-usage.csv 2>&1 &
monitor=$!
# A call that runs past its limit returns only what is under $OUT: keep each run's best so far there.
if [ -n "${OUT:-}" ]; then
  (while sleep 20; do for f in runs/gpu/*.ckpt/best.keras; do [ -f "$f" ] || continue; b=$(basename "${f%.ckpt/best.keras}"); cp "$f" "$OUT/${b//+/-}.keras"; done; done) &
  saver=$!
fi
bash benchmarks/train_bundled.sh --parallel --budget "$budget" --out runs/gpu "$@" || true
kill $monitor ${saver:-} 2>/dev/null || true
echo "done in $(( $(date +%s) - start )) s"
if [ -n "${OUT:-}" ]; then
  # $OUT takes letters, digits, '.', '_' and '-' only: RUN+ft comes back as RUN-ft.
  for f in runs/gpu/*.keras; do b=$(basename "$f"); cp "$f" "$OUT/${b//+/-}"; done
  tar czf "$OUT/logs.tgz" runs/gpu/*.log runs/gpu/*.ckpt/*.csv runs/gpu/*.ckpt/state.json runs/gpu-usage.csv 2>/dev/null || true
fi
