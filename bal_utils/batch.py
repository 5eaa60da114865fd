"""Batch-aware acquisition: BatchBALD and stochastic batches.

Top-k BALD scores every image on its own, so the k images of one acquisition
often carry the same information (near-duplicates, one confusing style).

* :func:`batch_bald` (Kirsch, van Amersfoort & Gal, 2019) picks the batch
  greedily by the *joint* mutual information between the labels of the batch
  and the weights,

  .. math::

     I(y_1, \\dots, y_n; w) = H(y_1, \\dots, y_n) - \\sum_i \\mathbb{E}_w H(y_i \\mid w),

  estimated from the same T MC-dropout samples for every image (the
  "consistent" masks of :meth:`bal_utils.model.BayesianCNN.mc_predict`:
  sample t is one network, so the labels of different images are dependent
  through it). The joint entropy mixes the T networks:
  ``p(y_1..y_n) ≈ (1/T) Σ_t Π_i p_t(y_i)``.
* :func:`stochastic_batch` (Kirsch et al., 2023) draws k images without
  replacement with probabilities proportional to ``score ** beta`` ("power"),
  ``exp(beta * score)`` ("softmax") or ``rank ** -beta`` ("softrank"), with
  the Gumbel-top-k trick. As beta grows it becomes top-k.

Both are selectors, ``f(probs, k, rng=None) -> indices`` in the order picked;
the registry of :mod:`bal_utils.acquisition` names them for the loop and the command line.
"""

from __future__ import annotations

import numpy as np

from . import checks
from .scores import bald, entropy, validate_probs

__all__ = ["batch_bald", "inclusion_frequency", "joint_mutual_information", "power_bald", "stochastic_batch"]

#: Label configurations kept by :func:`batch_bald`: exact enumeration while
#: ``C ** (n - 1)`` is at most this many, sampled configurations beyond.
N_CONFIGURATIONS = 2_000
#: Candidates scored in one matrix product (bounds memory to about
#: ``n_configurations * chunk * C`` floats).
_CHUNK = 256
MODES = ("power", "softmax", "softrank")


def _check_k(k, n):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k={k!r} is not allowed: expected an integer in [1, N={n}]")
    return int(k)


def joint_mutual_information(probs, indices) -> float:
    """Exact ``I(y_i for i in indices; w)`` under the T samples, by enumerating every label configuration.

    For tests and small examples: the cost is ``T * C ** len(indices)``.
    """
    p = validate_probs(probs)
    t, _, c = p.shape
    joint = np.ones((t, 1))
    for i in indices:
        joint = (joint[:, :, None] * p[:, i, None, :]).reshape(t, -1)
    h_joint = float(entropy(joint.mean(axis=0)))
    return h_joint - float(sum(entropy(p[:, i]).mean() for i in indices))


def batch_bald(probs, k: int, *, n_configurations: int = N_CONFIGURATIONS, rng=None) -> np.ndarray:
    """Greedy BatchBALD: ``k`` pool positions, in the order they were picked.

    Parameters
    ----------
    probs : array ``(T, N, C)``
        MC-dropout probabilities whose sample t is the same network for every
        image (shared masks); with a mask per image the joint is meaningless.
    k : int
        Batch size.
    n_configurations : int
        The joint entropy of the batch so far, ``H(y_1..y_{n-1}, y)``, is
        computed exactly over all ``C ** (n-1)`` label configurations while
        that is at most ``n_configurations``; beyond, it is estimated from
        ``n_configurations`` configurations sampled from
        ``p(y_1..y_{n-1})`` (importance form of Kirsch et al.). Cost per
        greedy step: about ``T * min(C ** (n-1), n_configurations) * N * C``
        multiply-adds; memory: ``n_configurations * 256 * C`` floats.
    rng : numpy Generator or seed
        Draws the sampled configurations.

    Returns
    -------
    indices : array ``(k,)`` of int
        The first is the BALD argmax.
    """
    p = validate_probs(probs)
    t, n, c = p.shape
    k = _check_k(k, n)
    checks.integer("n_configurations", n_configurations, 1)
    rng = np.random.default_rng(rng)
    cond = entropy(p).mean(axis=0)  # E_w H(y_i | w), (N,)
    flat = p.reshape(t, n * c).astype(np.float32)  # the big products in float32: half the time
    chosen = [int(np.argmax(bald(p)))]
    configs = (p[:, chosen[0], :]).copy()  # (T, M): p_t(configuration) for the batch so far
    exact = True
    available = np.ones(n, dtype=bool)
    available[chosen[0]] = False
    while len(chosen) < k:
        m = configs.shape[1]
        if exact and m > n_configurations:  # switch: sample configurations of the batch so far
            configs = _sample_configurations(p, chosen, n_configurations, rng)
            exact = False
        h_joint = _joint_entropy_with_each(configs, flat, n, c, exact)
        score = h_joint - cond[chosen].sum() - cond
        score[~available] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        available[best] = False
        if exact:
            configs = (configs[:, :, None] * p[:, best, None, :]).reshape(t, -1)
        else:  # extend each sampled configuration by a label drawn given it
            configs = _extend_samples(configs, p[:, best, :], rng)
    return np.asarray(chosen, dtype=np.int64)


def _joint_entropy_with_each(configs, flat, n, c, exact):
    """``H(y_batch, y_x)`` for every candidate x, from ``configs (T, M)`` and ``flat (T, N*C)``."""
    t, m = configs.shape
    out = np.empty(n)
    if not exact:
        p_conf = configs.mean(axis=0)  # p(ŷ_m), the sampled configurations' probabilities
    configs_t = np.ascontiguousarray(configs.T, dtype=np.float32)  # cast once per greedy step
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        joint = (configs_t @ flat[:, start * c : stop * c] / t).reshape(m, stop - start, c)  # p(ŷ_m, y)
        logj = np.log(np.where(joint > 0, joint, np.float32(1.0)))
        if exact:
            out[start:stop] = -np.einsum("mnc,mnc->n", joint, logj)
        else:  # H ≈ -(1/M) Σ_m Σ_y p(ŷ_m, y) / p(ŷ_m) log p(ŷ_m, y)
            w = joint / p_conf[:, None, None]
            out[start:stop] = -np.einsum("mnc,mnc->n", w, logj) / m
    return out


def _sample_configurations(p, chosen, m, rng):
    """``m`` label configurations of the images ``chosen`` drawn from the T-mixture; returns ``(T, m)`` of p_t(ŷ)."""
    t = p.shape[0]
    nets = rng.integers(0, t, size=m)  # a network, then each label given it: a draw from (1/T) Σ_t Π_i p_t
    configs = np.ones((t, m))
    for i in chosen:
        labels = _draw(p[nets, i, :], rng)  # (m,)
        configs *= p[:, i, labels]
    return configs


def _extend_samples(configs, p_new, rng):
    """Add one image to sampled configurations: draw its label given each configuration (exact conditional)."""
    # p(y | ŷ_m) = Σ_t p_t(ŷ_m) p_t(y) / Σ_t p_t(ŷ_m)
    post = configs.T @ p_new  # (m, C)
    labels = _draw(post / post.sum(axis=1, keepdims=True), rng)
    return configs * p_new[:, labels]


def _draw(rows, rng):
    """One category per row of probabilities ``(m, C)``."""
    cum = np.cumsum(rows, axis=1)
    u = rng.random((len(rows), 1)) * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), rows.shape[1] - 1)


def stochastic_batch(scores, k: int, *, mode: str = "power", beta: float = 1.0, rng=None) -> np.ndarray:
    """Draw ``k`` distinct positions with probability proportional to a tempered score, in draw order.

    ``mode``: ``"power"`` weights ``score ** beta`` (scores must be >= 0),
    ``"softmax"`` weights ``exp(beta * score)``, ``"softrank"`` weights
    ``rank ** -beta`` (rank 1 = the highest score). Sampling without
    replacement is the Gumbel-top-k trick: the top k of ``log weight + Gumbel
    noise``. As ``beta`` grows the draw becomes top-k.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or not np.all(np.isfinite(s)):
        raise ValueError(f"scores has shape {s.shape} or non-finite values: expected finite scores (N,)")
    k = _check_k(k, len(s))
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not known: expected one of {list(MODES)}")
    checks.number("beta", beta, 0)
    if mode == "power":
        if s.min() < 0:
            raise ValueError(f"mode='power' needs scores >= 0; got a minimum of {s.min():.3g}")
        with np.errstate(divide="ignore"):
            log_w = beta * np.log(s)  # a zero score gets weight 0 (log -inf) unless beta = 0
        if beta == 0:
            log_w = np.zeros_like(s)
    elif mode == "softmax":
        log_w = beta * s
    else:
        ranks = np.empty(len(s))
        ranks[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
        log_w = -beta * np.log(ranks)
    key = log_w + np.random.default_rng(rng).gumbel(size=len(s))
    # Zero weights (power mode, scores of 0) have key -inf: with fewer than k positive weights
    # they fill the batch last, lowest position first (a stable sort keeps their order).
    return np.argsort(-key, kind="stable")[:k]


def inclusion_frequency(scores, k: int, *, mode: str = "power", beta: float = 1.0, n_draws: int = 1000, rng=None) -> np.ndarray:
    """How often each position is in a :func:`stochastic_batch` of size ``k``, over ``n_draws`` draws.

    The frequencies sum to ``k``; top-k would give 1 to the k best scores and 0 elsewhere.
    """
    checks.integer("n_draws", n_draws, 1)
    rng = np.random.default_rng(rng)
    counts = np.zeros(len(np.asarray(scores)))
    for _ in range(n_draws):
        counts[stochastic_batch(scores, k, mode=mode, beta=beta, rng=rng)] += 1
    return counts / n_draws


def power_bald(probs, k: int, *, beta: float = 1.0, rng=None) -> np.ndarray:
    """PowerBALD: :func:`stochastic_batch` of the BALD scores, ``mode="power"``."""
    return stochastic_batch(bald(probs), k, mode="power", beta=beta, rng=rng)
