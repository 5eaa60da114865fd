"""ipywidgets explorers for the chapters.

Each returns a widget to display; its callbacks redraw a matplotlib figure in
an Output area. A static site shows the widget as it was saved (its default
view) but cannot run the callbacks, so every chapter also shows one ordinary
figure beside it with other settings than the default, not a second copy of it.
"""

from __future__ import annotations

import numpy as np
import ipywidgets as w
import matplotlib.pyplot as plt

from .acquisition import ACQUISITIONS, DISPLAY_NAMES, get_acquisition, select_top_k


def _redrawing(controls, draw, rows=None):
    """The ``controls`` above an output that ``draw(**values)`` redraws on every change.

    ``rows`` lists the control names of each row (default: one row), so that
    a page-wide explorer does not squeeze its sliders into one line. The
    widget is ``VBox([VBox(rows of HBox), output])``.
    """
    rows = rows or [list(controls)]
    if sorted(n for row in rows for n in row) != sorted(controls):
        raise ValueError(f"rows={rows!r} must name every control once: {list(controls)}")

    def draw_and_show(**values):
        draw(**values)
        plt.show()

    boxes = w.VBox([w.HBox([controls[n] for n in row]) for row in rows])
    return w.VBox([boxes, w.interactive_output(draw_and_show, controls)])


def toy_loop_explorer(X, y, runs: dict):
    """Step through precomputed toy loops (``{strategy: [ToyStep, ...]}``) side by side."""
    from .plots import plot_toy_step

    n = min(len(v) for v in runs.values())
    step = w.IntSlider(value=0, min=0, max=n - 1, description="step", continuous_update=False)

    def draw(step):
        fig, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 3.4))
        for ax, (name, steps) in zip(np.atleast_1d(axes), runs.items()):
            plot_toy_step(X, y, steps[step], ax=ax, title=f"{name}: {len(steps[step].labelled)} labels, acc. {steps[step].accuracy:.0%}")
        fig.tight_layout()

    return _redrawing({"step": step}, draw)


def mc_dropout_explorer(model, images, labels, max_samples: int = 200, seed: int = 0):
    """Pick a digit and T (first row) and the dropout rates (second row); see the MC-dropout prediction and its spread."""
    from .plots import plot_mc_prediction

    controls = {
        "index": w.IntSlider(value=0, min=0, max=len(images) - 1, description="digit", continuous_update=False),
        "t": w.IntSlider(value=20, min=1, max=max_samples, description="T", continuous_update=False),
        "trunk_rate": w.FloatSlider(value=model.dropout_rates[0], min=0.0, max=0.9, step=0.05, description="p trunk", continuous_update=False),
        "head_rate": w.FloatSlider(value=model.dropout_rates[1], min=0.0, max=0.9, step=0.05, description="p head", continuous_update=False),
    }

    def draw(index, t, trunk_rate, head_rate):
        probs = model.mc_predict(images[index : index + 1], t, seed=seed, rates=(trunk_rate, head_rate))[:, 0]
        plot_mc_prediction(images[index], probs, labels[index], title=f"T = {t}, dropout {trunk_rate:.2f}/{head_rate:.2f}: mean ± std")

    return _redrawing(controls, draw, rows=[["index", "t"], ["trunk_rate", "head_rate"]])


def acquisition_explorer(probs, images, labels, names=None):
    """Choose an acquisition function and k; see which pool digits it picks.

    ``probs`` is ``(T, N, C)`` for the ``N`` pool ``images``.
    """
    from .plots import image_grid

    names = names or [n for n in ACQUISITIONS if n != "variation_ratios_mean"]
    scores = {n: get_acquisition(n)(probs, rng=0) for n in names}
    controls = {
        "name": w.Dropdown(options=[(DISPLAY_NAMES.get(n, n), n) for n in names], value=names[0], description="function"),
        "k": w.IntSlider(value=10, min=1, max=min(40, len(labels)), description="k", continuous_update=False),
    }

    def draw(name, k):
        top = select_top_k(scores[name], k)
        image_grid(images[top], [f"{labels[i]}: {scores[name][i]:.2f}" for i in top], ncols=10, suptitle=f"top {k} by {DISPLAY_NAMES.get(name, name)} (label: score)")

    return _redrawing(controls, draw)


def batch_explorer(n_images: int = 6, seed: int = 0):
    """Chapter 6: copies per image, batch size k and PowerBALD's beta; see what top-k BALD, BatchBALD and PowerBALD pick.

    The pool is :func:`bal_utils.toy.redundant_pool` (4 classes, so that the
    exact joint mutual information of a batch stays cheap for k <= 6).
    """
    from .batch import batch_bald, power_bald
    from .plots import plot_batch_choice
    from .toy import redundant_pool

    controls = {
        "copies": w.IntSlider(value=3, min=1, max=5, description="copies", continuous_update=False),
        "k": w.IntSlider(value=4, min=1, max=6, description="k", continuous_update=False),
        "beta": w.FloatSlider(value=1.0, min=0.0, max=8.0, step=0.5, description="β (power)", continuous_update=False),
    }

    def draw(copies, k, beta):
        probs, origin = redundant_pool(n_images=n_images, copies=copies, seed=seed)
        k = min(k, probs.shape[1])
        picks = {
            "top-k BALD": select_top_k(get_acquisition("bald")(probs), k),
            "BatchBALD": batch_bald(probs, k),
            f"PowerBALD β={beta:g}": power_bald(probs, k, beta=beta, rng=seed),
        }
        plot_batch_choice(probs, origin, picks)

    return _redrawing(controls, draw)
