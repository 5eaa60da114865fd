#!/usr/bin/env bash
# One call on a lent GPU machine (the device tool's `run`): issue 9's grids for SECONDS, then the
# results (finished and partial runs) packed into $OUT/results.tgz to bring back.
#
# Prepare here, once per session, in the repository root (.dev/ is git-ignored via .git/info/exclude):
#   mkdir -p .dev/whl && cp ../shared/data/mnist.npz .dev/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#     -d .dev/whl keras==3.15.1 namex==0.1.0 optree==0.20.0
# then run, with carry [".dev"] and a timeout_s a few minutes above SECONDS:
#   bash scripts/gpu_session.sh 420 [PRESET:WORKERS:NICE ...]   (default: scripts/gpu_grids.sh)
# The machine has no git: its runs record the commit the session started from, "with uncommitted
# changes"; note the commit you sent in the closing note.
set -u
SECONDS_FOR_GRIDS=${1:-420}
ROOT=$PWD
OUT=${OUT:?this runs on the device machine, where OUT is set}
# The python that holds JAX (a virtual environment: call it by its path, never through a symlink).
PY=
for p in $(which -a python3 python 2>/dev/null); do
  "$p" -c "import numpy, jax" 2>/dev/null && PY=$p && break
done
[ -n "$PY" ] || { echo "no python with numpy and jax here"; exit 1; }
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/whl/*.whl || exit 1
mkdir -p /tmp/bin && printf '#!/bin/sh\nexec %s "$@"\n' "$PY" > /tmp/bin/python && chmod +x /tmp/bin/python
export PATH=/tmp/bin:$PATH PYTHONPATH=$ROOT:/tmp/site PYTHONUNBUFFERED=1
# JAX probes every platform it has a plugin for; a TPU probe can wait on a metadata server that
# this machine cannot reach. Name the platforms.
export KERAS_BACKEND=jax JAX_PLATFORMS=${JAX_PLATFORMS:-cuda,cpu} XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
timeout 90 python -c "import jax; print('jax', jax.__version__, jax.devices())" \
  || { echo "JAX did not find the GPU within 90 s: no grids"; exit 1; }
timeout 60 python -c "import keras; print('keras', keras.__version__, keras.backend.backend())" \
  || { echo "Keras did not import within 60 s: no grids"; exit 1; }
(while true; do echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) gpu $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)"; sleep 30; done) > "$OUT/monitor.log" 2>&1 &
monitor=$!
bash scripts/gpu_grids.sh "$ROOT/results" "$SECONDS_FOR_GRIDS" "$ROOT/.dev/mnist.npz" "${@:2}"
kill "$monitor" 2>/dev/null
(cd results && tar czf "$OUT/results.tgz" study authors authors-deterministic paper-text ./*.log 2>/dev/null)
for g in results/authors results/authors-deterministic results/paper-text; do  # "N of M runs complete; ..."
  [ -d "$g" ] && echo "$g: $(python -m bal_utils report "$g" 2>/dev/null | tail -1 | cut -d';' -f1)"
done
