"""Command line: ``python -m bal_utils {run,grid,report} ...``.

Examples::

    python -m bal_utils run --preset paper --acquisition bald --seed 0 --out results/x
    python -m bal_utils grid --preset paper --out results/paper --workers 2
    python -m bal_utils grid --preset authors --out results/authors --chunk 10
    python -m bal_utils grid --preset paper --out /shared/results/paper --executor dask --scheduler tcp://HOST:8786
    python -m bal_utils grid --preset paper --set epochs=150 --set acquisitions=bald,random --out results/y
    python -m bal_utils report results/x
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from .acquisition import known_acquisitions
from .config import Config
from .presets import get_preset
from .data import ENV_VAR, load_mnist
from .grid import CONNECT_TIMEOUT, EXECUTORS, run_grid
from .runtime import check_lockstep
from .loop import run_active_learning
from .provenance import commit_run_file
from .report import CONVENTIONS, format_report
from .results import load_run, load_runs, run_filename


def _parser():
    p = argparse.ArgumentParser(prog="python -m bal_utils", description="Deep Bayesian active learning on MNIST.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(q):
        q.add_argument("--preset", default="paper", help="paper, authors, authors-deterministic, paper-text, batch-repeated, batch-mnist, teaching or smoke (default: paper)")
        q.add_argument("--out", required=True, help="results directory (a partial run there is resumed)")
        q.add_argument("--data", default=None, help="local MNIST .npz (default: $BAL_MNIST, else the Keras download)")
        q.add_argument("--steps", type=int, default=None, help="override the number of acquisitions")
        q.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides",
                       help="override any config field, e.g. --set epochs=150 --set acquisitions=bald,random "
                            "(repeatable; lists are comma-separated, 'none' for None)")

    run = sub.add_parser("run", help="run or resume one active-learning run")
    common(run)
    run.add_argument("--acquisition", required=True, choices=known_acquisitions(), metavar="ACQUISITION",
                     help=f"one of {', '.join(known_acquisitions())}")
    run.add_argument("--seed", type=_seed, default=0, help="an integer >= 0 (default: 0)")

    grid = sub.add_parser("grid", help="run or resume every (acquisition, seed) pair of a preset")
    common(grid)
    grid.add_argument("--workers", type=int, default=2, help="worker processes (0: in this process); with --executor dask and no --scheduler, the local cluster's")
    grid.add_argument("--threads", type=int, default=None,
                      help="backend threads per worker, one run at a time each (0: backend default; default: 1, "
                           "and 0 with --executor lockstep, whose one process uses every core)")
    grid.add_argument("--commit", action="store_true", help="git-commit each run file as its run finishes")
    grid.add_argument("--chunk", type=int, default=None, metavar="STEPS",
                      help="run at most STEPS steps of a run, then take the least advanced run again, so that all runs "
                           "advance together (a partial grid has every mean curve to the same point); default: whole runs")
    grid.add_argument("--executor", choices=EXECUTORS, default=None,
                      help="local: worker processes on this machine; dask: every run a Dask task, on a local "
                           "cluster of --workers processes or on --scheduler (pip install 'bal_utils[dask]'); "
                           "lockstep: every run in this process, trained together, one computation per step "
                           "(default: lockstep where the backend sees a GPU, else local)")
    grid.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                      help="with --executor dask: the address of a running Dask scheduler (default: start a local cluster); "
                           "--out must be on a filesystem every worker sees")
    grid.add_argument("--connect-timeout", type=float, default=None, metavar="SECONDS",
                      help="with --scheduler: seconds to wait for the connection (default: 10)")

    rep = sub.add_parser("report", help="labels-to-reach table of a results directory")
    rep.add_argument("directory")
    rep.add_argument("--convention", choices=CONVENTIONS, default="seeds",
                     help="seeds: labelled images per seed, mean ± sd (default); mean-curve: acquired images read from "
                          "the mean curve over seeds, as the paper's Table 1 and the book count")
    rep.add_argument("--errors", default="0.10,0.05", help="comma-separated test errors in (0, 1), e.g. 0.10,0.05 or 10%%,5%% (default: 0.10,0.05)")
    return p


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: expected an integer >= 0")
    return value


def parse_override(text: str) -> tuple:
    """``"FIELD=VALUE"`` -> ``(field, value)``, typed by :meth:`~bal_utils.config.Config.parse_field`."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--set {text!r}: expected FIELD=VALUE, for example epochs=150")
    try:
        return name.strip(), Config.parse_field(name.strip(), value)
    except ValueError as err:
        raise ValueError(f"--set {text!r}: {err}") from None


def parse_errors(text: str) -> tuple:
    """``"0.10,5%"`` -> ``(0.10, 0.05)``: test errors in (0, 1), as fractions or percentages."""
    errors = []
    for item in text.split(","):
        item = item.strip()
        try:
            value = float(item[:-1]) / 100 if item.endswith("%") else float(item)
        except ValueError:
            raise ValueError(f"--errors {text!r}: {item!r} is not a number; expected test errors in (0, 1), e.g. 0.10,0.05 or 10%,5%") from None
        if not 0 < value < 1:
            raise ValueError(f"--errors {text!r}: {item} is not in (0, 1); expected test errors in (0, 1), e.g. 0.10,0.05 or 10%,5%")
        errors.append(value)
    return tuple(errors)


def _check_out(out):
    """Create the results directory ``--out`` or say in one line why it cannot be one."""
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {out}: is a file; expected a results directory (existing, or one that can be created)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--out {out}: cannot create the directory ({err.strerror}); expected a results directory (existing, or one that can be created)") from None


def _load_data(config, data_path):
    """Load the data up front so that a bad ``--data`` or ``$BAL_MNIST`` is one line, not a worker's traceback."""

    try:
        return load_mnist(config.dataset, data_path)
    except ValueError as err:
        if data_path:
            raise ValueError(f"--data: {err}") from None
        if config.dataset == "mnist" and os.environ.get(ENV_VAR):
            raise ValueError(f"${ENV_VAR}: {err}") from None
        raise


def _config(args):

    overrides = dict(parse_override(t) for t in args.overrides)
    if args.steps is not None:
        overrides["n_steps"] = args.steps
    try:
        return get_preset(args.preset, **overrides)
    except ValueError as err:
        text = str(err)
        if args.steps is not None and text.startswith(f"n_steps={args.steps}"):
            raise ValueError(f"--steps {args.steps}{text[len(f'n_steps={args.steps}'):]}") from None
        if text.startswith("preset="):
            raise ValueError(f"--preset {args.preset}: {text.split(': ', 1)[1]}") from None
        raise


def _complete(path, config) -> bool:
    try:
        record = load_run(path)
    except ValueError:
        return False
    return record["status"] == "complete" and record["config"]["n_steps"] >= config.n_steps and \
        record["acquisition"] in config.acquisitions and record["seed"] in config.seeds


def _check_executor_options(args):
    if args.executor != "dask" and (args.scheduler is not None or args.connect_timeout is not None):
        raise ValueError(f"{'--scheduler' if args.scheduler is not None else '--connect-timeout'} is for --executor dask")
    if args.connect_timeout is not None and not args.connect_timeout > 0:
        raise ValueError(f"--connect-timeout {args.connect_timeout}: expected a number of seconds > 0")


class _NoteSigint:
    """Ctrl-C raises KeyboardInterrupt as usual, and is remembered.

    A SIGINT that lands while TensorFlow runs C code can surface as another exception (CI saw ``SystemError:
    Objects/listobject.c:338: bad argument to internal function``); :func:`main` then still reports an interrupt.
    """

    def __init__(self):
        self.seen = False

    def __enter__(self):
        self._previous = None
        if threading.current_thread() is threading.main_thread():  # Python installs handlers only there
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    with _NoteSigint() as sigint:
        try:
            return _main(args)
        except KeyboardInterrupt:
            pass
        except Exception as err:
            if not sigint.seen:
                if isinstance(err, ValueError):
                    print(f"error: {err}", file=sys.stderr)
                    return 2
                raise
    if args.command == "report":
        print("interrupted", file=sys.stderr)
    else:

        saved = Path(args.out) / run_filename(args.acquisition, args.seed) if args.command == "run" else Path(args.out)
        print(
            f"interrupted: every finished step is saved in {saved} (run files are rewritten after every step); "
            f"resume with the same command: python -m bal_utils {shlex.join(argv)}",
            file=sys.stderr,
        )
    return 130


def _main(args) -> int:
    if args.command == "report":

        errors = parse_errors(args.errors)
        if not Path(args.directory).is_dir():
            raise ValueError(f"report {args.directory}: no such directory")
        runs = load_runs(args.directory, skip_bad=True)
        if not runs:
            raise ValueError(f"report {args.directory}: no readable run file there (<acquisition>-seed<seed>.json)")
        print(format_report(runs, errors, args.convention))
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.command == "grid":
        _check_executor_options(args)
    config = _config(args)
    if args.command == "grid" and args.executor == "lockstep":
        check_lockstep(config)
    _check_out(args.out)
    data = _load_data(config, args.data)  # fails early, in one line
    if args.command == "run":

        record = run_active_learning(config, args.acquisition, args.seed, out_dir=args.out, data=data)
        last = record["history"][-1]
        print(
            f"{args.acquisition} seed {args.seed}: {record['status']}, {len(record['history'])} steps, "
            f"test error {100 * last['test_error']:.2f}% at {last['n_labelled']} labels, "
            f"{record['wall_seconds']:.0f} s in all"
        )
        return 0

    del data  # the workers load their own
    total = len(config.seeds) * len(config.acquisitions)
    complete = [p for p in Path(args.out).glob("*-seed*.json") if _complete(p, config)]
    if len(complete) == total:
        print(f"grid {config.name}: already complete in {args.out} ({total} of {total} runs); nothing to do. "
              f"Extend it with more steps (--steps N), or see it with: python -m bal_utils report {args.out}")
        return 0
    dask_options = {}
    if args.executor == "dask":
        timeout = CONNECT_TIMEOUT if args.connect_timeout is None else args.connect_timeout
        dask_options = dict(executor="dask", scheduler=args.scheduler, connect_timeout=timeout)
    if args.executor != "dask":
        dask_options = dict(executor=args.executor)
    stats = {}
    threads = args.threads if args.threads is not None else 0 if args.executor == "lockstep" else 1
    done = run_grid(config, args.out, workers=args.workers, threads_per_worker=threads, data_path=args.data,
                    on_run_done=commit_run_file if args.commit else None, chunk=args.chunk, stats=stats, **dask_options)
    for acq, seed, seconds in done:
        print(f"{acq} seed {seed}: {seconds:.0f} s")
    if "compilations" in stats:
        print(f"lockstep: {stats['compilations']} compilations; {stats['train']:.0f} s training, "
              f"{stats['evaluate']:.0f} s evaluating, {stats['score']:.0f} s scoring")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
