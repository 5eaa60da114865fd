"""Acquisition scores: pure functions of MC dropout probabilities.

Every function has one signature, ``f(probs, rng=None) -> scores``: ``probs``
is shaped ``(T, N, C)`` -- T stochastic forward passes, N pool images, C
classes, each row a probability vector -- and the scores are shaped ``(N,)``:
higher means "label this one first". ``rng`` (a seed or a
``numpy.random.Generator``) is used only by :func:`random_scores`, which reads
nothing but N; the others ignore it. So a caller never special-cases
``"random"``. The functions know nothing of models, data or names: the registry
of :mod:`bal_utils.acquisition` names them (and says which read only N).

The scores are Monte Carlo *estimates*: ``max_entropy`` estimates the entropy
of the predictive distribution with the mean of the T samples, and ``bald``
is the plug-in estimate ``H[p̄] - mean_t H[p_t]`` of the mutual information,
which is biased low for small T (it is exactly 0 at T = 1).

Logarithms are natural (nats). ``0 log 0`` is taken as 0, so probabilities
that are exactly zero give finite scores (the original code used an unguarded
``log2`` and produced NaN, which ``argsort`` then ranked first).
"""

from __future__ import annotations

import numpy as np

from . import checks

__all__ = [
    "bald",
    "entropy",
    "epig",
    "expected_entropy",
    "max_entropy",
    "mean_std",
    "predictive_entropy",
    "random_scores",
    "select_top_k",
    "validate_probs",
    "variation_ratios",
    "variation_ratios_mean",
]

_SUM_TOL = 1e-3


def validate_probs(probs, name: str = "probs") -> np.ndarray:
    """Check that ``probs`` is a finite ``(T, N, C)`` array of probability rows.

    Returns it as float64. Raises ``ValueError`` naming what is wrong.
    """
    arr = np.asarray(probs)
    if arr.ndim != 3:
        raise ValueError(f"{name} has shape {arr.shape}: expected 3 axes (T samples, N points, C classes)")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} has dtype {arr.dtype}: expected real numbers")
    if min(arr.shape) == 0:
        raise ValueError(f"{name} has shape {arr.shape}: expected T >= 1, N >= 1 and C >= 1")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values: expected probabilities in [0, 1]")
    if arr.min() < 0 or arr.max() > 1 + _SUM_TOL:
        raise ValueError(f"{name} has values in [{arr.min():.4g}, {arr.max():.4g}]: expected probabilities in [0, 1]")
    sums = arr.sum(axis=-1)
    worst = float(np.max(np.abs(sums - 1)))
    if worst > _SUM_TOL:
        raise ValueError(f"{name} rows sum to values up to {worst:.3g} away from 1: expected each (t, n) row to sum to 1 (tolerance {_SUM_TOL})")
    return arr


def entropy(p: np.ndarray) -> np.ndarray:
    """Entropy over the last axis, with 0 log 0 = 0."""
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log(safe), axis=-1)


def predictive_entropy(probs) -> np.ndarray:
    """H[p̄]: entropy of the mean prediction, shape ``(N,)``."""
    p = validate_probs(probs)
    return np.maximum(entropy(p.mean(axis=0)), 0.0)


def expected_entropy(probs) -> np.ndarray:
    """(1/T) Σ_t H[p_t]: mean entropy of the T samples, shape ``(N,)``.

    This is *not* the predictive entropy (a mistake seen in re-implementations);
    it is the second term of BALD.
    """
    p = validate_probs(probs)
    return np.maximum(entropy(p).mean(axis=0), 0.0)


def max_entropy(probs, rng=None) -> np.ndarray:
    """Max entropy acquisition: the predictive entropy H[p̄] (Shannon 1948).

    ``rng`` is ignored (one signature for every acquisition function).
    """
    return predictive_entropy(probs)


def bald(probs, rng=None) -> np.ndarray:
    """BALD (Houlsby et al. 2011): H[p̄] - (1/T) Σ_t H[p_t], in [0, H[p̄]].

    The plug-in Monte Carlo estimate of the mutual information between the
    label and the weights; biased low for small T (0 at T = 1). ``rng`` is ignored.
    """
    p = validate_probs(probs)
    total = np.maximum(entropy(p.mean(axis=0)), 0.0)
    expected = np.maximum(entropy(p).mean(axis=0), 0.0)
    # Mathematically in [0, total] (Jensen); clip the float round-off.
    return np.clip(total - expected, 0.0, total)


def variation_ratios(probs, rng=None) -> np.ndarray:
    """Variation ratios, the seed code's definition: Freeman's (1965) statistic of the T sampled labels.

    ``1 - f_mode / T`` where ``f_mode`` counts how many of the T sampled argmax
    labels equal the most common one. Ties in the argmax go to the lowest class,
    so an exactly uniform prediction scores 0 (any noise makes it high).
    The paper's definition, ``1 - max_c p̄_c``, is :func:`variation_ratios_mean`.
    ``rng`` is ignored.
    """
    p = validate_probs(probs)
    t, n, c = p.shape
    labels = p.argmax(axis=-1)  # (T, N)
    counts = np.zeros((n, c), dtype=np.int64)
    np.add.at(counts, (np.broadcast_to(np.arange(n), (t, n)), labels), 1)
    return 1.0 - counts.max(axis=1) / t


def variation_ratios_mean(probs, rng=None) -> np.ndarray:
    """``1 - max_c p̄_c``: the paper's variation ratios, the lack of confidence of the MC predictive.

    It differs from :func:`variation_ratios` (the seed code's mode count) and
    is kept under its own name. ``rng`` is ignored.
    """
    p = validate_probs(probs)
    return np.clip(1.0 - p.mean(axis=0).max(axis=-1), 0.0, 1.0)


def mean_std(probs, rng=None) -> np.ndarray:
    """Mean STD (Kampffmeyer et al. 2016; Kendall et al. 2015).

    ``(1/C) Σ_c sqrt(E_t[p_c²] - E_t[p_c]²)``: the standard deviation over the
    T samples of each class probability, averaged over classes. The original
    script took the deviation of a single value, so every score was 0.
    ``rng`` is ignored.
    """
    p = validate_probs(probs)
    # Two-pass std (not E[p²] - E[p]², whose round-off makes identical samples score ~1e-9).
    return p.std(axis=0).mean(axis=-1)


def random_scores(probs, rng=None) -> np.ndarray:
    """Uniform random scores: the random-acquisition baseline.

    Only N, the second axis of ``probs`` ``(T, N, C)``, is read (the values are
    still validated), so a placeholder such as ``np.ones((1, N, 1))`` will do
    (its registry entry says ``needs_predictions=False``). ``rng`` is a ``numpy.random.Generator`` or
    a seed; the scores are ``rng.random(N)``.
    """
    n = validate_probs(probs).shape[1]
    return np.random.default_rng(rng).random(n)


def select_top_k(scores, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first.

    Ties are broken deterministically by position (the lower position wins),
    so equal scores give the same choice on every machine. Raises
    ``ValueError`` for NaN scores or a ``k`` outside ``[1, N]``.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores has shape {s.shape}: expected one axis (N,)")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k={k!r} is not allowed: expected an integer in [1, {len(s)}]")
    if not 1 <= k <= len(s):
        raise ValueError(f"k={k} is out of range: expected an integer in [1, N={len(s)}] (fewer pool points than k?)")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN: an acquisition function must return finite scores")
    # Stable sort on -score: equal scores keep their order of position.
    return np.argsort(-s, kind="stable")[:k]


def epig(probs_pool, probs_target, chunk: int = 256) -> np.ndarray:
    """Expected predictive information gain (Bickford Smith et al., AISTATS 2023), in nats, shape ``(N,)``.

    EPIG(x) = E_{x*}[ I(y; y* | x, x*) ]: how much labelling ``x`` would tell about the
    predictions at target inputs ``x*``, averaged over the ``M`` targets. ``probs_pool``
    is ``(T, N, C)`` and ``probs_target`` ``(T, M, C)``, from the *same* T posterior
    samples (the same dropout masks or ensemble members, in the same order), whose joint
    predictive p(y, y*) = (1/T) sum_t p_t(y | x) p_t(y* | x*) gives, exactly (no sampled
    labels), I = H[y] + H[y*] - H[y, y*]. Memory: about ``chunk**2 * C**2`` floats at a time.
    """
    pool = validate_probs(probs_pool, "probs_pool")
    target = validate_probs(probs_target, "probs_target")
    if pool.shape[0] != target.shape[0] or pool.shape[2] != target.shape[2]:
        raise ValueError(f"probs_pool {pool.shape} and probs_target {target.shape}: expected the same T samples "
                         "and the same C classes")
    checks.integer("chunk", chunk, 1)
    t = pool.shape[0]
    h_pool, h_target = entropy(pool.mean(axis=0)), entropy(target.mean(axis=0))
    out = np.zeros(pool.shape[1])
    for i in range(0, pool.shape[1], chunk):
        a = pool[:, i : i + chunk]
        total = np.zeros(a.shape[1])
        for j in range(0, target.shape[1], chunk):
            b = target[:, j : j + chunk]
            joint = np.einsum("tac,tbd->abcd", a, b) / t  # (n, m, C, C)
            h_joint = entropy(joint.reshape(*joint.shape[:2], -1))
            total += (h_pool[i : i + chunk, None] + h_target[None, j : j + chunk] - h_joint).sum(axis=1)
        out[i : i + chunk] = total / target.shape[1]
    return np.maximum(out, 0.0)
