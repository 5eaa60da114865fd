"""Benchmark: MC-dropout scoring (cached trunk vs naive) and one paper-preset step.

Usage::

    BAL_MNIST=../shared/data/mnist.npz python benchmarks/mc_scoring.py [--threads N] [--labelled 20,500,1000]

Prints, measured side by side in one process:

1. scoring 2,000 pool images with T = 100: the cached trunk against T naive
   full passes, and the ratio;
2. paper-preset steps at several labelled-set sizes, split into training,
   test evaluation and scoring seconds, and the projected wall time of a whole
   98-step paper run (a linear fit of step time against labelled count).
   The model is built once and reset every step, as in a real run, so any
   cost that grew with the steps (rebuilding, retracing) would show here.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=0, help="backend threads (0: default)")
    parser.add_argument("--labelled", default="20,250,500,750,1000", help="labelled-set sizes to time a step at")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of the scoring comparison")
    args = parser.parse_args()
    if args.threads:
        from bal_utils.runtime import init_worker

        init_worker(args.threads)
    from bal_utils import BayesianCNN, acquire, get_preset, load_mnist, make_splits, to_model_input
    from bal_utils._backend import keras  # the backend, started quietly

    cfg = get_preset("paper")
    data = load_mnist(cfg.dataset)
    splits = make_splits(data, cfg, seed=0)
    print(f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs, threads={args.threads or 'default'}, data {data.source}")
    model = BayesianCNN.from_config(cfg)
    rng = np.random.default_rng(0)

    # 1. scoring speed on a model trained on 500 images
    lab = np.concatenate([splits.initial, rng.choice(splits.pool, 480, replace=False)])
    model.reset(0)
    model.fit(to_model_input(data.x_train[lab]), data.y_train[lab], cfg.epochs, cfg.batch_size, 0)
    x_pool = to_model_input(data.x_train[rng.choice(splits.pool, cfg.pool_subset, replace=False)])
    model.mc_predict(x_pool[:256], cfg.mc_samples)  # warm up both paths
    model.mc_predict(x_pool[:256], 2, mode="naive")
    cached, naive = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        model.mc_predict(x_pool, cfg.mc_samples)
        cached.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.mc_predict(x_pool, cfg.mc_samples, mode="naive")
        naive.append(time.perf_counter() - t)
    c, n = min(cached), min(naive)
    print(f"\nScoring {cfg.pool_subset} pool images with T = {cfg.mc_samples} (best of {args.repeats}):")
    print(f"  cached trunk : {c:8.3f} s")
    print(f"  naive T passes: {n:8.3f} s")
    print(f"  speed-up      : {n / c:8.1f}x")

    # 2. paper steps at several labelled-set sizes
    x_test = to_model_input(data.x_test[splits.test])
    sizes = [int(s) for s in args.labelled.split(",")]
    print(f"\nPaper-preset steps ({cfg.epochs} epochs, batch {cfg.batch_size}, test {len(x_test)} images, "
          f"scoring {cfg.pool_subset} with T = {cfg.mc_samples}):")
    print(f"  {'labelled':>8} {'train s':>8} {'eval s':>7} {'score s':>8} {'total s':>8}")
    rows = []
    for step, size in enumerate(sizes):
        lab = np.concatenate([splits.initial, rng.choice(splits.pool, size - len(splits.initial), replace=False)])
        t0 = time.perf_counter()
        model.reset(step)
        model.fit(to_model_input(data.x_train[lab]), data.y_train[lab], cfg.epochs, cfg.batch_size, step)
        t1 = time.perf_counter()
        model.predict(x_test)
        t2 = time.perf_counter()
        acquire(model, data.x_train, np.setdiff1d(splits.pool, lab), cfg, "bald", 0, step)
        t3 = time.perf_counter()
        rows.append((size, t1 - t0, t2 - t1, t3 - t2, t3 - t0))
        print(f"  {size:8d} {t1 - t0:8.2f} {t2 - t1:7.2f} {t3 - t2:8.2f} {t3 - t0:8.2f}")
    sizes_arr = np.array([r[0] for r in rows], float)
    totals = np.array([r[4] for r in rows])
    slope, intercept = np.polyfit(sizes_arr, totals, 1) if len(rows) > 1 else (0.0, totals[0])
    run_sizes = cfg.n_initial + cfg.acquire_per_step * np.arange(cfg.n_steps + 1)
    projected = float(np.sum(intercept + slope * run_sizes))
    print(f"\n  step time ~ {intercept:.2f} s + {1000 * slope:.2f} ms per labelled image")
    print(f"  projected paper run ({cfg.n_steps} acquisitions, {len(run_sizes)} trainings): {projected:.0f} s = {projected / 60:.1f} min")


if __name__ == "__main__":
    main()
