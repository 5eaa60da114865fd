"""Fault injection, reproducibility and invariants."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bal_utils import load_run, make_splits, run_active_learning
from bal_utils.results import atomic_write_json

N_KILLS = 12
STEPS = 20


def _cli(out, extra_env=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(extra_env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "bal_utils", "run", "--preset", "smoke", "--steps", str(STEPS), "--acquisition", "bald", "--seed", "3", "--out", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_steps(path, proc, n, timeout=120):
    """Wait until the run file holds more than ``n`` records (or the process ends)."""
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        try:
            if len(json.loads(path.read_text())["history"]) > n:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)


def test_sigkill_at_random_moments_then_resume_equals_uninterrupted(tmp_path):
    """Kill a run with SIGKILL N_KILLS times (half of them inside a checkpoint write), resume each time."""
    ref = _cli(tmp_path / "ref")
    assert ref.wait(timeout=600) == 0, ref.stderr.read()
    reference = load_run(tmp_path / "ref" / "bald-seed3.json")

    out = tmp_path / "killed"
    path = out / "bald-seed3.json"
    rng = np.random.default_rng(0)
    kills = mid_write = 0
    for attempt in range(60):
        done = len(load_run(path)["history"]) if path.exists() else 0
        if done == STEPS + 1:
            break
        in_write = attempt % 2 == 1
        # A 0.4 s pause inside every write: a kill during it hits between write and rename.
        proc = _cli(out, {"BAL_FAULT_WRITE_DELAY": "0.4"} if in_write else None)
        if kills < N_KILLS:
            if in_write:
                end = time.time() + 120
                while time.time() < end and proc.poll() is None and not list(out.glob(".bald-seed3.json.*.tmp")):
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 0.3))
            else:
                _wait_for_steps(path, proc, done)  # once this attempt has finished a step: a random moment of the next
                time.sleep(rng.uniform(0.0, 0.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                mid_write += bool(in_write and list(out.glob(".bald-seed3.json.*.tmp")))
        proc.wait(timeout=600)
        if path.exists():
            load_run(path)  # never half-written: always loads and validates
    assert kills >= 10, f"only {kills} kills landed"
    assert mid_write >= 3, f"only {mid_write} kills hit a checkpoint write"
    final = load_run(path)
    assert final["status"] == "complete"
    assert [h["acquired_indices"] for h in final["history"]] == [h["acquired_indices"] for h in reference["history"]]
    assert [h["test_accuracy"] for h in final["history"]] == [h["test_accuracy"] for h in reference["history"]]
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    print(f"survived {kills} SIGKILLs ({mid_write} during a checkpoint write)")


def test_kill_during_write_leaves_old_file_intact(tmp_path):
    path = tmp_path / "r.json"
    atomic_write_json(path, {"v": 1})
    code = f"import bal_utils.results as r; r.atomic_write_json({str(path)!r}, {{'v': 2, 'pad': 'x' * 100000}})"
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, BAL_FAULT_WRITE_DELAY="30"))
    end = time.time() + 60
    while not list(tmp_path.glob(".r.json.*.tmp")) and time.time() < end:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(path.read_text()) == {"v": 1}


def test_damaged_checkpoint_is_named_with_what_to_do(tmp_path, subset, smoke):
    run_active_learning(smoke, "random", seed=0, out_dir=tmp_path, data=subset, until_step=1, progress=False)
    path = tmp_path / "random-seed0.json"
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ValueError, match=r"random-seed0.json: damaged JSON.*delete it"):
        run_active_learning(smoke, "random", seed=0, out_dir=tmp_path, data=subset, progress=False)
    good = run_active_learning(smoke, "random", seed=1, out_dir=tmp_path, data=subset, until_step=1, progress=False)
    good["history"][0]["n_labelled"] = 999
    (tmp_path / "random-seed1.json").write_text(json.dumps(good))
    with pytest.raises(ValueError, match=r"random-seed1.json: history\[0\] has n_labelled=999; expected 20"):
        run_active_learning(smoke, "random", seed=1, out_dir=tmp_path, data=subset, progress=False)


def test_same_seed_same_run_other_seed_other_run(subset, smoke):
    runs = [run_active_learning(smoke, "max_entropy", seed=s, data=subset, progress=False) for s in (7, 7, 8)]
    acq = [[h["acquired_indices"] for h in r["history"]] for r in runs]
    acc = [[h["test_accuracy"] for h in r["history"]] for r in runs]
    assert acq[0] == acq[1] and acc[0] == acc[1]
    assert acq[0] != acq[2]


def test_test_set_never_influences_acquisition(subset, smoke):
    a = run_active_learning(smoke.replace(n_test=100), "bald", seed=2, data=subset, progress=False)
    b = run_active_learning(smoke.replace(n_test=300), "bald", seed=2, data=subset, progress=False)
    assert [h["acquired_indices"] for h in a["history"]] == [h["acquired_indices"] for h in b["history"]]


def test_index_sets_stay_disjoint_every_step(subset, smoke):
    rec = run_active_learning(smoke.replace(n_steps=3), "variation_ratios", seed=0, data=subset, progress=False)
    s = make_splits(subset, smoke.replace(n_steps=3), 0)
    labelled = set(s.initial.tolist())
    pool = set(s.pool.tolist())
    for h in rec["history"]:
        assert len(labelled) == h["n_labelled"] and len(pool) == h["pool_size"]
        assert not labelled & pool and not (labelled | pool) & set(s.validation.tolist())
        new = set(h["acquired_indices"])
        assert new <= pool and not new & labelled
        labelled |= new
        pool -= new
