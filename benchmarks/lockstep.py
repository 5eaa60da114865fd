"""Benchmark: one grid step per run (the local executor) against all runs in lockstep.

Usage::

    BAL_MNIST=../shared/data/mnist.npz python benchmarks/lockstep.py [--preset paper] [--runs 15]
        [--counts 20,520,1000] [--grouped] [--workers 2]

At each labelled count it times, on the same machine and backend:

* per run: one step of one run as a worker of the local executor does it
  (retrain from scratch, evaluate on the test set, score the pool with BALD);
* lockstep: one step of ``--runs`` runs together (the compiled retraining of
  all runs, their batched test evaluation, each run's BALD scoring), first
  with its compilation and then again from the compiled function.

It then projects the preset's whole grid (every step from the initial labels
to the last acquisition, its runs x steps, each step's time interpolated
linearly in the labelled count between the measured counts): the local
executor with ``--workers`` processes side by side (assumed to share the
machine perfectly, which flatters it), and lockstep in one process. It also
prints how many compilations the lockstep engine made and how many a whole
grid makes (one per shape bucket, not one per step). ``--grouped`` times the
grouped-convolution form of the lockstep network instead of R ordinary
convolutions, and ``--loop`` chooses how a retraining loops over its mini-batches.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="paper")
    p.add_argument("--runs", type=int, default=15, help="runs trained together (default: 15, the paper grid)")
    p.add_argument("--counts", default="20,520,1000", help="labelled counts to time (default: 20,520,1000)")
    p.add_argument("--workers", type=int, default=os.cpu_count(), help="local executor's processes in the projection")
    p.add_argument("--grouped", action="store_true", help="the lockstep network with grouped convolutions")
    p.add_argument("--loop", choices=("compiled", "per_batch"), default=None,
                   help="lockstep's loop over mini-batches (default: the engine's choice for this backend and device)")
    p.add_argument("--data", default=None, help="local MNIST .npz (default: $BAL_MNIST, else the Keras download)")
    args = p.parse_args()
    counts = [int(c) for c in args.counts.split(",")]

    import numpy as np

    import bal_utils as bu
    from bal_utils import lockstep
    from bal_utils.loop import accuracy_on, acquire, train_step

    cfg = bu.get_preset(args.preset)
    data = bu.load_mnist(cfg.dataset, args.data)
    splits = bu.make_splits(data, cfg, 0)
    x_test, y_test = bu.to_model_input(data.x_test[splits.test]), data.y_test[splits.test]
    pool = splits.pool
    print(f"preset {cfg.name}: {len(cfg.acquisitions) * len(cfg.seeds)} runs x {cfg.n_steps + 1} steps; timing {args.runs} runs "
          f"together; {bu.device_summary()}", flush=True)

    model = bu.BayesianCNN.from_config(cfg)
    engine = lockstep.Engine(cfg, grouped=args.grouped, loop=args.loop)
    print(f"lockstep network: {'grouped' if engine.grouped else 'per-run'} convolutions, {engine.loop} loop", flush=True)
    per_run, together, first = {}, {}, {}
    print(f"{'labels':>7s} {'per run s':>10s} {'lockstep s (first)':>19s} {'lockstep s per run':>19s}", flush=True)
    for n in counts:
        labelled = splits.pool[:n]
        images, labels = data.x_train[labelled], data.y_train[labelled]
        train_step(model, cfg, images, labels, 0, 1)  # the per-run path warm (its functions traced)
        t = time.perf_counter()
        train_step(model, cfg, images, labels, 0, 1)
        accuracy_on(model, x_test, y_test)
        acquire(model, data.x_train, pool, cfg, "bald", 0, 1)
        per_run[n] = time.perf_counter() - t

        def lockstep_step(seed0):
            seeds = list(range(seed0, seed0 + args.runs))
            params = lockstep.init_params(cfg, seeds)
            params = engine.train(params, [bu.to_model_input(images)] * args.runs, [labels] * args.runs, seeds,
                                  [cfg.weight_decay_c / n] * args.runs)
            engine.predict(params, engine.crop(x_test))
            for r in range(args.runs):
                lockstep.load_into(model, params, r)
                acquire(model, data.x_train, pool, cfg, "bald", r, 1)

        t = time.perf_counter()
        lockstep_step(0)
        first[n] = time.perf_counter() - t
        t = time.perf_counter()
        lockstep_step(100)
        together[n] = time.perf_counter() - t
        print(f"{n:7d} {per_run[n]:10.2f} {together[n]:10.2f} ({first[n]:6.2f}) {together[n] / args.runs:19.2f}", flush=True)

    steps = [cfg.n_initial + s * cfg.acquire_per_step for s in range(cfg.n_steps + 1)]
    runs = len(cfg.acquisitions) * len(cfg.seeds)
    at = lambda table, n: float(np.interp(n, counts, [table[c] for c in counts]))  # noqa: E731
    local = sum(at(per_run, n) for n in steps) * runs / max(args.workers, 1)
    groups = -(-runs // args.runs)
    lock = sum(at(together, n) for n in steps) * groups
    buckets = {(lockstep.bucket(n), lockstep.bucket(max(len(b) for b in engine.schedule(n, 0)))) for n in steps}
    print(f"projected {cfg.name} grid: local executor ({args.workers} processes) {local / 60:.1f} min; "
          f"lockstep ({groups} group{'s' * (groups > 1)} of {args.runs}) {lock / 60:.1f} min, plus compilation", flush=True)
    print(f"compilations: {engine.compilations} in this benchmark; a whole {cfg.name} grid: {len(buckets)} training "
          f"shapes + 1 evaluation shape")


if __name__ == "__main__":
    main()
