"""EPIG, the expected predictive information gain: exact, and ranking where BALD goes wrong."""

import numpy as np
import pytest

from bal_utils.scores import bald, epig


def _random_probs(rng, t, n, c):
    logits = rng.normal(size=(t, n, c)) * 2
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)


def _brute_force(pool, target):
    """A double loop over pool and target points, the mutual information from the joint table."""
    t, n, c = pool.shape
    out = np.zeros(n)
    for i in range(n):
        for j in range(target.shape[1]):
            joint = sum(np.outer(pool[s, i], target[s, j]) for s in range(t)) / t
            marg = np.outer(joint.sum(1), joint.sum(0))
            mask = joint > 0
            out[i] += np.sum(joint[mask] * np.log(joint[mask] / marg[mask]))
        out[i] /= target.shape[1]
    return out


@pytest.mark.parametrize("chunk", [1, 3, 256])
def test_equals_a_brute_force_double_loop(chunk):
    rng = np.random.default_rng(0)
    pool, target = _random_probs(rng, 6, 7, 4), _random_probs(rng, 6, 5, 4)
    np.testing.assert_allclose(epig(pool, target, chunk=chunk), _brute_force(pool, target), atol=1e-12)


def test_zero_when_every_sample_agrees():
    rng = np.random.default_rng(1)
    one = _random_probs(rng, 1, 5, 3)
    np.testing.assert_allclose(epig(np.repeat(one, 8, axis=0), _random_probs(rng, 8, 4, 3)), 0, atol=1e-12)


def test_ranks_by_what_matters_for_the_targets_where_bald_does_not():
    """Four posterior samples. The target's prediction flips between classes 0 and 1 with the
    sample (t < 2 or t >= 2). Pool point A flips between classes 2 and 3 in a pattern unrelated to
    the target's; point B leans to 0 or 1 in the target's pattern, less surely."""
    eye = np.eye(4)
    target = np.stack([eye[0], eye[0], eye[1], eye[1]])[:, None]  # (T, M=1, C)
    a = np.stack([eye[2], eye[3], eye[2], eye[3]])
    b = np.stack([[0.8, 0.2, 0, 0], [0.8, 0.2, 0, 0], [0.2, 0.8, 0, 0], [0.2, 0.8, 0, 0]])
    pool = np.stack([a, b], axis=1)  # (T, N=2, C)
    scores_bald, scores_epig = bald(pool), epig(pool, target)
    assert scores_bald[0] > scores_bald[1]  # BALD prefers A: the samples disagree more about it
    assert scores_epig[0] == pytest.approx(0, abs=1e-12) and scores_epig[1] > 0.1  # A says nothing about the target
    assert scores_epig[1] == pytest.approx(_brute_force(pool, target)[1])


def test_shapes_are_checked_in_one_line():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="expected the same T samples and the same C classes"):
        epig(_random_probs(rng, 4, 3, 5), _random_probs(rng, 5, 3, 5))
    with pytest.raises(ValueError, match="chunk=0 is not allowed"):
        epig(_random_probs(rng, 4, 3, 5), _random_probs(rng, 4, 3, 5), chunk=0)


def test_epig_runs_in_the_loop_and_in_lockstep(subset, tmp_path):
    from bal_utils import get_preset, load_runs, run_active_learning
    from bal_utils.lockstep import run_lockstep

    cfg = get_preset("smoke", acquisitions=("epig", "random"), n_targets=20)
    record = run_active_learning(cfg, "epig", seed=0, data=subset, progress=False)
    assert record["status"] == "complete"
    assert all(len(h["acquired_indices"]) == cfg.acquire_per_step for h in record["history"][:-1])
    run_lockstep(cfg, tmp_path, data=subset, progress=False)
    assert {(r["acquisition"], r["status"]) for r in load_runs(tmp_path)} == {("epig", "complete"), ("random", "complete")}


def test_epig_needs_the_same_networks_for_candidates_and_targets():
    from bal_utils import get_preset

    with pytest.raises(ValueError, match="mc_masks='per_image' is not allowed with epig: the candidates and the targets"):
        get_preset("smoke", acquisitions=("epig",), mc_masks="per_image")
    with pytest.raises(ValueError, match="scoring='deterministic' is not allowed with epig"):
        get_preset("smoke", acquisitions=("epig",), scoring="deterministic")
    with pytest.raises(ValueError, match="n_targets=0 is not allowed"):
        get_preset("smoke", n_targets=0)
