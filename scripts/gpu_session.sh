#!/usr/bin/env bash
# The paper grid on one GPU with the lockstep executor, and the lockstep benchmark, on a
# machine with JAX but neither TensorFlow nor Keras (Keras and what it needs travel as
# wheels in .whl/, fetched by scripts/fetch_gpu_wheels.sh).
#
#   bash scripts/gpu_session.sh OUT MNIST_NPZ [grid options...]
#
# Runs (or resumes) the grid in GRID_DIR (default OUT/paper-gpu), stopping it after
# GRID_LIMIT seconds if given (the run files keep every finished step: a second call with
# the same GRID_DIR resumes), packs the run files into OUT/paper-gpu.tar.gz, and writes
# OUT/grid.log (with the wall time and the report) and OUT/benchmark.log. The benchmark
# runs only if BENCH_LIMIT (seconds, default 600) is above 0; BENCH_ARGS go to it.
# BAL_GIT_COMMIT names the commit the copy was made from (for the provenance; a copy's .git may be stale).
# A rehearsal on a CPU (JAX's CPU backend) at smoke size:
#
#   PYTHON=.../python BENCH_ARGS="--runs 2 --counts 20,40" bash scripts/gpu_session.sh /tmp/r MNIST_NPZ \
#       --steps 2 --set seeds=0 --set epochs=2 --set n_test=1000 --set pool_subset=200
set -uo pipefail
out=${1:?usage: gpu_session.sh OUT MNIST_NPZ [grid options...]}
data=${2:?usage: gpu_session.sh OUT MNIST_NPZ [grid options...]}
shift 2
py=${PYTHON:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
grid_dir=${GRID_DIR:-$out/paper-gpu}
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
if [ -d "$root/.whl" ] && ! "$py" -c "import keras" 2>/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$root"/.whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out" "$grid_dir"
"$py" -c "import jax, keras; print('jax', jax.__version__, jax.devices(), '| keras', keras.__version__)" | tee "$out/grid.log"
limit=()
[ -n "${GRID_LIMIT:-}" ] && limit=(timeout --signal=INT "$GRID_LIMIT")
start=$(date +%s%N)
"${limit[@]}" "$py" -m bal_utils grid --preset paper --executor lockstep --data "$data" --out "$grid_dir" "$@" 2>&1 | tee -a "$out/grid.log"
status=${PIPESTATUS[0]}
end=$(date +%s%N)
echo "grid exit status $status; wall time this call: $(( (end - start) / 1000000 )) ms" | tee -a "$out/grid.log"
"$py" -m bal_utils report "$grid_dir" 2>&1 | tee -a "$out/grid.log"
tar czf "$out/paper-gpu.tar.gz" -C "$grid_dir" . && echo "packed $(ls "$grid_dir" | wc -l) files into $out/paper-gpu.tar.gz"
if [ "${BENCH_LIMIT:-600}" -gt 0 ]; then
  timeout --signal=INT "${BENCH_LIMIT:-600}" "$py" "$root/benchmarks/lockstep.py" --data "$data" ${BENCH_ARGS:-} 2>&1 | tee "$out/benchmark.log"
fi
exit "$status"
