"""Benchmark: Keras ``fit`` / ``predict`` against the package's batch-by-batch calls.

Usage::

    BAL_MNIST=../shared/data/mnist.npz python benchmarks/fit_teardown.py [--labelled 20,130,300,630,1000] [--threads 1]

On TensorFlow, ``fit`` and ``predict`` feed the model through a ``tf.data``
pipeline. When they return, deleting that pipeline can wait for its autotuning
thread's current sleep, whose length doubles from 10 ms, so a call's wall time
was rounded up towards the next 10 ms x 2^k (grid steps recorded 2.56, 5.12,
10.26, 20.52 and 41.0 s over and over). The package now calls
``train_on_batch`` once per mini-batch (:func:`bal_utils.model.train_on_schedule`)
and ``predict_on_batch`` once per chunk (:func:`bal_utils.model.predict_batched`).

For each labelled-set size this prints, measured in one process with the two
ways alternating (paper preset, 50 epochs, one thread as in the grid):

- seconds of one retraining through ``fit`` (all epochs as one ``PyDataset``:
  the package's way on other backends, and on TensorFlow before this
  benchmark) and batch by batch (``train_on_schedule``'s TensorFlow default);
- seconds to predict the 10,000 test images through ``predict`` and through
  ``predict_batched``;
- whether the trained weights and the predictions are bit-identical.

Run it on an otherwise idle machine: another process on the same cores
changes both columns.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labelled", default="20,130,300,630,1000", help="labelled-set sizes, comma-separated")
    p.add_argument("--threads", type=int, default=1, help="backend threads (default: 1, as in the grid)")
    p.add_argument("--data", default=os.environ.get("BAL_MNIST"), help="local MNIST .npz (default: $BAL_MNIST)")
    args = p.parse_args()
    try:
        sizes = [int(s) for s in args.labelled.split(",")]
    except ValueError:
        p.error(f"--labelled={args.labelled!r} is not a comma-separated list of integers")
    if not sizes or min(sizes) < 1:
        p.error(f"--labelled={args.labelled!r}: every size must be >= 1")

    from bal_utils.runtime import init_worker

    init_worker(args.threads)
    import numpy as np

    import bal_utils as bu
    from bal_utils.model import BatchSchedule, predict_batched, train_on_schedule

    cfg = bu.get_preset("paper")
    data = bu.load_mnist(cfg.dataset, path=args.data)
    x_test = bu.to_model_input(data.x_test)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data.x_train))
    model = bu.BayesianCNN.from_config(cfg)
    model.reset(1)
    model.fit(bu.to_model_input(data.x_train[order[:256]]), data.y_train[order[:256]], 2, cfg.batch_size, 1)  # tracing
    predict_batched(model.network, x_test[:2048])
    model.network.predict(x_test[:2048], batch_size=1024, verbose=0)

    print(f"{'labelled':>8}  {'fit s':>7}  {'batch-by-batch s':>16}  {'predict s':>9}  {'predict_batched s':>17}  identical")
    totals = np.zeros(4)
    for n in sizes:
        x, y = bu.to_model_input(data.x_train[order[:n]]), data.y_train[order[:n]]
        seconds, weights, probs = {}, {}, {}
        for way in ("fit", "batches"):
            model.reset(0)
            model.set_weight_decay(n)
            schedule = BatchSchedule(x, y, cfg.epochs, cfg.batch_size, np.random.default_rng(0), cfg.batching)
            t = time.perf_counter()
            train_on_schedule(model.network, schedule, batch_by_batch=way == "batches")
            t1 = time.perf_counter()
            if way == "fit":
                probs[way] = model.network.predict(x_test, batch_size=1024, verbose=0)
            else:
                probs[way] = predict_batched(model.network, x_test, 1024)
            seconds[way] = (t1 - t, time.perf_counter() - t1)
            weights[way] = [np.asarray(w).copy() for w in model.network.get_weights()]
        same = all(np.array_equal(a, b) for a, b in zip(weights["fit"], weights["batches"])) and np.array_equal(probs["fit"], probs["batches"])
        row = [seconds["fit"][0], seconds["batches"][0], seconds["fit"][1], seconds["batches"][1]]
        totals += row
        print(f"{n:>8}  {row[0]:>7.2f}  {row[1]:>16.2f}  {row[2]:>9.2f}  {row[3]:>17.2f}  {same}", flush=True)
    print(f"{'total':>8}  {totals[0]:>7.2f}  {totals[1]:>16.2f}  {totals[2]:>9.2f}  {totals[3]:>17.2f}")
    print(f"training {totals[0] / totals[1]:.2f}x, prediction {totals[2] / totals[3]:.2f}x faster batch by batch")


if __name__ == "__main__":
    main()
