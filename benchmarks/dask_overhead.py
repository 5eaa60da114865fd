"""Benchmark: what the Dask executor costs against the local one, on this machine.

Usage::

    python benchmarks/dask_overhead.py [--workers 2] [--threads 1] [--seeds 2] [--repeats 2]

1. Runs the same smoke grid (the ``smoke`` preset, the shipped MNIST subset, with
   ``--seeds`` seeds: 2 acquisitions x 2 seeds = 4 runs of 3 steps by default)
   under ``--executor local`` and ``--executor dask`` (a ``LocalCluster`` of the same
   ``--workers`` x ``--threads``, started and closed by the call), each into a fresh
   temporary directory, alternating, ``--repeats`` times, and prints the wall times
   (everything included: processes, TensorFlow start-up in the workers, the runs,
   shutdown) and the difference per run.
2. Splits the Dask side: the start and close of a ``LocalCluster`` alone, and the
   round trip of a trivial task (submitted and awaited one at a time, then 500 at
   once): Dask's own cost per task, against runs of seconds (smoke) to about
   20 minutes (paper).
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _noop(i):
    return i


def _grid_seconds(cfg, executor, workers, threads):
    import bal_utils as bu

    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        done = bu.run_grid(cfg, out, workers=workers, threads_per_worker=threads, executor=executor, progress=False)
        wall = time.perf_counter() - t
        assert len(done) == len(cfg.acquisitions) * len(cfg.seeds)
        in_runs = sum(seconds for _, _, seconds in done)
    return wall, in_runs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2, help="worker processes of both executors (default: 2)")
    p.add_argument("--threads", type=int, default=1, help="threads per worker (default: 1)")
    p.add_argument("--seeds", type=int, default=2, help="seeds of the smoke grid (default: 2, so 4 runs)")
    p.add_argument("--repeats", type=int, default=2, help="grids per executor, alternating (default: 2)")
    p.add_argument("--tasks", type=int, default=500, help="trivial tasks for the per-task figure (default: 500)")
    args = p.parse_args()

    import dask
    import distributed

    import bal_utils as bu
    from bal_utils import _dask

    cfg = bu.get_preset("smoke", seeds=tuple(range(args.seeds)))
    runs = len(cfg.acquisitions) * len(cfg.seeds)
    print(f"bal_utils {bu.__version__}, dask {dask.__version__}, distributed {distributed.__version__}; {os.cpu_count()} CPUs")
    print(f"smoke grid: {runs} runs x {cfg.n_steps + 1} steps, {args.workers} workers x {args.threads} thread(s)")

    walls = {"local": [], "dask": []}
    in_runs = {"local": [], "dask": []}
    for r in range(args.repeats):
        for executor in ("local", "dask") if r % 2 == 0 else ("dask", "local"):
            wall, seconds = _grid_seconds(cfg, executor, args.workers, args.threads)
            walls[executor].append(wall)
            in_runs[executor].append(seconds)
            print(f"  {executor:5s} grid: {wall:6.1f} s wall, {seconds:6.1f} s inside the runs", flush=True)

    t = time.perf_counter()
    connection = _dask.connect(None, args.workers, 10)
    start = time.perf_counter() - t
    client = connection[0]
    client.submit(_noop, 0, pure=False).result()  # warm up
    t = time.perf_counter()
    n_seq = 50
    for i in range(n_seq):
        client.submit(_noop, i, pure=False).result()
    one_at_a_time = (time.perf_counter() - t) / n_seq
    t = time.perf_counter()
    client.gather(client.map(_noop, range(args.tasks), pure=False))
    batched = (time.perf_counter() - t) / args.tasks
    t = time.perf_counter()
    _dask.close(connection)
    close = time.perf_counter() - t

    local, dask_wall = statistics.median(walls["local"]), statistics.median(walls["dask"])
    print()
    print(f"{'measure':58s} figure")
    print(f"{'smoke grid, local executor (median wall)':58s} {local:.1f} s")
    print(f"{'smoke grid, dask executor (median wall)':58s} {dask_wall:.1f} s")
    print(f"{'difference per run (dask - local) / runs':58s} {(dask_wall - local) / runs:+.2f} s")
    print(f"{'LocalCluster start / close (no TensorFlow in it)':58s} {start:.2f} s / {close:.2f} s")
    print(f"{'trivial task round trip, one at a time':58s} {1000 * one_at_a_time:.1f} ms")
    print(f"{f'trivial task, {args.tasks} at once (per task)':58s} {1000 * batched:.2f} ms")


if __name__ == "__main__":
    main()
