"""Curve statistics of finished runs: pure functions of run records, below both the results files and the references.

A run record is the dict of one results file (:mod:`bal_utils.results`); nothing
here reads files, models or data. Counts are read the paper's way: the first point
of a curve at or below the error.
"""

from __future__ import annotations

import numpy as np

#: Slack when comparing an error with a level: errors are multiples of 1e-4 (10,000 test images), stored as
#: ``1 - accuracy`` or as a mean over seeds, so they can miss a level they equal by about 1e-17.
ROUND_OFF = 1e-9
#: The initial labelled set of the paper's protocol and of every reference (2 images per class).
N_INITIAL = 20


def by_acquisition(runs, value=None) -> dict:
    """``{acquisition: [value(run), ...]}`` (the runs themselves when ``value`` is None), in the order of ``runs``."""
    groups = {}
    for run in runs:
        groups.setdefault(run["acquisition"], []).append(run if value is None else value(run))
    return groups


def aligned(pairs):
    """``[(n, values), ...]`` of several seeds -> ``(n, values (seeds, steps))``, cut to the shortest run.

    So that every point is a mean over the same seeds.
    """
    length = min(len(n) for n, _ in pairs)
    return np.asarray(pairs[0][0][:length]), np.stack([np.asarray(v[:length]) for _, v in pairs])


def curve(record):
    """``(n_labelled, test_error)`` arrays of one run."""
    hist = record["history"]
    return np.array([h["n_labelled"] for h in hist]), np.array([h["test_error"] for h in hist])


def acquired_class_counts(record, steps=None, n_classes: int = 10) -> np.ndarray:
    """How many images of each class a run acquired in its first ``steps`` steps (all steps if None)."""
    hist = record["history"]
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps={steps!r}: expected a positive integer number of acquisition steps, or None for all")
        hist = hist[:steps]
    labels = [int(c) for h in hist for c in (h.get("acquired_labels") or [])]
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)[:n_classes]


def repeated_acquisitions(record) -> np.ndarray:
    """Per step, how many images acquired so far are a copy of an image acquired before them.

    For a run on Repeated-MNIST (``config["pool_repeats"] > 1``): the copies of
    one pool image sit ``P`` training indices apart, where ``P`` is the
    original pool size, so two acquired indices are copies of one image when
    they are equal modulo ``P``. Zeros for a run without repeats. Returns an
    array aligned with :func:`curve` (cumulative count at each step's labelled set).
    """
    hist = record["history"]
    repeats = int(record["config"].get("pool_repeats", 1) or 1)
    out = np.zeros(len(hist), dtype=np.int64)
    if repeats == 1 or not hist:
        return out
    period = hist[0]["pool_size"] // repeats
    seen, count = set(), 0
    for j, h in enumerate(hist):
        out[j] = count  # copies among the images labelled before this step's training
        for i in h["acquired_indices"]:
            key = int(i) % period
            count += key in seen
            seen.add(key)
    return out


def acquisition_seconds(record) -> float:
    """Mean seconds per acquisition (MC-dropout scoring and choosing the batch), over the steps that acquired."""
    secs = [h["seconds"]["score"] for h in record["history"] if h.get("acquired_indices")]
    return float(np.mean(secs)) if secs else float("nan")


def labels_to_reach(record, error: float):
    """Labelled images at the first step whose test error is at most ``error`` (allowing for round-off); ``None`` if never."""
    return acquired_to_reach(*curve(record), error, n_initial=0)  # one rule for runs and for mean curves


def seed_sd(values, axis: int = 0):
    """The sample standard deviation over seeds (divides by n - 1), 0 for a single seed.

    The book's one spread: figure bands, tables and the ``report`` command all use it.
    """
    values = np.asarray(values, dtype=float)
    if values.shape[axis] < 2:
        return np.zeros_like(values.mean(axis=axis))
    return values.std(axis=axis, ddof=1)


def summarise(runs, errors=(0.10, 0.05)) -> dict:
    """Per acquisition function: labels to reach each error (mean, std, per seed) and the last error.

    Returns ``{acquisition: {"seeds": [...], "reach": {error: {"mean", "std", "per_seed", "reached"}},
    "final_n_labelled": int, "final_error_mean": float, "final_error_std": float}}``.
    Runs that never reach an error are counted in ``reached`` and left out of the mean.
    """
    table = {}
    for acq, group in sorted(by_acquisition(runs).items()):
        entry = {"seeds": [r["seed"] for r in group], "reach": {}}
        for e in errors:
            hits = [labels_to_reach(r, e) for r in group]
            got = [h for h in hits if h is not None]
            entry["reach"][e] = {
                "per_seed": hits,
                "reached": len(got),
                "mean": float(np.mean(got)) if got else None,
                "std": float(seed_sd(got)) if got else None,
            }
        n, err = aligned([curve(r) for r in group])
        last = err[:, -1]
        entry["final_n_labelled"] = int(n[-1])
        entry["final_error_mean"] = float(np.mean(last))
        entry["final_error_std"] = float(seed_sd(last))
        table[acq] = entry
    return table


def mean_curves(runs) -> dict:
    """``{acquisition: (n_labelled, mean error, sample SD of the error, n_seeds)}`` over the seeds of each function.

    Curves are cut to the shortest run of the function, so that every point
    is a mean over the same seeds.
    """
    out = {}
    for acq, curves in sorted(by_acquisition(runs, curve).items()):
        n, err = aligned(curves)
        out[acq] = (n, err.mean(0), seed_sd(err), len(curves))
    return out


def acquired_to_reach(n_labelled, error, threshold: float, n_initial: int = N_INITIAL):
    """Acquired images (labelled minus ``n_initial``) at the first point with ``error <= threshold``; None if never.

    "At or below" allows for round-off: a mean of three errors can be stored as
    0.05000000000000001 where the exact mean is 0.05 (see :data:`ROUND_OFF`).
    """
    n_labelled, error = np.asarray(n_labelled), np.asarray(error)
    hit = np.flatnonzero(error <= threshold + ROUND_OFF)
    return int(n_labelled[hit[0]]) - n_initial if len(hit) else None
