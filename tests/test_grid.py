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
    done = run_grid(smoke.replace(acquisitions=("max_entropy",)), tmp_path, workers=1, threads_per_worker=1, progress=False,
                    on_run_done=seen.append, chunk=1)  # a piece per step
    assert [(a, s) for a, s, _ in done] == [("max_entropy", 0)]
    assert [p.name for p in seen] == ["max_entropy-seed0.json"]
    assert load_runs(tmp_path)[0]["status"] == "complete"


def test_grid_in_chunks_advances_the_runs_together(tmp_path, smoke, monkeypatch):
    import bal_utils.grid as grid

    pieces, run_one = [], grid.run_one

    def record(config_dict, acq, seed, out_dir, data_path, until_step=None):
        pieces.append((acq, until_step))
        return run_one(config_dict, acq, seed, out_dir, data_path, until_step)

    monkeypatch.setattr(grid, "run_one", record)
    cfg = smoke.replace(n_steps=3)
    seen = []
    chunked, whole = tmp_path / "chunked", tmp_path / "whole"
    done = run_grid(cfg, chunked, workers=0, progress=False, chunk=2, on_run_done=seen.append)
    # records 0-1 of each run, then 2-3: the runs advance together, least advanced first
    assert pieces == [("bald", 2), ("random", 2), ("bald", 4), ("random", 4)]
    assert sorted(a for a, _, _ in done) == ["bald", "random"] and all(s > 0 for _, _, s in done)
    assert sorted(p.name for p in seen) == ["bald-seed0.json", "random-seed0.json"]  # once each, when complete
    assert [len(r["history"]) for r in load_runs(chunked)] == [4, 4]
    run_grid(cfg, whole, workers=0, progress=False)  # the same records as whole runs
    for a, b in zip(load_runs(chunked), load_runs(whole), strict=True):
        assert [h["acquired_indices"] for h in a["history"]] == [h["acquired_indices"] for h in b["history"]]


@pytest.mark.parametrize("kwargs, match", [({"workers": -1}, "workers=-1"), ({"threads_per_worker": 1.5}, "threads_per_worker=1.5"),
                                           ({"chunk": 0}, "chunk=0"), ({"chunk": 2, "executor": "dask"}, "local executor")])
def test_grid_bad_arguments(tmp_path, smoke, kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_grid(smoke, tmp_path, **kwargs)


def test_grid_in_chunks_refuses_warm_start(tmp_path, smoke):
    with pytest.raises(ValueError, match="warm_start"):
        run_grid(smoke.replace(warm_start=True), tmp_path, chunk=2)
