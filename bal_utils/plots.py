"""Figures for the book (matplotlib). Each function returns the Figure it drew."""

from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt

from .acquisition import COLORS, DISPLAY_NAMES
from .analysis import acquired_class_counts, aligned, by_acquisition, curve, mean_curves, repeated_acquisitions, seed_sd


#: The widest figure, in inches, that a book page shows without shrinking its text below
#: readable (``tests/test_notebook_outputs.py`` checks the chapters' figures).
MAX_WIDTH = 9.0
#: Line styles that set a function apart beside its colour: random acquisition, the baseline, dashed.
LINESTYLES = {"random": "--"}

def _name(acq):
    return DISPLAY_NAMES.get(acq, acq)


def _by_acquisition(runs, value):
    """``{acquisition: [value(run), ...]}`` in the order of :data:`COLORS` (others last)."""
    return _in_color_order(by_acquisition(runs, value))


def _in_color_order(by_name: dict) -> dict:
    """The same dict, its acquisition functions in the order of :data:`COLORS` (others last), so legends agree."""
    order = list(COLORS)
    return dict(sorted(by_name.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def image_grid(images, titles=None, ncols: int = 10, size: float = 1.1, suptitle=None):
    """Show images ``(N, 28, 28)`` (or ``(N, 28, 28, 1)``) in a grid with optional titles.

    At most :data:`MAX_WIDTH` inches wide, so that the page does not shrink its text."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    size = min(size, MAX_WIDTH / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if suptitle else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray_r")
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def _seeds_label(acq, n_seeds):
    return f"{_name(acq)} ({n_seeds} seed{'s' if n_seeds > 1 else ''})"


def plot_learning_curves(runs, ax=None, errors_pct=True, title=None):
    """Test error against labelled images, one line per acquisition function, a band for the spread.

    ``runs`` are run records (see :mod:`bal_utils.results`); the line is the
    mean over seeds and the band mean ± one sample standard deviation over seeds.
    """

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    for acq, curves in _by_acquisition(runs, curve).items():
        n, err = aligned(curves)
        err = err * (100 if errors_pct else 1)
        mean, std = err.mean(0), seed_sd(err)
        color = COLORS.get(acq)
        ax.plot(n, mean, LINESTYLES.get(acq, "-"), color=color, label=_seeds_label(acq, len(curves)))
        if len(curves) > 1:
            ax.fill_between(n, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
    ax.set_xlabel("labelled images")
    ax.set_ylabel("test error (%)" if errors_pct else "test error")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_acquired_classes(runs, steps: int = 10, ax=None):
    """Heatmap of the classes each acquisition function asked for in its first ``steps`` steps.

    One row per function, one column per digit; each cell is the mean count
    over the function's seeds. A balanced row means the function explores all
    classes; empty columns show classes it never asked about.
    """

    groups = _by_acquisition(runs, lambda run: acquired_class_counts(run, steps))
    names = list(groups)
    m = np.array([np.mean(counts, axis=0) for counts in groups.values()])
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.5, 0.9 + 0.45 * len(names)))
    ax.imshow(m, cmap="Blues", vmin=0, aspect="auto")
    ax.set_xticks(range(m.shape[1]))
    ax.set_yticks(range(len(names)), [_name(a) for a in names], fontsize=8)
    ax.set_xlabel("digit class")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{m[i, j]:.0f}", ha="center", va="center", fontsize=8, color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set_title(f"classes of the images acquired in the first {steps} steps (mean over seeds)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_mc_prediction(image, probs, label=None, axes=None, title=None):
    """One digit and its MC-dropout prediction: mean probability per class with ± one std.

    ``probs`` is ``(T, 10)``: the T stochastic passes for this image.
    """
    probs = np.asarray(probs)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(6, 2.2), gridspec_kw={"width_ratios": [1, 3]})
    fig = axes[0].figure
    axes[0].imshow(np.asarray(image).squeeze(), cmap="gray_r")
    axes[0].axis("off")
    if label is not None:
        axes[0].set_title(f"label {label}", fontsize=9)
    mean, std = probs.mean(0), probs.std(0)
    axes[1].bar(np.arange(10), mean, yerr=std, color="C0", alpha=0.8, capsize=2)
    axes[1].set_ylim(0, 1.05)
    axes[1].set_xticks(range(10))
    axes[1].set_ylabel("p(class)")
    axes[1].set_title(title or f"T = {len(probs)} passes: mean ± std", fontsize=9)
    fig.tight_layout()
    return fig


def plot_score_histograms(scores: dict, bins: int = 30):
    """One histogram per acquisition function of the scores over the pool."""
    n = len(scores)
    fig, axes = plt.subplots(1, n, figsize=(min(2.6 * n, MAX_WIDTH), 2.3), squeeze=False)
    for ax, (acq, s) in zip(axes.flat, scores.items()):
        ax.hist(s, bins=bins, color=COLORS.get(acq, "C0"), alpha=0.85)
        ax.set_title(_name(acq), fontsize=9)
        ax.set_yscale("log")
        ax.set_xlabel("score", fontsize=8)
    axes.flat[0].set_ylabel("pool images")
    fig.tight_layout()
    return fig


def plot_overlap(picks: dict):
    """Heatmap of how many of the top-k picks two acquisition functions share."""
    names = list(picks)
    k = max(len(v) for v in picks.values())
    m = np.array([[len(set(picks[a]) & set(picks[b])) for b in names] for a in names])
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.8 + 0.7 * len(names)))
    ax.imshow(m, cmap="Blues", vmin=0, vmax=k)
    ax.set_xticks(range(len(names)), [_name(a) for a in names], rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), [_name(a) for a in names], fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, m[i, j], ha="center", va="center", fontsize=8, color="white" if m[i, j] > k / 2 else "black")
    ax.set_title(f"shared picks among the top {k}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_toy_step(X, y, step, ax=None, title=None):
    """The toy problem at one step: p(y=1) as a background, labelled points, the next query circled."""
    from .toy import toy_grid

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4, 3.4))
    xx, yy, _ = toy_grid(X, int(np.sqrt(step.grid_proba.size)))
    ax.contourf(xx, yy, step.grid_proba.reshape(xx.shape), levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.5)
    ax.contour(xx, yy, step.grid_proba.reshape(xx.shape), levels=[0.5], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c="0.6", s=4, label="pool")
    lab = step.labelled
    ax.scatter(X[lab, 0], X[lab, 1], c=np.where(y[lab] == 1, "C3", "C0"), s=30, edgecolors="k", linewidths=0.6, label="labelled")
    if step.acquired is not None:
        ax.scatter(*X[step.acquired], s=160, facecolors="none", edgecolors="gold", linewidths=2.5, label="next query")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{len(lab)} labels, test acc. {step.accuracy:.0%}", fontsize=9)
    return fig


def plot_reference_curves(ax, curves: dict, names=None, label="authors' released curve", style=":"):
    """Draw reference curves ``{name: (n_labelled, test_error)}`` (e.g. the authors' released ones) onto ``ax``.

    Each curve takes the colour of its acquisition function and the line ``style``; they are drawn in
    the order of :func:`plot_learning_curves`, so the two legends list the functions alike.
    """
    for name, (n, err) in _in_color_order(curves).items():
        if names is not None and name not in names:
            continue
        ax.plot(n, 100 * np.asarray(err), style, color=COLORS.get(name, "k"), lw=1.3, label=f"{_name(name)}, {label}")
    ax.legend(fontsize=7)
    return ax.figure


def plot_protocol_study(baseline, study: dict, reference=None, first: int = 11, acquisitions=("bald", "random")):
    """The protocol study at a glance: mean test error over the first labelled-set sizes, per protocol.

    ``baseline`` is a list of runs (the unchanged protocol), ``study`` maps a
    protocol name to its runs and ``reference`` optionally maps acquisition
    names to reference curves ``(n_labelled, test_error)``. For every protocol
    and acquisition function, the bar is the test error averaged over the
    first ``first`` points of the curve (and over seeds), with one dot per seed.
    """

    groups = {"unchanged (paper preset)": baseline, **study}
    width = 0.8 / len(acquisitions)
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.55 * len(groups)))
    for j, acq in enumerate(acquisitions):
        for i, runs in enumerate(groups.values()):
            per_seed = [100 * curve(r)[1][:first].mean() for r in runs if r["acquisition"] == acq and len(r["history"]) >= first]
            if not per_seed:
                continue
            y = i + (j - (len(acquisitions) - 1) / 2) * width
            ax.barh(y, np.mean(per_seed), height=width, color=COLORS.get(acq), alpha=0.75, label=_name(acq) if i == 0 else None)
            ax.plot(per_seed, [y] * len(per_seed), "k.", ms=3)
        if reference and acq in reference:
            n, err = reference[acq]
            ax.axvline(100 * np.asarray(err)[:first].mean(), color=COLORS.get(acq), ls="--", lw=1.2, label=f"{_name(acq)}, authors' released curve")
    n0 = mean_curves(baseline)
    sizes = next(iter(n0.values()))[0][:first] if n0 else []
    ax.set_yticks(range(len(groups)), list(groups), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"mean test error (%) over {sizes[0]}-{sizes[-1]} labels" if len(sizes) else "mean test error (%)")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_batch_choice(probs, origin, picks: dict):
    """Which pool items each batch method picked, under their BALD scores (chapter 6).

    ``probs`` is ``(T, N, C)``, ``origin[i]`` the distinct image that item i
    copies (copies adjacent, as :func:`bal_utils.toy.redundant_pool` makes
    them) and ``picks`` maps a method's label to its chosen positions in pick
    order. Top: each item's BALD score, coloured by the image it copies.
    Bottom: one row per method, the pick order written on the chosen items,
    and the batch's joint mutual information (exact) at the right.
    """
    from .acquisition import bald
    from .batch import joint_mutual_information

    origin = np.asarray(origin)
    scores = bald(probs)
    x = np.arange(len(scores)) + origin * 0.8  # a gap between the copies of different images
    colors = [plt.cm.tab10(o % 10) for o in origin]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 2.6 + 0.45 * len(picks)), sharex=True, height_ratios=[2.2, 0.5 + 0.45 * len(picks)])
    top.bar(x, scores, color=colors, width=0.85)
    top.set_ylabel("BALD score (nats)")
    top.grid(alpha=0.3, axis="y")
    for row, (label, chosen) in enumerate(picks.items()):
        chosen = [int(i) for i in chosen]
        bottom.scatter(x, np.full(len(x), row), s=18, color="0.85")
        for order, i in enumerate(chosen, start=1):
            bottom.scatter(x[i], row, s=170, color=colors[i], edgecolor="k", zorder=3)
            bottom.text(x[i], row, str(order), ha="center", va="center", fontsize=7, zorder=4)
        mi = joint_mutual_information(probs, chosen)
        distinct = len(set(origin[chosen].tolist()))
        bottom.text(x[-1] + 1.5, row, f"I = {mi:.2f} nats, {distinct} distinct", va="center", fontsize=8)
    bottom.set_yticks(range(len(picks)), list(picks), fontsize=8)
    bottom.set_ylim(len(picks) - 0.5, -0.5)
    bottom.set_xlim(x[0] - 1, x[-1] + 9)
    starts = [x[origin == o].mean() for o in np.unique(origin)]
    bottom.set_xticks(starts, [f"image {o + 1}" for o in np.unique(origin)], fontsize=8)
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_repeated_acquisitions(runs, ax=None):
    """Repeated-MNIST: acquired images that copy an image acquired before, against labelled images (mean over seeds)."""

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    for acq, pairs in _by_acquisition(runs, lambda r: (curve(r)[0], repeated_acquisitions(r))).items():
        n, copies = aligned(pairs)
        ax.plot(n, copies.mean(0), LINESTYLES.get(acq, "-"), color=COLORS.get(acq), lw=2.2 if acq == "random" else 1.5,
                label=_seeds_label(acq, len(pairs)))
    ax.set_xlabel("labelled images")
    ax.set_ylabel("acquired copies of an image\nalready acquired")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
