import numpy as np
import pytest

from bal_utils import (
    ACQUISITIONS,
    bald,
    expected_entropy,
    get_acquisition,
    max_entropy,
    mean_std,
    predictive_entropy,
    random_scores,
    select_top_k,
    variation_ratios,
    variation_ratios_mean,
)
from conftest import one_hot

C = 10


def disagreeing(t=C):
    """T confident samples, each sure of a different class: the model disagrees with itself."""
    return np.stack([one_hot([i % C]) for i in range(t)])  # (T, 1, C)


def agreeing(t=20, label=3):
    return np.stack([one_hot([label], eps=0.3) for _ in range(t)])


def test_confident_disagreeing_samples_give_max_entropy_and_bald():
    p = disagreeing()
    assert predictive_entropy(p)[0] == pytest.approx(np.log(C))
    assert expected_entropy(p)[0] == pytest.approx(0.0, abs=1e-12)
    assert bald(p)[0] == pytest.approx(np.log(C))
    assert variation_ratios(p)[0] == pytest.approx(1 - 1 / C)
    assert variation_ratios_mean(p)[0] == pytest.approx(1 - 1 / C)


def test_near_confident_disagreement_gives_bald_near_log_c():
    p = np.stack([one_hot([i % C], eps=1e-3) for i in range(100)])
    assert bald(p)[0] == pytest.approx(np.log(C), abs=0.02)


def test_identical_samples_give_zero_bald_and_zero_mean_std():
    p = agreeing()
    assert bald(p)[0] == pytest.approx(0.0, abs=1e-12)
    assert mean_std(p)[0] == pytest.approx(0.0, abs=1e-12)
    assert variation_ratios(p)[0] == 0.0
    # but the entropy of an uncertain, agreeing prediction is not 0: entropy != BALD
    assert max_entropy(p)[0] > 0.5


def test_bald_between_zero_and_entropy_on_random_probs():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(C, 0.3), size=(30, 200))
    b, h = bald(p), max_entropy(p)
    assert np.all(b >= 0) and np.all(b <= h + 1e-12)
    assert np.allclose(b, predictive_entropy(p) - expected_entropy(p))


@pytest.mark.parametrize("name", sorted(ACQUISITIONS))
def test_exact_zeros_give_finite_scores(name):
    p = np.zeros((5, 4, C))
    p[:, :, 0] = 1.0  # every other class exactly 0: log 0 must not give NaN
    p[2, 1] = 0.0
    p[2, 1, 7] = 1.0
    fn = get_acquisition(name)
    scores = fn(p, rng=0)
    assert scores.shape == (4,)
    assert np.all(np.isfinite(scores))


def test_variation_ratios_counts_modes():
    # T = 10 samples for 3 points: labels (7x class 2, 3x class 5), (all class 1), (5/5 tie)
    labels = np.array([[2] * 7 + [5] * 3, [1] * 10, [4] * 5 + [6] * 5]).T  # (T, N)
    p = np.stack([one_hot(row, eps=0.2) for row in labels])
    assert np.allclose(variation_ratios(p), [0.3, 0.0, 0.5])


def test_variation_ratios_definitions_differ():
    # mode count says 0 (argmax always class 0), mean-based says 1 - 0.55
    p = np.array([[[0.55, 0.45]], [[0.55, 0.45]]])
    assert variation_ratios(p)[0] == 0.0
    assert variation_ratios_mean(p)[0] == pytest.approx(0.45)


def test_mean_std_matches_numpy_std():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(C), size=(50, 7))
    assert np.allclose(mean_std(p), p.std(axis=0).mean(axis=-1))


def test_random_scores_are_seeded():
    p = np.ones((1, 20, 1))
    assert np.array_equal(random_scores(p, rng=3), random_scores(p, rng=3))
    assert not np.array_equal(random_scores(p, rng=3), random_scores(p, rng=4))
    assert np.array_equal(random_scores(p, rng=3), np.random.default_rng(3).random(20))


@pytest.mark.parametrize("name", sorted(ACQUISITIONS))
def test_one_signature_for_every_function(name):
    """Every registered function is f(probs, rng=None): callers never special-case "random"."""
    import inspect

    params = list(inspect.signature(get_acquisition(name)).parameters.values())
    assert [p.name for p in params] == ["probs", "rng"] and params[1].default is None
    p = np.random.default_rng(0).dirichlet(np.ones(C), size=(6, 9))
    assert get_acquisition(name)(p, rng=1).shape == (9,)
    assert np.array_equal(get_acquisition(name)(p, rng=1), get_acquisition(name)(p, rng=1))


def test_only_random_skips_the_predictions():
    from bal_utils.acquisition import needs_predictions

    assert [n for n in sorted(ACQUISITIONS) if not needs_predictions(n)] == ["random"]
    # random reads only N: a placeholder gives the same scores as real probabilities
    p = np.random.default_rng(0).dirichlet(np.ones(C), size=(6, 9))
    assert np.array_equal(random_scores(p, rng=2), random_scores(np.ones((1, 9, 1)), rng=2))
    with pytest.raises(ValueError, match="acquisition='greedy'"):
        needs_predictions("greedy")


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="known: .*bald"):
        get_acquisition("entropyy")


def test_top_k_ties_break_by_position():
    scores = np.array([0.5, 0.9, 0.9, 0.1, 0.9])
    assert select_top_k(scores, 2).tolist() == [1, 2]
    assert select_top_k(scores, 4).tolist() == [1, 2, 4, 0]


@pytest.mark.parametrize("k", [0, 6, -1, 2.5, True])
def test_top_k_bad_k(k):
    with pytest.raises(ValueError, match="k="):
        select_top_k(np.arange(5.0), k)


@pytest.mark.parametrize(
    "probs, match",
    [
        (np.full((2, 3), 0.5), "3 axes"),
        (np.full((2, 3, 2), np.nan), "NaN"),
        (np.full((2, 3, 2), 0.7), "sum to"),
        (np.array([[[1.5, -0.5]]]), r"\[0, 1\]"),
    ],
)
def test_bad_probs_are_named(probs, match):
    with pytest.raises(ValueError, match=match):
        bald(probs)
