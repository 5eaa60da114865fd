"""Measure how cutting an epoch into mini-batches changes test error at small labelled sizes.

Usage::

    BAL_MNIST=../shared/data/mnist.npz python benchmarks/batching.py [--sizes 128,130,140,260] [--seeds 4]

For each labelled-set size N (random training images) and seed, trains the
paper's model (50 epochs, batch size 128) with Keras-style batches (full ones
plus a remainder: 130 -> 128 + 2) and with balanced batches (130 -> 65 + 65),
and prints the test error on the first 3,000 test images.
"""

import argparse

import numpy as np

import bal_utils as bu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="128,130,140,260")
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    cfg = bu.get_preset("paper")
    data = bu.load_mnist(cfg.dataset)
    x_test, y_test = bu.to_model_input(data.x_test[:3000]), data.y_test[:3000]
    model = bu.BayesianCNN.from_config(cfg)
    print(f"test error (%) on 3,000 test images, {cfg.epochs} epochs, batch size {cfg.batch_size}, {args.seeds} seeds")
    print(f"{'N':>5} {'batching':>9}  {'per seed':<28} mean")
    for n in (int(s) for s in args.sizes.split(",")):
        for batching in ("keras", "balanced"):
            errs = []
            for seed in range(args.seeds):
                idx = np.random.default_rng(seed).choice(len(data.y_train), n, replace=False)
                model.reset(seed)
                model.fit(bu.to_model_input(data.x_train[idx]), data.y_train[idx], cfg.epochs, cfg.batch_size, seed, batching)
                errs.append(100 * np.mean(model.predict(x_test).argmax(1) != y_test))
            print(f"{n:5d} {batching:>9}  {' '.join(f'{e:5.1f}' for e in errs):<28} {np.mean(errs):5.1f}")


if __name__ == "__main__":
    main()
