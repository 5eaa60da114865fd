"""Run (or resume) the protocol study: one factor at a time, into results/study/<factor>.

    python scripts/protocol_study.py --data ../shared/data/mnist.npz --workers 2 --commit
    python scripts/protocol_study.py --only keras0-init,dense-256

Each factor is a grid of BALD and random x 3 seeds x 30 acquisitions on the
paper preset with one change (``bal_utils.presets.PROTOCOL_STUDY``). Finished
runs are skipped and partial ones resume, like any grid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bal_utils.presets import PROTOCOL_STUDY, study_config
from bal_utils.grid import run_grid
from bal_utils.provenance import commit_run_file


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "results" / "study"))
    p.add_argument("--data", default=None, help="local MNIST .npz (default: $BAL_MNIST, else the Keras download)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", default=None, help="comma-separated factors (default: all, in order)")
    p.add_argument("--commit", action="store_true", help="git-commit each run file as its run finishes")
    args = p.parse_args(argv)
    factors = args.only.split(",") if args.only else list(PROTOCOL_STUDY)
    configs = {f: study_config(f) for f in factors}  # fails early on a bad name
    for factor, config in configs.items():
        print(f"== {factor}: {PROTOCOL_STUDY[factor]}", flush=True)
        done = run_grid(config, Path(args.out) / factor, workers=args.workers, threads_per_worker=args.threads,
                        data_path=args.data, progress=False, on_run_done=commit_run_file if args.commit else None)
        for acq, seed, seconds in done:
            print(f"{factor} {acq} seed {seed}: {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
