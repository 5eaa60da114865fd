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
import subprocess
import sys
import threading
from pathlib import Path


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
    run.add_argument("--acquisition", required=True, help="max_entropy, bald, variation_ratios, variation_ratios_mean, mean_std, random, or the batch acquisitions batchbald and power_bald")
    run.add_argument("--seed", type=int, default=0)

    grid = sub.add_parser("grid", help="run or resume every (acquisition, seed) pair of a preset")
    common(grid)
    grid.add_argument("--workers", type=int, default=2, help="worker processes (0: in this process); with --executor dask and no --scheduler, the local cluster's")
    grid.add_argument("--threads", type=int, default=1, help="backend threads per worker, one run at a time each (0: backend default)")
    grid.add_argument("--commit", action="store_true", help="git-commit each run file as its run finishes")
    grid.add_argument("--chunk", type=int, default=None, metavar="STEPS",
                      help="run at most STEPS steps of a run, then take the least advanced run again, so that all runs "
                           "advance together (a partial grid has every mean curve to the same point); default: whole runs")
    grid.add_argument("--executor", choices=("local", "dask"), default="local",
                      help="local: worker processes on this machine (default); dask: every run a Dask task, on a local "
                           "cluster of --workers processes or on --scheduler (pip install 'bal_utils[dask]')")
    grid.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                      help="with --executor dask: the address of a running Dask scheduler (default: start a local cluster); "
                           "--out must be on a filesystem every worker sees")
    grid.add_argument("--connect-timeout", type=float, default=None, metavar="SECONDS",
                      help="with --scheduler: seconds to wait for the connection (default: 10)")

    rep = sub.add_parser("report", help="labels-to-reach table of a results directory")
    rep.add_argument("directory")
    rep.add_argument("--errors", default="0.10,0.05", help="comma-separated test errors in (0, 1), e.g. 0.10,0.05 or 10%%,5%% (default: 0.10,0.05)")
    return p


def parse_override(text: str) -> tuple:
    """``"FIELD=VALUE"`` -> ``(field, value)`` typed like the :class:`~bal_utils.config.Config` field."""
    import dataclasses

    from .config import Config

    fields = {f.name: str(f.type) for f in dataclasses.fields(Config)}
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        raise ValueError(f"--set {text!r}: expected FIELD=VALUE, for example epochs=150")
    if name not in fields:
        raise ValueError(f"--set {text!r}: unknown field {name!r}; allowed: {sorted(fields)}")
    kind = fields[name]
    if value.lower() == "none" and "None" in kind:
        return name, None
    try:
        if kind.startswith("tuple"):
            items = [v.strip() for v in value.split(",") if v.strip()]
            item_type = type(Config.__dataclass_fields__[name].default[0])  # seeds: int, acquisitions: str
            return name, tuple(item_type(v) for v in items)
        if kind.startswith("int"):
            return name, int(value)
        if kind.startswith("float"):
            return name, float(value)
    except ValueError:
        raise ValueError(f"--set {text!r}: {name} must be {kind}, got {value!r}") from None
    return name, value


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
    from .data import ENV_VAR, load_mnist

    try:
        return load_mnist(config.dataset, data_path)
    except ValueError as err:
        if data_path:
            raise ValueError(f"--data: {err}") from None
        if config.dataset == "mnist" and os.environ.get(ENV_VAR):
            raise ValueError(f"${ENV_VAR}: {err}") from None
        raise


def _config(args):
    from .config import get_preset

    overrides = dict(parse_override(t) for t in args.overrides)
    if args.steps is not None:
        overrides["n_steps"] = args.steps
    return get_preset(args.preset, **overrides)


def _check_executor_options(args):
    if args.executor != "dask" and (args.scheduler is not None or args.connect_timeout is not None):
        raise ValueError(f"{'--scheduler' if args.scheduler is not None else '--connect-timeout'} is for --executor dask")
    if args.connect_timeout is not None and not args.connect_timeout > 0:
        raise ValueError(f"--connect-timeout {args.connect_timeout}: expected a number of seconds > 0")


def _git_commit_file(path):
    where = os.path.dirname(os.path.abspath(str(path)))
    name = os.path.basename(str(path))
    subprocess.run(["git", "add", name], cwd=where, check=False)
    subprocess.run(["git", "commit", "-q", "-m", f"Add results: {name}", "--", name], cwd=where, check=False)


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
        from .results import run_filename

        saved = Path(args.out) / run_filename(args.acquisition, args.seed) if args.command == "run" else Path(args.out)
        print(
            f"interrupted: every finished step is saved in {saved} (run files are rewritten after every step); "
            f"resume with the same command: python -m bal_utils {shlex.join(argv)}",
            file=sys.stderr,
        )
    return 130


def _main(args) -> int:
    if args.command == "report":
        from .results import format_report, load_runs

        errors = parse_errors(args.errors)
        print(format_report(load_runs(args.directory, skip_bad=True), errors))
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.command == "grid":
        _check_executor_options(args)
    config = _config(args)
    _check_out(args.out)
    data = _load_data(config, args.data)  # fails early, in one line
    if args.command == "run":
        from .loop import run_active_learning

        record = run_active_learning(config, args.acquisition, args.seed, out_dir=args.out, data=data)
        last = record["history"][-1]
        print(
            f"{args.acquisition} seed {args.seed}: {record['status']}, {len(record['history'])} steps, "
            f"test error {100 * last['test_error']:.2f}% at {last['n_labelled']} labels, "
            f"{record['wall_seconds']:.0f} s in all"
        )
        return 0
    from .grid import CONNECT_TIMEOUT, run_grid

    del data  # the workers load their own
    dask_options = {}
    if args.executor == "dask":
        timeout = CONNECT_TIMEOUT if args.connect_timeout is None else args.connect_timeout
        dask_options = dict(executor="dask", scheduler=args.scheduler, connect_timeout=timeout)
    done = run_grid(config, args.out, workers=args.workers, threads_per_worker=args.threads, data_path=args.data,
                    on_run_done=_git_commit_file if args.commit else None, chunk=args.chunk, **dask_options)
    for acq, seed, seconds in done:
        print(f"{acq} seed {seed}: {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
