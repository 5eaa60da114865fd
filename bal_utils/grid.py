"""The experiment grid: every (acquisition function, seed) pair of a config.

Runs go to worker processes (``spawn``), each pinned to a number of threads,
so that e.g. two single-threaded workers share a 2-core machine. Finished runs
are skipped and partial ones resume, because every run resumes from its own
file; one overall progress bar counts finished steps by reading the run files.
A free worker always takes the least advanced run; with ``chunk`` it runs that
run for at most ``chunk`` steps before choosing again, so that every run's curve
grows together and a grid stopped half-way has every function's mean curve to
the same point.

With ``executor="dask"`` every run is a Dask task instead, on a ``LocalCluster``
started for the call or on an existing cluster (:mod:`bal_utils._dask`). With
``executor="lockstep"`` every run advances together in this process, trained
as one computation per step (:mod:`bal_utils.lockstep`): the fast choice on a GPU.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
from pathlib import Path

from tqdm.auto import tqdm

from . import checks
from .config import Config
from .runtime import check_lockstep, gpu_available, init_worker, pin_threads, run_one, steps_done
from .results import run_filename

#: Where the grid's runs execute: worker processes on this machine, Dask tasks, or all runs
#: as one computation in this process.
EXECUTORS = ("local", "dask", "lockstep")
#: Dask: retries of a run that raised (each resumes from its file).
DASK_RETRIES = 2
#: Dask: seconds to wait for a scheduler given by address.
CONNECT_TIMEOUT = 10.0
DASK_MISSING = "executor 'dask' needs Dask distributed, which is not installed: pip install 'bal_utils[dask]' (or: pip install 'dask[distributed]' bokeh)"


class DaskNotInstalledError(ImportError, ValueError):
    """``executor="dask"`` without Dask distributed (a ``ValueError`` too: the CLI prints it in one line)."""


def distributed_module():
    """``dask.distributed``, or :class:`DaskNotInstalledError` in one line."""
    try:
        import dask.distributed as distributed
    except ImportError:
        raise DaskNotInstalledError(DASK_MISSING, name="distributed") from None
    return distributed


def default_executor(config: Config | None = None) -> str:
    """``"lockstep"`` where the backend sees a GPU (and ``config``'s runs can move in lockstep),
    else ``"local"``; ``benchmarks/lockstep.py`` measures both."""
    if config is not None:
        try:
            check_lockstep(config)
        except ValueError:
            return "local"
    return "lockstep" if gpu_available() else "local"


def grid_jobs(config: Config):
    """``(acquisition, seed)`` pairs, seed-major so early results cover every function."""
    return [(acq, seed) for seed in config.seeds for acq in config.acquisitions]


class _RunQueue:
    """Which run a free worker takes next: the least advanced one not in progress (ties: seed-major order)."""

    def __init__(self, jobs, paths, n_records, chunk):
        self.jobs, self.paths, self.n_records, self.chunk = jobs, paths, n_records, chunk
        self.busy = set()
        self.seconds = {}

    def steps(self, job):
        return steps_done(self.paths[job])

    def next(self):
        """``(job, until_step)``, or ``None`` when no run is left to start."""
        free = [(self.steps(job), i, job) for i, job in enumerate(self.jobs) if job not in self.busy]
        free = [f for f in free if f[0] < self.n_records]
        if not free:
            return None
        steps, _, job = min(free)
        self.busy.add(job)
        return job, None if self.chunk is None else min(self.n_records, steps + self.chunk)

    def finished(self, job, seconds):
        """Record a finished piece of ``job``; ``True`` if the run is now complete."""
        self.busy.discard(job)
        self.seconds[job] = self.seconds.get(job, 0.0) + seconds
        return self.steps(job) >= self.n_records


def run_grid(
    config: Config,
    out_dir,
    workers: int = 2,
    threads_per_worker: int = 1,
    data_path=None,
    progress: bool = True,
    on_run_done=None,
    executor: str = "local",
    scheduler=None,
    retries: int = DASK_RETRIES,
    connect_timeout: float = CONNECT_TIMEOUT,
    chunk: int | None = None,
    stats: dict | None = None,
) -> list:
    """Run every (acquisition, seed) pair of ``config`` into ``out_dir``.

    Parameters
    ----------
    workers : int
        Worker processes; ``0`` runs in this process (no isolation, for notebooks and tests).
        With ``executor="dask"`` and no ``scheduler``: the workers of the local Dask cluster
        started for this call (one run at a time each).
    threads_per_worker : int
        Threads each worker's backend may use (0 leaves the default); with Dask, the
        TensorFlow threads of every Dask worker process.
    on_run_done : callable, optional
        Called as ``on_run_done(path)`` in this process when a run finishes
        (e.g. to commit the file).
    executor : ``"local"``, ``"dask"``, ``"lockstep"`` or ``None``
        ``"local"``: worker processes on this machine. ``"dask"``: every run is a Dask
        task (needs ``pip install 'bal_utils[dask]'``); see :mod:`bal_utils._dask`.
        ``"lockstep"``: every run in this process, trained together (``workers`` is not
        used; ``threads_per_worker`` pins this process if its backend has not started yet);
        see :mod:`bal_utils.lockstep`.
        ``None``: :func:`default_executor`.
    scheduler : str or dask.distributed.Client, optional
        Only with ``executor="dask"``: the address of a running Dask scheduler
        (``tcp://HOST:PORT``) or a client of yours; ``None`` starts a ``LocalCluster``
        of ``workers`` processes for this call and closes it at the end. ``out_dir``
        must be on a filesystem that every worker sees, at the same path.
    retries : int
        Only with Dask: how many times a run that raised is retried (each retry resumes
        from the run file). A run whose worker died is rescheduled by the scheduler
        (up to its ``distributed.scheduler.allowed-failures``, 3 by default).
    connect_timeout : float
        Only with a scheduler address: seconds to wait for the connection.
    chunk : int, optional
        Local executor only: a worker runs at most ``chunk`` steps of a run, then takes the
        least advanced run again, so that the runs advance together (a partial grid then has
        every function's mean curve to the same point). ``None`` runs each run to its end.
        Each piece reloads the data and rebuilds the model (a few seconds), so keep pieces
        of several steps; not with ``warm_start``, whose resumes replay every earlier training.

    stats : dict, optional
        Lockstep only: receives the number of compilations and the seconds spent
        training, evaluating and scoring.

    Returns
    -------
    list of ``(acquisition, seed, seconds)`` for the runs done in this call.
    """
    if executor is None:
        executor = default_executor(config)
    if executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r} is not allowed: expected one of {list(EXECUTORS)} (a dask.distributed.Client goes in scheduler=)")
    if scheduler is not None and executor != "dask":
        raise ValueError("scheduler= is for executor='dask' (a Dask scheduler address or a dask.distributed.Client)")
    checks.integer("workers", workers, 0)
    checks.integer("threads_per_worker", threads_per_worker, 0)
    if executor == "dask":
        if scheduler is None and workers == 0:
            raise ValueError("workers=0 runs in this process, which executor='dask' does not: expected workers >= 1 for its local cluster")
        checks.integer("retries", retries, 0)
        distributed_module()  # fails early, in one line, without Dask
    if executor == "lockstep":
        check_lockstep(config)
    if chunk is not None:
        checks.integer("chunk", chunk, 1)
        if executor != "local":
            raise ValueError(f"chunk= is for the local executor: executor={executor!r} advances every run together")
        warm = [acq for acq in config.acquisitions if config.for_acquisition(acq).warm_start]
        if warm:
            raise ValueError(f"chunk={chunk} with warm_start=True ({', '.join(warm)}) is not allowed: "
                             "every resume of a warm-started run replays all its earlier trainings")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = grid_jobs(config)
    paths = {job: out_dir / run_filename(*job) for job in jobs}
    total = len(jobs) * (config.n_steps + 1)
    todo = [job for job in jobs if steps_done(paths[job]) < config.n_steps + 1]
    done = []
    if executor == "lockstep":
        if not todo:
            return done
        try:
            pin_threads(threads_per_worker)
        except RuntimeError:  # the backend already runs in this process (a notebook): keep its threads
            pass
        from .lockstep import run_lockstep  # starts the backend, after the threads are pinned

        return run_lockstep(config, out_dir, data_path=data_path, progress=progress, on_run_done=on_run_done, stats=stats)
    if executor == "dask":
        if not todo:  # nothing to run: no cluster needed
            return done
        from . import _dask

        connection = _dask.connect(scheduler, workers, connect_timeout)  # a bad address fails here, in one line
        try:
            if progress:
                _dask.announce(connection[0])  # once, above the bar
        except BaseException:
            _dask.close(connection)
            raise
    bar = tqdm(total=total, initial=sum(steps_done(p) for p in paths.values()), desc=f"grid {config.name}", unit="step", disable=not progress)
    try:
        if executor == "dask":

            def update():
                bar.n = sum(steps_done(p) for p in paths.values())
                bar.refresh()

            def finished(result):
                done.append(result)
                if on_run_done:
                    on_run_done(paths[tuple(result[:2])])

            _dask.run_on_dask(connection, config, out_dir, todo, threads=threads_per_worker, data_path=data_path, retries=retries, update=update, finished=finished)
            return done
        plan = _RunQueue(jobs, paths, config.n_steps + 1, chunk)

        def piece_done(job, seconds):
            if plan.finished(job, seconds):
                done.append((*job, plan.seconds[job]))
                if on_run_done:
                    on_run_done(paths[job])

        if workers == 0:
            while (nxt := plan.next()) is not None:
                (acq, seed), until = nxt
                piece_done((acq, seed), run_one(config.to_dict(), acq, seed, out_dir, data_path, until)[2])
                bar.n = sum(steps_done(p) for p in paths.values())
                bar.refresh()
            return done
        ctx = mp.get_context("spawn")
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker, initargs=(threads_per_worker,))
        try:
            futures = {}
            while True:
                while len(futures) < workers and (nxt := plan.next()) is not None:
                    (acq, seed), until = nxt
                    futures[pool.submit(run_one, config.to_dict(), acq, seed, str(out_dir), data_path, until)] = (acq, seed)
                if not futures:
                    break
                finished, _ = cf.wait(futures, timeout=5, return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    job = futures.pop(fut)
                    piece_done(job, fut.result()[2])  # re-raises a worker's error here
                bar.n = sum(steps_done(p) for p in paths.values())
                bar.refresh()
        except BaseException:  # Ctrl-C or a worker's error: stop now; every run file holds its finished steps
            for proc in list((pool._processes or {}).values()):  # Python 3.14 has pool.terminate_workers()
                proc.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
    finally:
        bar.close()
    return done
