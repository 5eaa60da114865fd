"""What every executor of the grid runs in a worker: thread pinning, the backend's start, one run.

The local executor (:mod:`bal_utils.grid`) and the Dask executor (:mod:`bal_utils._dask`)
both depend on this module and on the loop; nothing here imports either executor.
Benchmarks and scripts that must pin their threads before the backend starts call
:func:`init_worker` too.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from tqdm.auto import tqdm

from .config import Config
from .results import load_run

#: The environment variables that TensorFlow and XLA read for their thread counts when their runtime starts.
THREAD_VARS = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def check_lockstep(config: Config) -> None:
    """Raise ``ValueError`` in one line if the runs of ``config`` cannot move in lockstep (imports no backend)."""
    warm = [acq for acq in config.acquisitions if config.for_acquisition(acq).warm_start]
    if warm:
        raise ValueError(f"warm_start=True ({', '.join(warm)}) is not allowed with executor='lockstep': "
                         "it retrains every run from scratch at every step; use executor='local'")


def gpu_available() -> bool:
    """Whether the Keras backend sees a GPU (starts the backend)."""
    from ._backend import keras

    if keras.backend.backend() == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return False


def steps_done(path: Path) -> int:
    """Finished steps in a run file (0 when it is missing or unreadable)."""
    try:
        return len(load_run(path)["history"])
    except ValueError:
        return 0


def thread_env(threads: int):
    """Set the thread-count environment variables that TensorFlow and XLA read when their runtime starts.

    Cheap (imports nothing); effective only before the backend's first operation in this process.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")
    if threads:
        for var in THREAD_VARS:
            os.environ[var] = str(threads)
        flag = f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
        others = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith("--xla_cpu_multi_thread_eigen=")]
        os.environ["XLA_FLAGS"] = " ".join(others + [flag])


def pin_threads(threads: int):
    """Pin this process's backend to ``threads`` threads (0: leave the default), before its runtime starts.

    Raises ``RuntimeError`` (from TensorFlow) if the runtime has already started with other counts.
    """
    thread_env(threads)
    if threads:
        from ._quiet import quiet_fd2

        with quiet_fd2():  # thread counts must be set before the runtime starts
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)


def init_worker(threads: int):
    """In a fresh worker process: leave Ctrl-C to the parent, pin ``threads`` threads, start the backend quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    tqdm.set_lock(threading.RLock())  # not tqdm's default multiprocessing lock, which a stopped worker would leak
    pin_threads(threads)
    from . import _backend  # noqa: F401  (starts the backend quietly)


def run_one(config_dict, acquisition, seed, out_dir, data_path, until_step=None):
    """One (acquisition, seed) run, resumed from its file, up to ``until_step``: ``(acquisition, seed, seconds)``."""
    from .loop import run_active_learning  # the backend starts here, after the threads are pinned

    t0 = time.perf_counter()
    run_active_learning(Config.from_dict(config_dict), acquisition, seed, out_dir=out_dir, data_path=data_path,
                        until_step=until_step, progress=False)
    return acquisition, seed, time.perf_counter() - t0
