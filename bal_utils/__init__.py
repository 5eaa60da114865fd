"""bal_utils: deep Bayesian active learning on MNIST (Gal, Islam & Ghahramani, ICML 2017).

The public surface that the book's notebooks import. The model, loop and grid
modules import Keras lazily (on first use), so the data, config, acquisition
and results parts work without a deep learning backend.
"""

__version__ = "0.3.0"

from .acquisition import (  # noqa: E402
    ACQUISITIONS,
    DISPLAY_NAMES,
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
from .scores import epig  # noqa: E402
from .config import Config  # noqa: E402
from .presets import PRESETS, get_preset, preset_from_env  # noqa: E402
from .data import MNIST, Splits, load_mnist, make_splits, to_model_input  # noqa: E402
from .data import rotate_images  # noqa: E402
from .analysis import acquired_class_counts, labels_to_reach, summarise  # noqa: E402
from .packed import load_grid  # noqa: E402
from .provenance import device_summary  # noqa: E402
from .report import format_report  # noqa: E402
from .results import load_run, load_runs  # noqa: E402

_LAZY = {
    "BayesianCNN": "model",
    "Ensemble": "model",
    "run_active_learning": "loop",
    "acquire": "loop",
    "run_grid": "grid",
    "train_bayesian_cnn": "model",
    "plots": None,
    "book": None,
    "reference": None,
    "analysis": None,
    "widgets": None,
    "toy": None,
    "oracle": None,
    "batch": None,
    "provenance": None,
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        if _LAZY[name] is None:  # a submodule
            return importlib.import_module(f".{name}", __name__)
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'bal_utils' has no attribute {name!r}")
