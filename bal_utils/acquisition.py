"""The registry of acquisition functions: every name the loop, the command line, the plots and the book accept.

Each entry (:class:`Acquisition`) holds a name, its display name and colour, and one
function: a *score* ``f(probs, rng=None) -> (N,)`` from :mod:`bal_utils.scores` (the k
highest scores are acquired) or a *batch selector* ``f(probs, k, rng=None) -> (k,)``
from :mod:`bal_utils.batch` (the k images are chosen jointly). Calling an entry, or
:func:`select`, gives the same result type for both, a :class:`CandidateBatch`, so a
caller never branches on the kind.

Adding an acquisition function is one function (in ``scores.py`` or ``batch.py``) and
one :class:`Acquisition` in :data:`REGISTRY`; the command line's choices, the plots'
colours and legends, and ``tests/test_registry.py`` (every entry, one contract) follow.

This module sits above the scores and the selectors: neither imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional

import numpy as np

from .batch import batch_bald, power_bald
from .scores import (  # noqa: F401  (the scores are part of this module's public surface)
    bald,
    entropy,
    epig,
    expected_entropy,
    max_entropy,
    mean_std,
    predictive_entropy,
    random_scores,
    select_top_k,
    validate_probs,
    variation_ratios,
    variation_ratios_mean,
)

__all__ = ["ACQUISITIONS", "COLORS", "DISPLAY_NAMES", "REGISTRY", "Acquisition", "CandidateBatch", "get_acquisition",
           "is_batch_acquisition", "known_acquisitions", "needs_predictions", "needs_targets", "select", "select_top_k"]


class CandidateBatch(NamedTuple):
    """What every acquisition returns: the chosen positions (best or first picked first) and the scores.

    ``scores`` holds the score of every candidate for a score function, and is ``None``
    for a batch selector, which has no per-image score.
    """

    indices: np.ndarray
    scores: Optional[np.ndarray]


@dataclass(frozen=True)
class Acquisition:
    """One acquisition function: a score (top-k) or a batch selector, and how the book shows it."""

    name: str
    display_name: str
    color: str
    score: Optional[Callable] = None
    select_batch: Optional[Callable] = None
    needs_predictions: bool = True  # False: reads only N (random), so no forward passes are needed
    needs_targets: bool = False  # True: scores need predictions at target inputs too (EPIG), from the same T samples

    def __post_init__(self):
        if (self.score is None) == (self.select_batch is None):
            raise ValueError(f"acquisition {self.name!r}: give exactly one of score= and select_batch=")

    @property
    def is_batch(self) -> bool:
        return self.select_batch is not None

    @property
    def function(self) -> Callable:
        """The registered function: ``score(probs, rng=None)`` or ``select_batch(probs, k, rng=None)``."""
        return self.select_batch if self.is_batch else self.score

    def __call__(self, probs, k: int, rng=None, targets=None) -> CandidateBatch:
        """The ``k`` positions of ``probs`` ``(T, N, C)`` to acquire, as a :class:`CandidateBatch`.

        ``targets`` ``(T, M, C)``: the predictions at the target inputs, from the same T
        samples, for a function that ``needs_targets`` (ignored by the others).
        """
        if self.is_batch:
            return CandidateBatch(np.asarray(self.select_batch(probs, k, rng=rng), dtype=np.int64), None)
        if self.needs_targets:
            if targets is None:
                raise ValueError(f"acquisition {self.name!r} needs targets=: the predictions (T, M, C) at the target inputs")
            scores = self.score(probs, targets, rng=rng)
        else:
            scores = self.score(probs, rng=rng)
        return CandidateBatch(select_top_k(scores, k), scores)


def _batchbald(probs, k, rng=None):
    return batch_bald(probs, k, rng=rng)


def _power_bald(probs, k, rng=None):
    return power_bald(probs, k, rng=rng)


def _epig(probs, targets, rng=None):
    return epig(probs, targets)


#: Every acquisition function, in the order legends and tables list them.
REGISTRY = {a.name: a for a in (
    Acquisition("bald", "BALD", "C0", score=bald),
    Acquisition("variation_ratios", "Variation ratios", "C1", score=variation_ratios),
    Acquisition("max_entropy", "Max entropy", "C2", score=max_entropy),
    Acquisition("mean_std", "Mean STD", "C3", score=mean_std),
    Acquisition("random", "Random", "0.4", score=random_scores, needs_predictions=False),
    Acquisition("variation_ratios_mean", "Variation ratios (1 - max p̄)", "C4", score=variation_ratios_mean),
    Acquisition("batchbald", "BatchBALD", "C5", select_batch=_batchbald),
    Acquisition("power_bald", "PowerBALD", "C6", select_batch=_power_bald),
    Acquisition("epig", "EPIG", "C8", score=_epig, needs_targets=True),
)}

#: The score functions of the pool's predictions alone, ``f(probs, rng=None) -> scores`` (views of :data:`REGISTRY`).
ACQUISITIONS = {name: a.score for name, a in REGISTRY.items() if not a.is_batch and not a.needs_targets}
#: Display names for plots and tables.
DISPLAY_NAMES = {name: a.display_name for name, a in REGISTRY.items()}
#: Matplotlib colours, one per acquisition function.
COLORS = {name: a.color for name, a in REGISTRY.items()}


def _entry(name) -> Acquisition:
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"acquisition={name!r} is not known; known: {known_acquisitions()}") from None


def get_acquisition(name: str) -> Callable:
    """The function registered under ``name``: a score ``f(probs, rng=None)`` or a batch selector ``f(probs, k, rng=None)``.

    Raises ``ValueError`` listing the known names when ``name`` is unknown. To acquire
    without caring which kind it is, use :func:`select`.
    """
    return _entry(name).function


def select(name: str, probs, k: int, rng=None, targets=None) -> CandidateBatch:
    """Acquire ``k`` of the ``N`` candidates of ``probs`` ``(T, N, C)`` with the function ``name``
    (``targets``: the predictions at the target inputs, for EPIG)."""
    return _entry(name)(probs, k, rng=rng, targets=targets)


def needs_targets(name: str) -> bool:
    """Whether ``name`` scores against predictions at target inputs (EPIG)."""
    return _entry(name).needs_targets


def known_acquisitions() -> list:
    """Every acquisition name, sorted."""
    return sorted(REGISTRY)


def is_batch_acquisition(name: str) -> bool:
    """Whether ``name`` picks its k images jointly (BatchBALD, PowerBALD) instead of by top-k scores."""
    return _entry(name).is_batch


def needs_predictions(name: str) -> bool:
    """Whether ``name`` reads the values of ``probs`` (random does not: a loop may skip the T forward passes)."""
    return _entry(name).needs_predictions
