"""What others published, to compare with: the paper's tables, the authors' released curves, lunayht.

Three references that do not agree with each other (chapter 5 shows why):

* :data:`PAPER_TABLE1` -- the paper's Table 1, *acquired* images (labelled
  minus the 20 initial ones) to reach 10% and 5% test error;
* :func:`authors_curves` -- the mean test-error curves that the authors
  released with their scripts (shipped in ``bal_utils/resources/authors_results``);
* :data:`PAPER_TABLE2` -- the paper's Table 2, test error (%) with 1,000 labelled images;
* :data:`LUNAYHT_TABLE1` -- the PyTorch re-implementation lunayht/DBALwithImgData,
  quoted from its README. Its protocol differs (the paper text's network, a
  warm start that also carries one network from each of the 3 repeats to the
  next, no weight decay, standardised inputs, accuracy on the 100-image
  validation set): a reference, not a target.

Counts from curves are read the paper's way, by :func:`bal_utils.analysis.acquired_to_reach`:
the first point of the (mean) curve at or below the error, as acquired images.
"""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

#: Gal, Islam & Ghahramani (2017), Table 1: acquired images to reach (10%, 5%) test error.
PAPER_TABLE1 = {"bald": (145, 335), "variation_ratios": (120, 295), "max_entropy": (165, 355), "mean_std": (230, 695), "random": (255, 835)}
#: lunayht/DBALwithImgData README: acquired images to reach (10%, 5%) error (their protocol, see above).
LUNAYHT_TABLE1 = {"bald": (150, 296), "variation_ratios": (143, 283), "max_entropy": (163, 310), "random": (250, 517)}
#: Gal, Islam & Ghahramani (2017), Table 2: test error (%) with 1,000 labelled images.
PAPER_TABLE2 = {"bald": 1.80, "variation_ratios": 1.64, "max_entropy": 1.74, "random": 4.66}
#: lunayht/DBALwithImgData README: test error (%) at 1,000 labels.
LUNAYHT_ERROR_1000 = {"random": 3.73, "bald": 1.81, "max_entropy": 1.66, "variation_ratios": 1.57}

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
