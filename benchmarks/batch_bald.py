"""Cost of one BatchBALD acquisition: N = 2,000 pool images, T = 100, k = 10 (target: under 10 s).

    python benchmarks/batch_bald.py            # prints seconds per greedy pick and in all

The probabilities come from a small Bayesian CNN trained on 100 digits of the
shipped MNIST subset (real, peaked MC-dropout predictions, consistent masks),
not from random numbers. Top-k BALD and PowerBALD are timed for comparison.
"""

from __future__ import annotations

import time

import numpy as np

import bal_utils as bu
from bal_utils import batch


def main():
    data = bu.load_mnist("mnist-subset")
    rng = np.random.default_rng(0)
    train = rng.choice(len(data.y_train), 100, replace=False)
    pool = rng.choice(np.setdiff1d(np.arange(len(data.y_train)), train), 2000, replace=False)
    cfg = bu.get_preset("teaching")
    model = bu.train_bayesian_cnn(bu.to_model_input(data.x_train[train]), data.y_train[train], cfg, seed=0)
    probs = model.mc_predict(bu.to_model_input(data.x_train[pool]), 100, seed=0)
    print(f"probs {probs.shape}, batch size k = 10, n_configurations = {batch.N_CONFIGURATIONS}")

    t0 = time.perf_counter()
    top = np.argsort(-bu.bald(probs))[:10]
    t1 = time.perf_counter()
    print(f"top-k BALD:  {t1 - t0:6.2f} s")
    t0 = time.perf_counter()
    batch.power_bald(probs, 10, rng=0)
    print(f"PowerBALD:   {time.perf_counter() - t0:6.2f} s")
    for k in (1, 2, 3, 4, 5, 10):
        t0 = time.perf_counter()
        picks = batch.batch_bald(probs, k, rng=0)
        print(f"BatchBALD k = {k:2d}: {time.perf_counter() - t0:6.2f} s")
    print(f"BatchBALD's 10 picks share {len(set(picks) & set(top))} with top-10 BALD")


if __name__ == "__main__":
    main()
