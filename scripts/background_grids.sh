#!/usr/bin/env bash
# The long computations of issues 12 and 9 (chapter 6's main grids first, its side grid last); every piece resumes where it
# stopped and each finished run is committed (--commit). Start it at the beginning of a session:
#   BAL_MNIST=/abs/path/mnist.npz nohup setsid scripts/background_grids.sh > grids.log 2>&1 &
# To keep the results' provenance clean while you edit, run it from a git worktree of a commit
# (git worktree add --detach ../grid-run HEAD; ../grid-run/scripts/background_grids.sh results),
# with the results folder of your main checkout as the first argument.
set -u
cd "$(dirname "$0")/.."
OUT=${1:-results}
D=${BAL_MNIST:?set BAL_MNIST to a local MNIST .npz}
for preset in batch-repeated batch-mnist; do
  echo "== grid $preset $(date)"
  python -m bal_utils grid --preset "$preset" --out "$OUT/$preset" --data "$D" --workers 2 --threads 1 --commit
done
python scripts/protocol_study.py --out "$OUT/study" --data "$D" --workers 2 --commit
# --chunk 10: the runs advance together, so a grid that spans sessions has every mean curve to the same point
for preset in authors authors-deterministic paper-text; do
  echo "== grid $preset $(date)"
  python -m bal_utils grid --preset "$preset" --out "$OUT/$preset" --data "$D" --workers 2 --threads 1 --commit --chunk 10
done
# chapter 6's side grid: Repeated-MNIST with copies 3.2 times noisier than the BatchBALD code's
python -m bal_utils grid --preset batch-repeated --set repeat_noise_std=0.1 --out "$OUT/batch-repeated-noise-0.1" --data "$D" --workers 2 --threads 1 --commit
echo "== all done $(date)"
