#!/bin/bash
# One training run on a GPU machine that has Python 3.12 with JAX (or PyTorch) but no TensorFlow:
# the same `python -m edge.training` as on CPU, Keras backend JAX, PyTorch if JAX yields no checkpoint.
# The classroom candidate (models/expression_int8_classroom.*) came from
#   EXTRA_FLAGS="--finetune-epochs 80" TOTAL_SECONDS=570 bash edge/training/gpu_run.sh
# run from the repository root with, beside it (paths excluded from git, carried to the machine):
#   .whl/     keras==3.15.1, namex, optree wheels for cp312 (pip download --only-binary ... -d .whl)
#   .gpu/shared/data/fer2013_training_pack.npz   edge.datasets.write_training_pack(shared, ...)
#   .gpu/shared/weights/mobilenet_v2_1.0_224_imagenet_no_top.npz   (stored as float16 to fit the
#        machine's 64 MiB transfer limit; the CPU pipeline reads the float32 original)
#   with --refine-teachers: also the ai-edge-litert wheel for cp312 in .whl/ (teachers run on LiteRT)
# Results land in $OUT (the run folder's files); `lsi-edge train --run-dir DIR` with the recorded
# recipe then exports, calibrates and evaluates them on the CPU machine.
set -u
START=$(date +%s)
END=$((START + ${TOTAL_SECONDS:-560}))        # everything, copies included, ends by then
RUN=/tmp/run
[ -n "${SKIP_WHEELS:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
KERAS_BACKEND=jax python3 -c "import keras, numpy, cv2, jax; print('keras', keras.__version__, 'numpy', numpy.__version__, 'cv2', cv2.__version__, 'jax', jax.__version__, jax.devices())"
FLAGS=(--data-dir .gpu/shared --run-dir $RUN ${EXTRA_FLAGS:-})
attempt() {  # backend
  local left=$((END - 25 - $(date +%s)))
  local minutes=$(python3 -c "print(round(($left - 15) / 60, 2))")
  echo "=== backend $1: budget $minutes min ($left s to the hard stop)"
  KERAS_BACKEND=$1 timeout --signal=INT --kill-after=10 $left python3 -m edge.training "${FLAGS[@]}" \
      --time-budget-minutes $minutes 2>&1 | grep --line-buffered -v -E "UserWarning|self.data_adapter" | tee -a $OUT/train.log
}
attempt jax
if [ ! -f $RUN/best_s96.weights.npz ] && [ $(( END - $(date +%s) )) -gt 200 ]; then
  echo "=== JAX produced no checkpoint; retrying with PyTorch"
  [ -d $RUN ] && mv $RUN /tmp/run_jax_failed
  attempt torch
fi
ls -la $RUN
for f in best_s96.weights.npz finetune.done.weights.npz recipe.json log.jsonl best_s96.json finetune.plan.json head.plan.json; do
  [ -f $RUN/$f ] && cp $RUN/$f $OUT/
done
echo "=== total $(( $(date +%s) - START )) s"
