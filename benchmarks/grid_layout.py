"""Benchmark: how to spread the grid over this machine's cores (worker processes x threads each).

Usage::

    BAL_MNIST=../shared/data/mnist.npz python benchmarks/grid_layout.py [--layouts 2x1,1x2] [--labelled 500]

Runs the same small grid (BALD and random, 2 seeds, 3 trainings each,
starting from ``--labelled`` labelled images so that the steps cost what the
paper grid's middle steps cost) once per layout, each into a fresh temporary
directory, and prints the wall time and the mean seconds per step.
``2x1`` is 2 worker processes with 1 thread each; ``1x2`` is 1 process with
2 threads. The paper grid uses the faster one.
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layouts", default="2x1,1x2", help="comma-separated WORKERSxTHREADS (default: 2x1,1x2)")
    p.add_argument("--labelled", type=int, default=500, help="initial labelled images, a multiple of 10 (default: 500)")
    args = p.parse_args()
    layouts = []
    for text in args.layouts.split(","):
        try:
            w, t = (int(v) for v in text.lower().split("x"))
        except ValueError:
            p.error(f"--layouts: {text!r} is not WORKERSxTHREADS, for example 2x1")
        layouts.append((w, t))

    import bal_utils as bu

    cfg = bu.get_preset("paper", name="layout-benchmark", initial_per_class=args.labelled // 10, n_steps=2,
                       acquisitions=("bald", "random"), seeds=(0, 1))
    runs = len(cfg.acquisitions) * len(cfg.seeds)
    print(f"{runs} runs x {cfg.n_steps + 1} steps from {cfg.n_initial} labels, paper preset otherwise, on {os.cpu_count()} CPUs")
    print(f"{'layout':>8s} {'wall s':>8s} {'s per step':>11s}")
    for workers, threads in layouts:
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            bu.run_grid(cfg, out, workers=workers, threads_per_worker=threads, progress=False)
            wall = time.perf_counter() - t
        print(f"{workers}x{threads:<6d} {wall:8.1f} {wall / (runs * (cfg.n_steps + 1)):11.2f}", flush=True)


if __name__ == "__main__":
    main()
