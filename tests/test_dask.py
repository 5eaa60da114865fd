"""The grid on Dask: the same files as the local executor, a killed worker, bad addresses, no Dask."""

import json
import os
import signal
import socket
import sys
import threading
import time

import pytest

from bal_utils import load_run, load_runs, run_grid
from bal_utils.cli import main
from bal_utils.grid import DASK_MISSING, DaskNotInstalledError

try:  # requirements.txt installs it (the package's [dask] extra)
    import distributed

    from bal_utils import _dask
except ImportError:
    distributed = _dask = None

needs_dask = pytest.mark.skipif(distributed is None, reason="needs dask[distributed]: pip install 'bal_utils[dask]'")


def _histories(directory):
    """Per run: every step's labelled count, test error and acquired indices (not its timings)."""
    return {
        (r["acquisition"], r["seed"]): [(h["step"], h["n_labelled"], h["test_error"], h["acquired_indices"], h["acquired_labels"]) for h in r["history"]]
        for r in load_runs(directory)
    }


def _error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _closed_port():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, smoke):
    """The smoke grid under the local executor: 2 worker processes of 1 thread."""
    out = tmp_path_factory.mktemp("local")
    run_grid(smoke, out, workers=2, threads_per_worker=1, progress=False)
    return out


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-thread worker processes, as a caller of run_grid would bring."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as c:
            yield c
            c.run(_dask.exit_without_finalizing)


@needs_dask
def test_dask_executor_gives_the_local_executors_files(tmp_path, smoke, reference, client, capsys):
    """The CLI on a running cluster (by address): the same histories as the local executor, the dashboard printed once."""
    out = tmp_path / "dask"
    assert main(["grid", "--preset", "smoke", "--out", str(out), "--executor", "dask", "--scheduler", client.scheduler.address]) == 0
    stdout = capsys.readouterr().out
    assert stdout.count("dashboard: http://") == 1, stdout
    assert f"Dask scheduler {client.scheduler.address}, 2 workers" in stdout
    assert "bald seed 0:" in stdout and "random seed 0:" in stdout
    assert [r["status"] for r in load_runs(out)] == ["complete", "complete"]
    assert _histories(out) == _histories(reference)
    assert client.status == "running" and len(client.nthreads()) == 2  # a cluster given by address is left running
    # finished runs are skipped without a cluster (the address below does not answer)
    assert run_grid(smoke, out, executor="dask", scheduler=f"tcp://127.0.0.1:{_closed_port()}", progress=False) == []


@needs_dask
def test_own_local_cluster_is_sized_like_workers_x_threads_and_closed(tmp_path, reference, monkeypatch, capsys):
    """No address: a LocalCluster of --workers processes, one task each, TensorFlow pinned to --threads; closed at the end.

    The runs are stand-ins that copy the reference files (the real runs are tested above),
    so that this test costs a cluster's start-up only.
    """
    ref = str(reference)

    def copy_run(config_dict, acquisition, seed, out_dir, data_path, threads):
        import json
        import os
        import shutil

        import distributed

        name = f"{acquisition}-seed{seed}.json"
        shutil.copy(os.path.join(ref, name), os.path.join(out_dir, name))
        worker = distributed.get_worker()
        with open(os.path.join(out_dir, f"{name}.worker.txt"), "w") as fh:
            json.dump({"pid": os.getpid(), "nthreads": worker.state.nthreads, "tf_threads": os.environ.get("TF_NUM_INTRAOP_THREADS")}, fh)
        return acquisition, seed, 0.0

    monkeypatch.setattr(_dask, "run_task", copy_run)
    assert main(["grid", "--preset", "smoke", "--out", str(tmp_path), "--executor", "dask", "--workers", "2", "--threads", "2"]) == 0
    assert capsys.readouterr().out.count("dashboard: http://") == 1
    workers = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.worker.txt"))]
    assert len(workers) == 2 and all(w["nthreads"] == 1 and w["tf_threads"] == "2" and w["pid"] != os.getpid() for w in workers), workers
    assert _histories(tmp_path) == _histories(reference)
    for w in workers:  # the cluster is closed: its worker processes are gone
        with pytest.raises(ProcessLookupError):
            os.kill(w["pid"], 0)


@needs_dask
def test_killed_worker_resumes_and_ends_with_an_uninterrupted_runs_history(tmp_path, smoke, client, reference):
    """SIGKILL the worker running BALD after its first step: Dask reschedules the run and it resumes from its file."""
    client.run(lambda: os.environ.update(BAL_FAULT_WRITE_DELAY="0.5"))  # every checkpoint write takes 0.5 s more: the kill lands mid-run
    outcome = {}

    def grid():
        try:
            outcome["done"] = run_grid(smoke, tmp_path, executor="dask", scheduler=client, progress=False)
        except BaseException as err:  # reported by the assertion below
            outcome["error"] = err

    thread = threading.Thread(target=grid)
    thread.start()
    path = tmp_path / "bald-seed0.json"
    deadline = time.time() + 300
    while time.time() < deadline and thread.is_alive():
        try:
            if len(load_run(path)["history"]) >= 1:
                break
        except (ValueError, FileNotFoundError):
            pass
        time.sleep(0.02)
    running = {addr: keys for addr, keys in client.processing().items() if any(str(k).startswith("bald-seed0-") for k in keys)}
    assert len(running) == 1, client.processing()
    addr = next(iter(running))
    pid = client.run(os.getpid, workers=[addr])[addr]
    steps_at_kill = len(load_run(path)["history"])
    assert steps_at_kill < smoke.n_steps + 1, "the run ended before the kill"
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive() and "error" not in outcome, outcome
    client.run(lambda: os.environ.pop("BAL_FAULT_WRITE_DELAY", None))

    assert sorted((a, s) for a, s, _ in outcome["done"]) == [("bald", 0), ("random", 0)]
    assert [r["status"] for r in load_runs(tmp_path)] == ["complete", "complete"]
    assert _histories(tmp_path) == _histories(reference)
    resumes = load_run(path)["provenance"].get("resumes", [])
    assert len(resumes) == 1 and resumes[0]["at_step"] >= steps_at_kill  # resumed from its file, not from scratch
    assert not list(tmp_path.glob(".*.tmp"))

    # thread pinning reached every worker, the restarted one included (the plugin runs on workers that join later)
    client.wait_for_workers(2, timeout=120)
    infos = client.run(_dask.worker_threads)
    assert all(info["TF_NUM_INTRAOP_THREADS"] == info["TF_NUM_INTEROP_THREADS"] == info["OMP_NUM_THREADS"] == "1" for info in infos.values()), infos
    ran = [info for info in infos.values() if info["pinned"] is not None]
    assert ran and all(info["intra_op"] == info["inter_op"] == 1 for info in ran), infos


@needs_dask
def test_bad_scheduler_address_is_one_line(tmp_path, smoke, capsys):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    t = time.perf_counter()
    assert main(["grid", "--preset", "smoke", "--out", str(tmp_path), "--executor", "dask", "--scheduler", address, "--connect-timeout", "1"]) == 2
    line = _error_line(capsys)
    assert line.startswith(f"error: scheduler {address}: cannot connect to a Dask scheduler (") and "dask scheduler" in line, line
    assert time.perf_counter() - t < 30
    with pytest.raises(ValueError, match="unknown address scheme 'foo'"):
        run_grid(smoke, tmp_path, executor="dask", scheduler="foo://somewhere:8786", connect_timeout=1, progress=False)


def test_dask_not_installed_is_one_line(tmp_path, smoke, reference, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import dask.distributed now raises ImportError
    assert main(["grid", "--preset", "smoke", "--out", str(tmp_path), "--executor", "dask"]) == 2
    assert _error_line(capsys) == f"error: {DASK_MISSING}"
    assert "pip install 'bal_utils[dask]'" in DASK_MISSING
    with pytest.raises(ImportError, match="pip install 'bal_utils\\[dask\\]'") as err:
        run_grid(smoke, tmp_path, executor="dask", progress=False)
    assert isinstance(err.value, DaskNotInstalledError)
    assert run_grid(smoke, reference, progress=False) == []  # the local executor needs no Dask


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"executor": "spark"}, "executor='spark' is not allowed"),
        ({"scheduler": "tcp://127.0.0.1:8786"}, "scheduler= is for executor='dask'"),
        ({"executor": "dask", "workers": 0}, "workers=0 runs in this process"),
        ({"executor": "dask", "retries": -1}, "retries=-1 is not allowed"),
        pytest.param({"executor": "dask", "scheduler": 8786}, "scheduler=8786 is not allowed", marks=needs_dask),
    ],
)
def test_bad_dask_arguments(tmp_path, smoke, kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_grid(smoke, tmp_path, progress=False, **kwargs)


def test_cli_dask_options_need_the_dask_executor(tmp_path, capsys):
    assert main(["grid", "--preset", "smoke", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert _error_line(capsys) == "error: --scheduler is for --executor dask"
    assert main(["grid", "--preset", "smoke", "--out", str(tmp_path), "--executor", "dask", "--connect-timeout", "0"]) == 2
    assert _error_line(capsys) == "error: --connect-timeout 0.0: expected a number of seconds > 0"
