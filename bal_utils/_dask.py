"""The grid's Dask executor: ``run_grid(..., executor="dask")``, ``python -m bal_utils grid --executor dask``.

Imported only for that executor; needs ``pip install 'bal_utils[dask]'`` (Dask
distributed and bokeh, for the dashboard).

- Every ``(acquisition, seed)`` run is one Dask task, the same resumable run as the
  local executor's: :func:`bal_utils.loop.run_active_learning` rewrites the run file
  after every step, so a task that dies (its worker killed, lost or out of memory)
  is rescheduled by Dask and resumes from its last finished step.
- Without a scheduler a ``LocalCluster`` of ``workers`` processes is started for the
  call (one task at a time per worker) and closed at the end; with an address
  (``tcp://HOST:PORT``) or a ``dask.distributed.Client`` an existing cluster is used
  and left running.
- Thread pinning: TensorFlow reads its thread counts once, when its runtime starts
  in a process. A worker plugin (:class:`PinThreads`) sets the thread environment
  variables on every worker as it joins (restarted workers included), before any
  task of ours runs there; the first task in a worker process then also sets
  TensorFlow's thread counts through ``tf.config.threading`` before the backend's
  first operation, as the local executor's workers do.
- The output directory must be one that every worker sees at the same path (a
  shared filesystem: NFS, Lustre, a cluster's home or scratch); the client reads
  the run files there for the progress bar.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import sys
import threading
import uuid
import warnings
from pathlib import Path

from distributed import Client, LocalCluster, WorkerPlugin
from tqdm.auto import tqdm

from .runtime import THREAD_VARS, pin_threads, run_one, thread_env

#: The name our worker plugin is registered under (a second grid replaces it).
PLUGIN_NAME = "bal_utils-thread-pinning"
#: Seconds between progress-bar refreshes while no run finishes.
POLL_SECONDS = 2.0


class PinThreads(WorkerPlugin):
    """Set the thread environment variables on a Dask worker before TensorFlow starts there.

    ``setup`` runs on every worker when the plugin is registered and on every
    worker that joins later (a restarted worker included). It imports nothing:
    TensorFlow reads the variables when its runtime starts, at the first task's
    first operation.
    """

    def __init__(self, threads: int):
        self.threads = int(threads)

    def setup(self, worker=None):
        thread_env(self.threads)
        tqdm.set_lock(threading.RLock())  # not tqdm's default multiprocessing lock, which a killed worker would leak


_pin_lock = threading.Lock()
_pinned: list = []  # the thread count this worker process was pinned to, once it was


def _pin_once(threads: int):
    """In a worker process, pin TensorFlow's threads and start the backend, once per process."""
    with _pin_lock:
        if _pinned:
            return
        try:
            pin_threads(threads)
        except RuntimeError as err:  # the runtime was started by something else in this worker
            warnings.warn(f"bal_utils: TensorFlow had already started in Dask worker process {os.getpid()}, so its thread counts stay as they were ({err})", stacklevel=2)
        from . import _backend  # noqa: F401  (starts the backend quietly)

        _pinned.append(threads)


def run_task(config_dict, acquisition, seed, out_dir, data_path, threads):
    """One grid run, as a Dask task: ``(acquisition, seed, seconds)``."""
    if not os.path.isdir(out_dir):
        raise ValueError(
            f"output directory {out_dir} does not exist on Dask worker {socket.gethostname()}: "
            "the output directory must be on a filesystem that every worker sees, at the same path"
        )
    _pin_once(threads)
    return run_one(config_dict, acquisition, seed, out_dir, data_path)


def worker_threads() -> dict:
    """On a worker (via ``client.run``): its thread variables and, if TensorFlow runs there, TF's counts."""
    info = {var: os.environ.get(var) for var in THREAD_VARS}
    info["pinned"] = _pinned[0] if _pinned else None
    if "tensorflow" in sys.modules and _pinned:
        import tensorflow as tf

        info["intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
        info["inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
    return info


def _exit_now():
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def exit_without_finalizing():
    """On a worker of our own ``LocalCluster`` (via ``client.run``), as it is closed: exit fast and quietly.

    A process that ran TensorFlow takes seconds to finalize (its C++ runtime's
    teardown, 2-3 s on a busy 2-core machine); the nanny gives its worker 4 s,
    then kills it with a warning. Everything of ours is on disk by then, so the
    process ends without finalizing, and the worker's own shutdown log lines
    (cancelled tasks, a last heartbeat to a closed scheduler) are held back.
    """
    import atexit

    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    atexit.register(_exit_now)  # runs first (last registered): logging is flushed, the rest is skipped


def connect(scheduler, workers: int, connect_timeout: float):
    """``(client, cluster, owned)``: a new ``LocalCluster``, a scheduler address, or the caller's client."""
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
        try:
            return Client(cluster, set_as_default=False), cluster, True
        except BaseException:
            cluster.close()
            raise
    if isinstance(scheduler, Client):
        return scheduler, None, False
    if isinstance(scheduler, str):
        try:
            return Client(scheduler, timeout=connect_timeout, set_as_default=False), None, True
        except (OSError, ValueError, TypeError) as err:  # refused, timed out, unknown host or scheme
            reason = " ".join(str(err).split()) or type(err).__name__
            raise ValueError(
                f"scheduler {scheduler}: cannot connect to a Dask scheduler ({reason}); "
                "start one with `dask scheduler` and give the address it prints (tcp://HOST:PORT)"
            ) from None
    raise ValueError(f"scheduler={scheduler!r} is not allowed: expected a Dask scheduler address (tcp://HOST:PORT) or a dask.distributed.Client")


def announce(client):
    """Print once: the scheduler, its workers and the dashboard link."""
    n = len(client.nthreads())
    services = client.scheduler_info().get("services", {})
    text = f"Dask scheduler {client.scheduler.address}, {n} worker{'s' * (n != 1)}; "
    text += f"dashboard: {client.dashboard_link}" if "dashboard" in services else "no dashboard (pip install bokeh)"
    if n == 0:
        text += "; no worker has joined yet: the runs start when workers connect"
    tqdm.write(text)


def run_on_dask(connection, config, out_dir, todo, *, threads, data_path, retries, update, finished):
    """Run the ``todo`` pairs as Dask tasks, then close the connection if it is ours.

    ``connection`` is :func:`connect`'s ``(client, cluster, owned)``; ``finished(result)``
    is called as each run ends, ``update()`` to refresh the progress bar.
    """
    client, cluster, owned = connection
    out_dir = str(Path(out_dir).resolve())  # the workers may not share this process's working directory
    if data_path is None and config.dataset == "mnist" and os.environ.get("BAL_MNIST"):
        data_path = os.environ["BAL_MNIST"]  # this process's choice, passed on (remote workers may lack the variable)
    if data_path is not None:
        data_path = str(Path(data_path).expanduser().resolve())
    futures = []
    try:
        client.register_plugin(PinThreads(threads), name=PLUGIN_NAME)
        token = uuid.uuid4().hex[:8]  # fresh keys: a new grid never attaches to an old one's tasks
        ended = queue.Queue()
        config_dict = config.to_dict()
        for i, (acq, seed) in enumerate(todo):
            fut = client.submit(
                run_task, config_dict, acq, seed, out_dir, data_path, threads,
                key=f"{acq}-seed{seed}-{token}", retries=retries, pure=False, priority=len(todo) - i,  # seed-major, as submitted
            )
            fut.add_done_callback(ended.put)
            futures.append(fut)
        for _ in futures:
            while True:
                try:
                    fut = ended.get(timeout=POLL_SECONDS)
                    break
                except queue.Empty:
                    update()
            result = fut.result()  # re-raises a run's error (after its retries)
            update()
            finished(tuple(result))
    except BaseException:  # Ctrl-C or a run's error: pending runs never start; each run file holds its finished steps
        if futures and cluster is None:  # on our own cluster, closing it stops everything
            started = any(f.status == "pending" for f in futures) and _processing(client)
            client.cancel(futures)
            if started:
                print(
                    "note: runs that had started on the cluster's workers go on there until they end "
                    "(Dask cannot stop a running task); to stop them, restart the workers: Client(address).restart()",
                    file=sys.stderr,
                )
        close(connection, stopping=True)
        raise
    close(connection)


def _processing(client) -> bool:
    """Whether any worker of the cluster holds a task."""
    try:
        return any(client.processing().values())
    except Exception:  # the scheduler is gone
        return False


def close(connection, stopping: bool = False):
    """Close the client and the cluster if this call opened them; leave a caller's client alone.

    ``stopping``: runs may still be running (Ctrl-C, an error); our own cluster's
    workers are then killed after the nanny's 4 s, with its log lines held back.
    """
    client, cluster, owned = connection
    log = logging.getLogger("distributed")
    level = log.level
    try:
        if cluster is not None:  # our own LocalCluster: quick worker exits, then close it
            if stopping:
                log.setLevel(logging.ERROR)
            try:
                client.run(exit_without_finalizing)
            except Exception:  # a worker already gone: the nanny handles it
                pass
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()
    finally:
        log.setLevel(level)
