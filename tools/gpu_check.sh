#!/usr/bin/env bash
# The paper configurations on a GPU, in one prepared run (<= 8 minutes on one H100): precision, memory and speed
# of both papers' training steps, separation, tests/train/test_gpu.py, the DDP path with NCCL (torchrun, one process
# per GPU present) and the rehearsal's trainings and separations on CUDA. Prints the rows BENCHMARKS.md needs
# and leaves them (JSON, logs) in $OUT (default /tmp/gpu_check).
#
#   tools/gpu_check.sh            # on a GPU machine, from the repository root
#   tools/gpu_check.sh --tiny     # on a CPU: the same script on the tests' tiny configurations (no rehearsal)
#
# Python packages the GPU machine lacks (snakemake, soundfile, pedalboard, pyloudnorm, jsonschema, ...) are
# installed from wheels in .whl/ when that folder exists (see docs/paper-scale.md).
set -uo pipefail
cd "$(dirname "$0")/.."
TINY=""; [ "${1:-}" = "--tiny" ] && TINY="--tiny"
export OUT="${OUT:-/tmp/gpu_check}"; mkdir -p "$OUT"
PY="${PYTHON:-$(command -v python3)}"; [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
if [ -d .whl ] && compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="/tmp/site:${PYTHONPATH:-}" && export PATH="/tmp/site/bin:$PATH"
fi
export PYTHONPATH="$PWD/src:$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
status=0
step() {   # step NAME COMMAND...: run, time, keep going on failure
  local name=$1; shift; local t0=$SECONDS
  echo "== $name"; "$@" 2>&1 | tee "$OUT/$name.log"; local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc, $((SECONDS - t0)) s"; [ "$rc" = 0 ] || status=1
}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'gpus', torch.cuda.device_count())"
NGPU=$("$PY" -c "import torch; print(max(1, torch.cuda.device_count()))")

step checks "$PY" tools/gpu_check.py $TINY precision memory separate
step tests "$PY" -m pytest -q -p no:cacheprovider tests/train/test_gpu.py tests/models/test_precision.py
step ddp "$PY" -m torch.distributed.run --standalone --nproc-per-node="$NGPU" tools/gpu_check.py $TINY ddp
if [ -z "$TINY" ]; then
  # the rehearsal on CUDA: trainings and separations on the GPU (fp16 for Paper A, bf16 for Paper B as the
  # paper preset) at the paper's per-GPU batches (Paper A 4, Paper B micro-batches of 8), no checkpointing
  GPU='presets={rehearsal: {resources: {train: {gpu: 1}, infer: {gpu: 1}}, train: {batch_size: 4}, mixit: {resources: {train: {gpu: 1}}, pretrain: {batch_size: 16, accumulate: 2, checkpoint_activations: false}, finetune: {batch_size: 8, checkpoint_activations: false}, table3: {size: medium}}}}'
  step rehearsal "$PY" -m snakemake --cores all --resources gpu="$NGPU" --directory "$OUT/rehearsal" \
    -s "$PWD/workflow/Snakefile" --configfile "$PWD/config.yaml" --config scale=rehearsal "$GPU" -- paper_a paper_b
fi
echo "== rows for BENCHMARKS.md:"; grep -h '^|' "$OUT"/checks.log "$OUT"/ddp.log 2>/dev/null
exit $status
