import json
import subprocess
import sys

import numpy as np
import pytest

from bal_utils import format_report, load_run, load_runs, make_splits, run_active_learning, summarise
from bal_utils.loop import acquire
from bal_utils.analysis import labels_to_reach
from bal_utils.results import run_filename


@pytest.fixture(scope="module")
def short(smoke):
    return smoke.replace(n_steps=4, epochs=1, acquire_per_step=5)


def _acquired(record):
    return [h["acquired_indices"] for h in record["history"]]


def test_pool_shrinks_by_k_and_nothing_is_acquired_twice(subset, short):
    rec = run_active_learning(short, "bald", seed=0, data=subset, progress=False)
    hist = rec["history"]
    assert len(hist) == short.n_steps + 1 and rec["status"] == "complete"
    assert [h["pool_size"] for h in hist] == [short.n_pool - i * short.acquire_per_step for i in range(len(hist))]
    assert [h["n_labelled"] for h in hist] == [20 + 5 * i for i in range(len(hist))]
    flat = [i for a in _acquired(rec) for i in a]
    assert len(flat) == len(set(flat)) == short.n_steps * short.acquire_per_step
    splits = make_splits(subset, short, 0)
    assert set(flat) <= set(splits.pool.tolist())
    assert hist[-1]["acquired_indices"] == []
    assert all(subset.y_train[a].tolist() == h["acquired_labels"] for a, h in zip(_acquired(rec), hist))


def test_acquire_scores_subset_and_excludes_labelled(subset, smoke, trained_model):
    pool = np.arange(100, 400)
    chosen, scores, cand = acquire(trained_model, subset.x_train, pool, smoke, "max_entropy", 0, 0)
    assert len(cand) == smoke.pool_subset and set(cand) <= set(pool) and len(scores) == len(cand)
    assert set(chosen) <= set(cand) and len(chosen) == smoke.acquire_per_step
    assert np.all(scores[np.isin(cand, chosen)].min() >= np.delete(scores, np.flatnonzero(np.isin(cand, chosen))).max())


def test_resume_equals_uninterrupted(tmp_path, subset, short):
    full = run_active_learning(short, "max_entropy", seed=1, out_dir=tmp_path / "a", data=subset, progress=False)
    part = run_active_learning(short, "max_entropy", seed=1, out_dir=tmp_path / "b", data=subset, until_step=2, progress=False)
    assert len(part["history"]) == 2 and part["status"] == "running"
    resumed = run_active_learning(short, "max_entropy", seed=1, out_dir=tmp_path / "b", data=subset, progress=False)
    assert _acquired(resumed) == _acquired(full)
    assert [h["test_accuracy"] for h in resumed["history"]] == [h["test_accuracy"] for h in full["history"]]
    on_disk = load_run(tmp_path / "b" / run_filename("max_entropy", 1))
    assert on_disk["status"] == "complete" and _acquired(on_disk) == _acquired(full)
    assert [r["at_step"] for r in on_disk["provenance"]["resumes"]] == [2]
    assert "resumes" not in full["provenance"]


def test_resume_with_other_config_is_refused(tmp_path, subset, short):
    run_active_learning(short, "random", seed=0, out_dir=tmp_path, data=subset, until_step=1, progress=False)
    with pytest.raises(ValueError, match="different config.*epochs"):
        run_active_learning(short.replace(epochs=2), "random", seed=0, out_dir=tmp_path, data=subset, progress=False)



def test_resume_ignores_fields_that_cannot_change_the_run(tmp_path, subset, short):
    """The copies' noise matters only on a pool with copies: a file from before its default changed resumes."""
    run_active_learning(short, "random", seed=0, out_dir=tmp_path, data=subset, until_step=1, progress=False)
    resumed = run_active_learning(short.replace(repeat_noise_std=0.1), "random", seed=0, out_dir=tmp_path, data=subset,
                                  progress=False)
    assert resumed["status"] == "complete" and len(resumed["history"]) == short.n_steps + 1
    repeated = short.replace(pool_repeats=2)
    run_active_learning(repeated, "random", seed=1, out_dir=tmp_path, data=subset, until_step=1, progress=False)
    with pytest.raises(ValueError, match=r"different config.*repeat_noise_std"):
        run_active_learning(repeated.replace(repeat_noise_std=0.1), "random", seed=1, out_dir=tmp_path, data=subset,
                            progress=False)


    with pytest.raises(ValueError, match="known: "):
        run_active_learning(short, "bold", data=subset)
    with pytest.raises(ValueError, match="seed=-1"):
        run_active_learning(short, "bald", seed=-1, data=subset)


def test_cli_run_and_report_end_to_end(tmp_path):
    out = tmp_path / "res"
    for acq in ("bald", "random"):
        res = subprocess.run(
            [sys.executable, "-m", "bal_utils", "run", "--preset", "smoke", "--acquisition", acq, "--seed", "0", "--out", str(out)],
            capture_output=True, text=True, timeout=300,
        )
        assert res.returncode == 0, res.stderr
        assert "complete, 3 steps" in res.stdout
    rec = json.loads((out / "bald-seed0.json").read_text())
    assert rec["provenance"]["machine"]["backend"] and len(rec["history"]) == 3
    rep = subprocess.run([sys.executable, "-m", "bal_utils", "report", str(out), "--errors", "0.95,0.5"], capture_output=True, text=True)
    assert rep.returncode == 0 and "BALD" in rep.stdout and "Random" in rep.stdout and "labels to 95% error" in rep.stdout
    bad = subprocess.run([sys.executable, "-m", "bal_utils", "run", "--preset", "smoke", "--acquisition", "nope", "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr and "(choose from 'bald'" in bad.stderr


def _fake_run(acq, seed, errors, k=10):
    from bal_utils import get_preset

    cfg = get_preset("paper", n_steps=len(errors) - 1)
    hist = [
        {"step": i, "n_labelled": 20 + k * i, "pool_size": 100 - k * i, "test_accuracy": 1 - e, "test_error": e,
         "acquired_indices": list(range(k * i, k * i + k)) if i < len(errors) - 1 else [], "acquired_labels": [], "seconds": {}}
        for i, e in enumerate(errors)
    ]
    return {"schema": "bal_utils.run/1", "status": "complete", "acquisition": acq, "seed": seed, "config": cfg.to_dict(), "history": hist}


def test_labels_to_reach_and_summary():
    a = _fake_run("bald", 0, [0.5, 0.2, 0.09, 0.04])
    b = _fake_run("bald", 1, [0.5, 0.08, 0.06, 0.05])
    c = _fake_run("random", 0, [0.5, 0.3, 0.2, 0.11])
    assert labels_to_reach(a, 0.10) == 40 and labels_to_reach(b, 0.05) == 50 and labels_to_reach(c, 0.10) is None
    table = summarise([a, b, c])
    assert table["bald"]["reach"][0.10]["mean"] == 35 and table["bald"]["reach"][0.05]["per_seed"] == [50, 50]
    assert table["random"]["reach"][0.10]["reached"] == 0
    assert table["bald"]["final_error_mean"] == pytest.approx(0.045)
    text = format_report([a, b, c])
    assert "35 ± 7" in text and "not reached (0/1)" in text  # 30 and 40: sample SD 7.07
    assert text.splitlines()[-1] == "3 of 3 runs complete; config paper; commits not recorded; machines: not recorded"
    a["provenance"] = {"git_commit": "0123456789ab", "git_dirty": False, "machine": {"cpu_model": "CPU X", "cpu_count": 2, "keras": "3.1", "backend": "jax"},
                       "resumes": [{"git_commit": "fedcba987654", "git_dirty": True, "machine": {"cpu_model": "CPU X", "cpu_count": 2, "keras": "3.1", "backend": "jax"}}]}
    assert format_report([a, b, c]).splitlines()[-1] == (
        "3 of 3 runs complete; config paper; commits 01234567, fedcba98 (some with uncommitted changes); machines: CPU X, 2 cores, keras 3.1 on jax")


def test_report_keeps_configurations_apart():
    a = _fake_run("bald", 0, [0.5, 0.2, 0.09])
    b = _fake_run("bald", 0, [0.5, 0.08, 0.04])
    b["config"]["name"] = "study-warm-start"
    text = format_report([a, b])
    assert text.startswith("== paper (1 run)\n") and "\n\n== study-warm-start (1 run)\n" in text
    assert "40 (n = 1)" in text and "30 (n = 1)" in text  # each seed in its own table, not 35 ± 7
    assert text.count("config paper;") == 1 and text.count("config study-warm-start;") == 1


def test_load_runs_and_damaged_file(tmp_path):
    good = _fake_run("bald", 0, [0.5, 0.2])
    (tmp_path / "bald-seed0.json").write_text(json.dumps(good))
    assert [r["seed"] for r in load_runs(tmp_path)] == [0]
    (tmp_path / "x-seed1.json").write_text(json.dumps(good)[:-20])
    with pytest.raises(ValueError, match="x-seed1.json: damaged JSON"):
        load_runs(tmp_path)


def test_git_commit_named_by_the_environment_wins(monkeypatch):
    """A copy of a checkout sent to another machine records the commit it was made from."""
    from bal_utils.provenance import git_commit

    monkeypatch.setenv("BAL_GIT_COMMIT", "65168115531b27ee9b9d0f4c938cc80c0f4554a5")
    assert git_commit() == ("65168115531b27ee9b9d0f4c938cc80c0f4554a5", False)
    monkeypatch.setenv("BAL_GIT_COMMIT", "0123abcd+dirty")
    assert git_commit() == ("0123abcd", True)
