#!/usr/bin/env bash
# Issue 9's grids on one GPU machine (Keras on JAX), for a fixed number of seconds:
#   KERAS_BACKEND=jax scripts/gpu_grids.sh RESULTS_DIR SECONDS MNIST_NPZ
# Many small runs share the GPU, so the grids run side by side as separate processes, in the
# issue's order of value: the `authors` grid at normal priority, the Figure-2 grid niced. (The
# protocol study and the Table-1 candidate `paper-text` run on the CPU in the background:
# scripts/background_grids.sh.) Pass other presets as "PRESET:WORKERS:NICE" arguments.
# At the time limit every grid is stopped; each run file holds the steps it finished and any
# later `bal_utils grid` with the same --out resumes it (on any machine; its provenance lists
# each machine that ran a piece).
set -u
cd "$(dirname "$0")/.."
OUT=${1:?results directory}; SECONDS_LEFT=${2:?seconds}; D=${3:?MNIST .npz}; shift 3
PLAN=${*:-authors:15:0 authors-deterministic:9:5}
export KERAS_BACKEND=${KERAS_BACKEND:-jax} XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
mkdir -p "$OUT"
pids=()
for item in $PLAN; do
  IFS=: read -r preset workers niceness <<< "$item"
  setsid nice -n "${niceness:-0}" python -m bal_utils grid --preset "$preset" --out "$OUT/$preset" --data "$D" \
    --workers "$workers" > "$OUT/$preset.log" 2>&1 &
  pids+=($!)
done
alive() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
for ((t = 0; t < SECONDS_LEFT; t += 5)); do alive || break; sleep 5; done
for p in "${pids[@]}"; do kill -INT -- "-$p" 2>/dev/null; done; sleep 15
for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
wait
echo "stopped after $t s"
