#!/usr/bin/env bash
# Issue 9's grids on one GPU machine (Keras on JAX), for a fixed number of seconds:
#   KERAS_BACKEND=jax scripts/gpu_grids.sh RESULTS_DIR SECONDS MNIST_NPZ
# Many small runs share the GPU, so the grids run side by side as separate processes, in the
# issue's order of value: the protocol study and the `authors` grid at normal priority, the
# Figure-2 grid niced, the Table-1 candidate (`paper-text`) after the study and niced most.
# At the time limit every grid is stopped; each run file holds the steps it finished and any
# later `bal_utils grid` with the same --out resumes it (on any machine; its provenance lists
# each machine that ran a piece).
set -u
cd "$(dirname "$0")/.."
OUT=${1:?results directory}; SECONDS_LEFT=${2:?seconds}; D=${3:?MNIST .npz}
export KERAS_BACKEND=${KERAS_BACKEND:-jax} XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
mkdir -p "$OUT"
grid() {  # nice preset workers
  nice -n "$1" python -m bal_utils grid --preset "$2" --out "$OUT/$2" --data "$D" --workers "$3" > "$OUT/$2.log" 2>&1
}
study() {
  for factor in paper-text-net warm-start no-weight-decay; do
    python scripts/protocol_study.py --only "$factor" --out "$OUT/study" --data "$D" --workers 6 > "$OUT/study-$factor.log" 2>&1 &
  done
  wait
}
export -f grid study; export OUT D
setsid bash -c 'grid 0 authors 15 & grid 5 authors-deterministic 9 & (study; grid 10 paper-text 15) & wait' &
pid=$!
for ((t = 0; t < SECONDS_LEFT; t += 5)); do kill -0 "$pid" 2>/dev/null || break; sleep 5; done
kill -INT -- "-$pid" 2>/dev/null; sleep 15; kill -KILL -- "-$pid" 2>/dev/null
wait
echo "stopped after $t s"
