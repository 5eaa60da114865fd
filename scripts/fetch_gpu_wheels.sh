#!/usr/bin/env bash
# Wheels that scripts/gpu_session.sh installs on a GPU machine that has JAX but not Keras
# (Python 3.12, x86-64 Linux): Keras and the two of its requirements that such a machine lacks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$root/.whl" keras==3.15.1 namex==0.1.0 optree==0.17.0
ls "$root/.whl"
