"""Re-run the first steps of a committed run with this checkout's code and compare.

Every committed figure must come from the committed code. This script takes a
results file, re-runs its first ``--steps`` steps with the same config and
seed in memory (one thread, as the grid ran), and compares, step by step, the
test error and the images acquired. It exits 0 if they all agree, 1 if not.

    python scripts/check_reproduces.py results/paper/bald-seed0.json --steps 3 \
        --data ../shared/data/mnist.npz

Agreement is expected on the same kind of CPU and library versions; another
machine or thread count may change float rounding and, through it, a few test
predictions (see the book's "How to run" page).
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_file", help="a results file (<acquisition>-seed<seed>.json)")
    p.add_argument("--steps", type=int, default=3, help="how many steps to re-run from the start (default: 3)")
    p.add_argument("--data", default=None, help="local MNIST .npz (default: $BAL_MNIST, else the Keras download)")
    p.add_argument("--threads", type=int, default=1, help="backend threads (default: 1, as the grid ran)")
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error(f"--steps={args.steps}: expected a positive number of steps")

    from bal_utils.runtime import init_worker

    init_worker(args.threads)  # thread counts must be set before the backend starts
    import bal_utils as bu

    old = bu.load_run(args.run_file)
    cfg = bu.Config.from_dict(old["config"])
    steps = min(args.steps, len(old["history"]))
    new = bu.run_active_learning(cfg, old["acquisition"], old["seed"], data_path=args.data, until_step=steps)
    same = True
    print(f"{old['acquisition']} seed {old['seed']}, made by commit {str(old['provenance']['git_commit'])[:8]}; re-run with {str(bu.provenance.git_commit()[0])[:8]}")
    print("step  labels  committed error  re-run error  same acquisitions")
    for a, b in zip(old["history"][:steps], new["history"]):
        acq = a["acquired_indices"] == b["acquired_indices"]
        ok = acq and a["test_error"] == b["test_error"]
        same &= ok
        print(f"{a['step']:4d}  {a['n_labelled']:6d}  {100 * a['test_error']:14.2f}%  {100 * b['test_error']:11.2f}%  {'yes' if acq else 'NO'}")
    print("reproduced exactly" if same else "DIFFERENT: see the rows above")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
