"""Deep ensembles as the posterior, and target classes (the EPIG paper's redundant MNIST)."""

import numpy as np
import pytest

from bal_utils import Config, get_preset, load_runs, make_splits, run_active_learning


def test_the_new_fields_are_validated_in_one_line():
    with pytest.raises(ValueError, match=r"posterior='laplace' is not allowed: expected one of \['mc_dropout', 'ensemble'\]"):
        get_preset("smoke", posterior="laplace")
    with pytest.raises(ValueError, match="ensemble_size=1 is not allowed"):
        get_preset("smoke", posterior="ensemble", ensemble_size=1)
    with pytest.raises(ValueError, match="scoring='deterministic' is not allowed with posterior='ensemble'"):
        get_preset("smoke", posterior="ensemble", scoring="deterministic", acquisitions=("bald",))
    with pytest.raises(ValueError, match="target_classes=10 is not allowed"):
        get_preset("smoke", target_classes=(1, 10))
    with pytest.raises(ValueError, match=r"target_classes=\(7, 1\) is not allowed: expected distinct classes in increasing order"):
        get_preset("smoke", target_classes=(7, 1))
    assert Config.parse_field("target_classes", "1,7") == (1, 7)
    cfg = get_preset("smoke", target_classes=(1, 7), posterior="ensemble", ensemble_size=3)
    assert Config.from_dict(cfg.to_dict()) == cfg and cfg.to_dict()["target_classes"] == [1, 7]


def test_target_classes_keep_the_pool_whole_and_the_test_set_to_those_classes(subset):
    cfg = get_preset("smoke", target_classes=(1, 7))
    splits, plain = make_splits(subset, cfg, 0), make_splits(subset, get_preset("smoke"), 0)
    assert set(np.unique(subset.y_test[splits.test])) == {1, 7}
    assert len(splits.test) == cfg.n_test
    np.testing.assert_array_equal(splits.pool, plain.pool)  # every class stays in the pool
    np.testing.assert_array_equal(splits.initial, plain.initial)


def test_epig_targets_come_from_the_target_classes(subset):
    from bal_utils.loop import acquire

    class Recorder:  # a stand-in model: records what it is asked to score
        def mc_predict(self, x, mc_samples, seed=None, masks=None):
            self.x = x
            return np.random.default_rng(0).dirichlet(np.ones(10), size=(4, len(x))).astype(np.float32)

    cfg = get_preset("smoke", target_classes=(1, 7), n_targets=15, pool_subset=40)
    x = np.zeros((len(subset.y_train), 28, 28), np.uint8)
    x[:, 0, 0] = subset.y_train  # each image carries its label in one pixel
    model, pool = Recorder(), make_splits(subset, cfg, 0).pool
    acquire(model, x, pool, cfg, "epig", 0, 0, y_train=subset.y_train)
    labels = np.rint(model.x[:, 0, 0, 0] * 255).astype(int)
    assert len(labels) == 40 + 15 and set(labels[40:]) <= {1, 7} and len(set(labels[:40])) > 2
    with pytest.raises(ValueError, match="y_train is needed"):
        acquire(model, x, pool, cfg, "epig", 0, 0)


def test_an_ensemble_predicts_its_members_and_their_mean(subset):
    from bal_utils import to_model_input
    from bal_utils.model import Ensemble, build_model

    cfg = get_preset("smoke", posterior="ensemble", ensemble_size=3, epochs=2)
    model = build_model(cfg)
    assert isinstance(model, Ensemble) and len(model.members) == 3
    x, y = to_model_input(subset.x_train[:60]), subset.y_train[:60]
    model.reset(5)
    model.fit(x, y, cfg.epochs, cfg.batch_size, 5)
    probs = model.mc_predict(to_model_input(subset.x_test[:30]), cfg.mc_samples)
    assert probs.shape == (3, 30, 10)
    assert np.abs(probs[0] - probs[1]).max() > 1e-3  # members start from different weights
    np.testing.assert_allclose(model.predict(to_model_input(subset.x_test[:30])), probs.mean(0), atol=1e-6)


def test_ensemble_runs_in_the_loop_and_in_lockstep(subset, tmp_path):
    from bal_utils.lockstep import run_lockstep

    cfg = get_preset("smoke", posterior="ensemble", ensemble_size=2, acquisitions=("bald", "random"), target_classes=(1, 7))
    record = run_active_learning(cfg, "bald", seed=0, data=subset, progress=False)
    assert record["status"] == "complete" and record["config"]["posterior"] == "ensemble"
    run_lockstep(cfg, tmp_path, data=subset, progress=False)
    runs = load_runs(tmp_path)
    assert {(r["acquisition"], r["status"]) for r in runs} == {("bald", "complete"), ("random", "complete")}
    assert all(0.0 <= h["test_accuracy"] <= 1.0 for r in runs for h in r["history"])


def test_rare_classes_thin_the_pool_and_nothing_else(subset):
    cfg = get_preset("smoke", rare_classes=(3, 8), rare_fraction=0.2)
    plain, rare = make_splits(subset, get_preset("smoke"), 0), make_splits(subset, cfg, 0)
    y = subset.y_train
    assert set(rare.pool) <= set(plain.pool)
    for c in range(10):
        before, after = np.sum(y[plain.pool] == c), np.sum(y[rare.pool] == c)
        if c in (3, 8):
            assert 0 < after < 0.4 * before  # about a fifth stays
        else:
            assert after == before
    np.testing.assert_array_equal(rare.initial, plain.initial)  # balanced initial and test sets
    np.testing.assert_array_equal(rare.test, plain.test)
    with pytest.raises(ValueError, match="rare_fraction=0 is not allowed"):
        get_preset("smoke", rare_classes=(3,), rare_fraction=0)
    with pytest.raises(ValueError, match=r"rare_classes=\(8, 3\) is not allowed"):
        get_preset("smoke", rare_classes=(8, 3))
    assert Config.parse_field("rare_classes", "3,8") == (3, 8)
