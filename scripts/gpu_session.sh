#!/usr/bin/env bash
# The paper grid on one GPU with the lockstep executor, and the lockstep benchmark, on a
# machine with JAX but neither TensorFlow nor Keras (Keras and what it needs travel as
# wheels in .whl/, fetched by scripts/fetch_gpu_wheels.sh).
#
#   bash scripts/gpu_session.sh OUT MNIST_NPZ [grid options...]
#
# writes OUT/paper-gpu/ (the run files), OUT/grid.log and OUT/benchmark.log, and prints
# the grid's wall time. Extra options go to the grid command and BENCH_ARGS to the
# benchmark; a rehearsal on a CPU (JAX's CPU backend) at smoke size:
#
#   PYTHON=.../python BENCH_ARGS="--runs 2 --counts 20,40" bash scripts/gpu_session.sh /tmp/r MNIST_NPZ \
#       --steps 2 --set seeds=0 --set epochs=2 --set n_test=1000 --set pool_subset=200
set -euo pipefail
out=${1:?usage: gpu_session.sh OUT MNIST_NPZ [grid options...]}
data=${2:?usage: gpu_session.sh OUT MNIST_NPZ [grid options...]}
shift 2
py=${PYTHON:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
if [ -d "$root/.whl" ] && ! "$py" -c "import keras" 2>/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$root"/.whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
"$py" -c "import jax, keras; print('jax', jax.__version__, jax.devices(), '| keras', keras.__version__)"
start=$(date +%s.%N)
"$py" -m bal_utils grid --preset paper --executor lockstep --data "$data" --out "$out/paper-gpu" "$@" 2>&1 | tee "$out/grid.log"
end=$(date +%s.%N)
echo "grid wall time: $(echo "$end - $start" | bc) s" | tee -a "$out/grid.log"
"$py" -m bal_utils report "$out/paper-gpu" | tee -a "$out/grid.log"
"$py" "$root/benchmarks/lockstep.py" --data "$data" ${BENCH_ARGS:-} 2>&1 | tee "$out/benchmark.log"
