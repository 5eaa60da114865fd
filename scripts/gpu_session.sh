#!/usr/bin/env bash
# The paper grid on one GPU with the lockstep executor, and the lockstep benchmark, on a
# machine with JAX but neither TensorFlow nor Keras (Keras and what it needs travel as
# wheels in .whl/, fetched by scripts/fetch_gpu_wheels.sh).
#
#   bash scripts/gpu_session.sh OUT MNIST_NPZ [grid options...]
#
# Runs (or resumes) the grid in GRID_DIR (default OUT/paper-gpu; the preset is paper unless the
# options name another), stopping it after GRID_LIMIT seconds if given (the run files keep
# every finished step: a second call with the same GRID_DIR resumes), packs the run files into
# OUT/NAME.tar.gz (NAME: GRID_DIR's last folder), and writes OUT/NAME.log (with the wall time
# and the report) and OUT/benchmark.log. The benchmark
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
name=$(basename "$grid_dir")
log="$out/$name.log"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
if [ -d "$root/.whl" ] && ! "$py" -c "import keras" 2>/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$root"/.whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out" "$grid_dir"
"$py" -c "import jax, keras; print('jax', jax.__version__, jax.devices(), '| keras', keras.__version__)" | tee "$log"
limit=()
[ -n "${GRID_LIMIT:-}" ] && limit=(timeout --signal=INT "$GRID_LIMIT")
start=$(date +%s%N)
"${limit[@]}" "$py" -m bal_utils grid --preset paper --executor lockstep --data "$data" --out "$grid_dir" "$@" 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
end=$(date +%s%N)
echo "grid exit status $status; wall time this call: $(( (end - start) / 1000000 )) ms" | tee -a "$log"
"$py" -m bal_utils report "$grid_dir" 2>&1 | tee -a "$log"
tar czf "$out/$name.tar.gz" -C "$grid_dir" . && echo "packed $(ls "$grid_dir" | wc -l) files into $out/$name.tar.gz"
if [ "${BENCH_LIMIT:-600}" -gt 0 ]; then
  timeout --signal=INT "${BENCH_LIMIT:-600}" "$py" "$root/benchmarks/lockstep.py" --data "$data" ${BENCH_ARGS:-} 2>&1 | tee "$out/benchmark.log"
fi
exit "$status"
