import numpy as np
import pytest

from bal_utils import load_mnist, make_splits
from bal_utils.data import load_npz, subset_path


def test_subset_is_real_stratified_and_small(subset):
    assert subset_path().stat().st_size <= 2 * 1024 * 1024
    assert subset.x_train.shape == (5000, 28, 28) and subset.x_train.dtype == np.uint8
    assert np.bincount(subset.y_train).tolist() == [500] * 10
    assert np.bincount(subset.y_test).tolist() == [100] * 10
    assert subset.sha256 and len(subset.sha256) == 64


def test_local_file_via_argument_and_env(tmp_path, monkeypatch, subset):
    path = tmp_path / "m.npz"
    np.savez(path, x_train=subset.x_train[:50], y_train=subset.y_train[:50], x_test=subset.x_test[:20], y_test=subset.y_test[:20])
    assert load_mnist("mnist", path).x_train.shape == (50, 28, 28)
    monkeypatch.setenv("BAL_MNIST", str(path))
    assert load_mnist("mnist").source == str(path)


def _write(path, **arrays):
    base = dict(x_train=np.zeros((10, 28, 28), np.uint8), y_train=np.arange(10), x_test=np.zeros((4, 28, 28), np.uint8), y_test=np.arange(4))
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return path


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(y_test=None), "missing key"),
        (dict(x_train=np.zeros((10, 28, 27), np.uint8)), r"x_train has shape \(10, 28, 27\)"),
        (dict(x_train=np.zeros((10, 28, 28), np.float32)), "x_train has dtype float32"),
        (dict(y_train=np.arange(10) + 1), r"labels in \[1, 10\]"),
        (dict(y_train=np.arange(9)), "has 10 images but y_train has 9"),
        (dict(y_test=np.array(["a", "b", "c", "d"])), "y_test has dtype"),
    ],
)
def test_bad_files_name_file_and_problem(tmp_path, change, match):
    path = _write(tmp_path / "bad.npz", **change)
    with pytest.raises(ValueError, match=match) as err:
        load_npz(path)
    assert str(path) in str(err.value)


def test_pickled_and_garbage_files_refused(tmp_path):
    obj = tmp_path / "obj.npz"
    np.savez(obj, x_train=np.array([{"a": 1}], dtype=object), y_train=np.arange(1), x_test=np.arange(1), y_test=np.arange(1))
    with pytest.raises(ValueError, match="pickle"):
        load_npz(obj)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load_npz(junk)
    with pytest.raises(ValueError, match="no such file"):
        load_npz(tmp_path / "missing.npz")


def test_splits_disjoint_balanced_and_seeded(subset, smoke):
    s = make_splits(subset, smoke, seed=0)
    parts = [s.initial, s.validation, s.pool]
    assert sum(map(len, parts)) == len(np.unique(np.concatenate(parts)))
    assert np.bincount(subset.y_train[s.initial], minlength=10).tolist() == [2] * 10
    assert (len(s.validation), len(s.pool), len(s.test)) == (smoke.n_validation, smoke.n_pool, smoke.n_test)
    again, other = make_splits(subset, smoke, 0), make_splits(subset, smoke, 1)
    assert np.array_equal(again.pool, s.pool) and not np.array_equal(other.initial, s.initial)


def test_paper_split_sizes(subset):
    from bal_utils import get_preset

    cfg = get_preset("paper", dataset="mnist-subset")
    s = make_splits(subset, cfg, 0)
    assert len(s.pool) == 5000 - 20 - 100 and len(s.test) == 1000
