import pytest

from bal_utils import load_runs, run_active_learning, run_grid
from bal_utils.grid import grid_jobs


def test_jobs_are_seed_major(smoke):
    cfg = smoke.replace(seeds=(0, 1))
    assert grid_jobs(cfg) == [("bald", 0), ("random", 0), ("bald", 1), ("random", 1)]


def test_grid_in_process_skips_finished_and_resumes_partial(tmp_path, smoke, subset):
    # a partial run already on disk
    run_active_learning(smoke, "random", seed=0, out_dir=tmp_path, data=subset, until_step=1, progress=False)
    done = run_grid(smoke, tmp_path, workers=0, progress=False)
    assert sorted((a, s) for a, s, _ in done) == [("bald", 0), ("random", 0)]
    runs = load_runs(tmp_path)
    assert [r["status"] for r in runs] == ["complete", "complete"]
    assert run_grid(smoke, tmp_path, workers=0, progress=False) == []  # nothing left to do


def test_grid_in_worker_processes(tmp_path, smoke):
    seen = []
    done = run_grid(smoke.replace(acquisitions=("max_entropy",)), tmp_path, workers=1, threads_per_worker=1, progress=False, on_run_done=seen.append)
    assert [(a, s) for a, s, _ in done] == [("max_entropy", 0)]
    assert [p.name for p in seen] == ["max_entropy-seed0.json"]
    assert load_runs(tmp_path)[0]["status"] == "complete"


@pytest.mark.parametrize("kwargs, match", [({"workers": -1}, "workers=-1"), ({"threads_per_worker": 1.5}, "threads_per_worker=1.5")])
def test_grid_bad_arguments(tmp_path, smoke, kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_grid(smoke, tmp_path, **kwargs)
