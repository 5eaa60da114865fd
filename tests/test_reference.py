"""The published references (authors' curves, paper tables) and the grids shipped inside the package."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from bal_utils import analysis, reference
from bal_utils.packed import load_grid, pack_grid, packed_grids
from bal_utils.results import load_runs

ROOT = Path(__file__).resolve().parents[1]


def test_authors_curves_give_the_documented_counts():
    curves = reference.authors_curves()
    n, err = curves["bald"]
    assert len(n) == 99 and n[0] == 20 and n[-1] == 1000
    # the README of the shipped copy: BALD 320 / 500 labels to 10% / 5% error, so 300 / 480 acquired
    assert analysis.acquired_to_reach(n, err, 0.10) == 300
    assert analysis.acquired_to_reach(n, err, 0.05) == 480
    assert err[n == 130][0] > 0.6  # Keras' 128 + 2 remainder batch
    assert set(reference.authors_curves("dropout_all_layers")) == {"bald", "max_entropy", "variation_ratios", "mean_std"}
    with pytest.raises(ValueError, match="kind='nope'"):
        reference.authors_curves("nope")


def test_acquired_to_reach_and_mean_curves():
    assert analysis.acquired_to_reach([20, 30, 40], [0.5, 0.09, 0.2], 0.10) == 10
    assert analysis.acquired_to_reach([20, 30], [0.5, 0.4], 0.10) is None
    # errors stored as 1 - accuracy (1 - 0.95 is 0.050000000000000044), or their mean over seeds, reach the level they equal
    tied = np.mean([1 - 0.9641, 1 - 0.9535, 1 - 0.9324])
    assert tied > 0.05 and analysis.acquired_to_reach([20, 30], [0.5, 1 - 0.95], 0.05) == 10
    assert analysis.acquired_to_reach([20, 30, 40], [0.5, tied, 0.04], 0.05) == 10
    assert analysis.acquired_to_reach([20, 30], [0.5, 0.0501], 0.05) is None
    from bal_utils.analysis import labels_to_reach  # the report's per-seed count, the same rule
    record = {"history": [{"n_labelled": 20, "test_error": 0.5}, {"n_labelled": 30, "test_error": 1 - 0.95}]}
    assert labels_to_reach(record, 0.05) == 30 and labels_to_reach(record, 0.04) is None
    runs = [
        {"acquisition": "bald", "seed": s, "history": [{"n_labelled": 20 + 10 * i, "test_error": e} for i, e in enumerate(errs)]}
        for s, errs in enumerate([[0.5, 0.3, 0.1], [0.7, 0.5]])
    ]
    n, mean, std, k = analysis.mean_curves(runs)["bald"]
    assert list(n) == [20, 30] and np.allclose(mean, [0.6, 0.4]) and np.allclose(std, [0.1 * np.sqrt(2), 0.1 * np.sqrt(2)]) and k == 2


def test_shipped_grids_hold_the_committed_results():
    """A shipped complete run equals its file in results/; a shipped partial run is its start.

    (A grid running in the background only extends a partial file, so this holds while it runs.)
    """
    assert "paper" in packed_grids()
    folder = ROOT / "bal_utils" / "resources" / "grids"
    for name in packed_grids():
        shipped = json.loads(gzip.decompress((folder / f"{name}.json.gz").read_bytes()))
        for run in shipped:
            path = ROOT / "results" / name / run["_path"]
            assert path.is_file(), path
            committed = json.loads(path.read_text())
            if run["status"] == "complete":
                assert {k: v for k, v in run.items() if k != "_path"} == committed, path
            else:
                assert run["status"] == "running", path
                assert (run["acquisition"], run["seed"], run["config"]) == (committed["acquisition"], committed["seed"], committed["config"]), path
                assert committed["history"][: len(run["history"])] == run["history"], path


def test_load_grid_prefers_results_and_falls_back_to_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no results/ here: the shipped copy
    shipped = load_grid("paper")
    assert len(shipped) == 15 and shipped[0]["_source"].endswith("paper.json.gz")
    local = load_grid("paper", ROOT / "results" / "paper")
    assert [r["history"] for r in shipped] == [r["history"] for r in local]
    with pytest.raises(ValueError, match="grid 'nope'.*shipped: "):
        load_grid("nope")


def test_pack_grid_is_byte_stable(tmp_path):
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    assert pack_grid(ROOT / "results" / "cold-start-150-epochs", a) == 6
    pack_grid(ROOT / "results" / "cold-start-150-epochs", b)
    assert a.read_bytes() == b.read_bytes()
    assert len(load_runs(ROOT / "results" / "cold-start-150-epochs")) == 6


def test_pack_grid_ships_partial_runs_as_a_checkout_reads_them(tmp_path, smoke):
    from bal_utils import run_active_learning

    grid = tmp_path / "grid"
    run_active_learning(smoke, "random", seed=0, out_dir=grid, progress=False)
    run_active_learning(smoke.replace(n_steps=1), "bald", seed=0, out_dir=grid, progress=False)
    partial = json.loads((grid / "bald-seed0.json").read_text())
    partial["status"] = "running"  # as a grid interrupted after its first step leaves it
    (grid / "bald-seed0.json").write_text(json.dumps(partial))
    assert pack_grid(grid, tmp_path / "g.json.gz") == 2
    shipped = json.loads(gzip.decompress((tmp_path / "g.json.gz").read_bytes()))
    assert sorted(r["status"] for r in shipped) == ["complete", "running"]
    assert [r["history"] for r in sorted(shipped, key=lambda r: r["acquisition"])] == [r["history"] for r in load_runs(grid)]


def test_seed_sd_is_the_sample_standard_deviation():
    from bal_utils.analysis import seed_sd

    assert seed_sd([1.0, 3.0]) == pytest.approx(np.sqrt(2))  # divides by n - 1
    assert seed_sd([[0.5, 0.2]]).tolist() == [0.0, 0.0]  # one seed: no spread
