"""What others published, to compare with: the paper's tables, the authors' released curves, lunayht.

Three references that do not agree with each other (chapter 5 shows why):

* :data:`PAPER_TABLE1` -- the paper's Table 1, *acquired* images (labelled
  minus the 20 initial ones) to reach 10% and 5% test error;
* :func:`authors_curves` -- the mean test-error curves that the authors
  released with their scripts (shipped in ``bal_utils/resources/authors_results``);
* :data:`LUNAYHT_TABLE1` -- the PyTorch re-implementation lunayht/DBALwithImgData,
  quoted from its README. Its protocol differs (the paper text's network, a
  warm start that also carries one network from each of the 3 repeats to the
  next, no weight decay, standardised inputs, accuracy on the 100-image
  validation set): a reference, not a target.

Counts from curves are read the paper's way: the first point of the (mean)
curve at or below the error, as acquired images.
"""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

#: Gal, Islam & Ghahramani (2017), Table 1: acquired images to reach (10%, 5%) test error.
PAPER_TABLE1 = {"bald": (145, 335), "variation_ratios": (120, 295), "max_entropy": (165, 355), "mean_std": (230, 695), "random": (255, 835)}
#: lunayht/DBALwithImgData README: acquired images to reach (10%, 5%) error (their protocol, see above).
LUNAYHT_TABLE1 = {"bald": (150, 296), "variation_ratios": (143, 283), "max_entropy": (163, 310), "random": (250, 517)}
#: lunayht/DBALwithImgData README: test error (%) at 1,000 labels.
LUNAYHT_ERROR_1000 = {"random": 3.73, "bald": 1.81, "max_entropy": 1.66, "variation_ratios": 1.57}
#: Slack when comparing an error with a level: errors are multiples of 1e-4 (10,000 test images), stored as
#: ``1 - accuracy`` or as a mean over seeds, so they can miss a level they equal by about 1e-17.
ROUND_OFF = 1e-9
#: The initial labelled set of every reference (2 images per class).
N_INITIAL = 20

_AUTHORS_FILES = ("main_comparison", "dropout_all_layers")


def authors_curves(kind: str = "main_comparison") -> dict:
    """The authors' released curves: ``{name: (n_labelled, test_error)}`` arrays of 99 points.

    ``kind`` is ``"main_comparison"`` (the paper's Figure 1 scripts, plus
    ``max_entropy_deterministic`` and ``best_vs_second_best``) or
    ``"dropout_all_layers"`` (dropout after every layer). The files hold test
    accuracy; this returns ``1 - accuracy``.
    """
    if kind not in _AUTHORS_FILES:
        raise ValueError(f"kind={kind!r} is not known: expected one of {list(_AUTHORS_FILES)}")
    text = resources.files("bal_utils").joinpath("resources", "authors_results", f"{kind}.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    n = np.array([int(r["n_labelled"]) for r in rows])
    return {name: (n, 1.0 - np.array([float(r[name]) for r in rows])) for name in rows[0] if name != "n_labelled"}


def mean_curves(runs) -> dict:
    """``{acquisition: (n_labelled, mean error, sample SD of the error, n_seeds)}`` over the seeds of each function.

    Curves are cut to the shortest run of the function, so that every point
    is a mean over the same seeds.
    """
    from .results import curve, seed_sd

    groups = {}
    for run in runs:
        groups.setdefault(run["acquisition"], []).append(curve(run))
    out = {}
    for acq, curves in sorted(groups.items()):
        length = min(len(n) for n, _ in curves)
        err = np.stack([e[:length] for _, e in curves])
        out[acq] = (curves[0][0][:length], err.mean(0), seed_sd(err), len(curves))
    return out


def acquired_to_reach(n_labelled, error, threshold: float, n_initial: int = N_INITIAL):
    """Acquired images (labelled minus ``n_initial``) at the first point with ``error <= threshold``; None if never.

    "At or below" allows for round-off: a mean of three errors can be stored as
    0.05000000000000001 where the exact mean is 0.05 (see :data:`ROUND_OFF`).
    """
    n_labelled, error = np.asarray(n_labelled), np.asarray(error)
    hit = np.flatnonzero(error <= threshold + ROUND_OFF)
    return int(n_labelled[hit[0]]) - n_initial if len(hit) else None
