"""Small helpers for the book's notebooks: numbers for the prose, tables a reader compares.

``glue`` hands a computed value to the text (myst-nb's ``{glue:text}`` role),
so no number in the prose is typed by hand. Outside Jupyter Book (Colab, a
laptop) myst-nb may be missing; the value is then only kept in :data:`GLUED`.
"""

from __future__ import annotations

import ast
import html
import re

#: Every value glued in this kernel, by name (also where myst-nb is missing).
GLUED: dict = {}


def glue(name: str, value, display: bool = False) -> None:
    """Make ``value`` available to the prose as ``{glue:text}`name```.

    Returns nothing, so a ``glue`` call that ends a cell prints nothing.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalar -> float / int
        value = value.item()  # so that {glue:text}`name:.1f` can format its text
    if isinstance(value, str):  # the text itself, not its repr with quotes
        _check_shows_as_is(name, value)
        value = _Text(value)
    GLUED[name] = value
    try:
        from myst_nb import glue as _glue
    except ImportError:  # not building the book: nothing to hand over
        return
    _glue(name, value, display=display)


def _check_shows_as_is(name: str, text: str) -> None:
    """myst-nb reads a glued text as a Python literal when it can: "430, 490, 480" would show as a tuple."""
    try:
        shown = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return
    if isinstance(shown, (tuple, list, set, dict)):
        raise ValueError(f"glue {name!r}: the text {text!r} would show as {shown!r} on the page "
                         "(myst-nb reads glued text as a Python literal); join the items with 'and' or reword it")


def listed(items) -> str:
    """Items as prose: ``["430", "490", "480"]`` -> ``"430, 490 and 480"``, a text that ``glue`` shows as is."""
    items = [str(i) for i in items]
    if not items:
        raise ValueError("listed: expected at least one item, got none")
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class _Text(str):
    """A string whose repr is itself, so that a glued string shows without quotes."""

    def __repr__(self):
        return str(self)


_NUMERIC = re.compile(r"^[\d\s.,%/±—+()-]+$")


def html_table(header, rows, caption=None):
    """An HTML table (an ``IPython.display.HTML``) from a header row and rows of cells.

    Cells are escaped text; numbers are right-aligned. Use it for any table a
    reader compares: printed text gets cut at the right edge of a page.
    """
    from IPython.display import HTML

    def cell(tag, value):
        align = ' style="text-align:right"' if isinstance(value, (int, float)) or _NUMERIC.match(str(value)) else ""
        return f"<{tag}{align}>{html.escape(str(value))}</{tag}>"

    head = "".join(cell("th", h) for h in header)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return HTML(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def config_value(field: str, value) -> str:
    """A config field's value in words: lists comma-separated, acquisition functions by their
    display names, ``per_acquisition`` as "BALD: dense layer width = 256", ``None`` as "all"."""
    from .acquisition import DISPLAY_NAMES

    if field == "per_acquisition":
        return "; ".join(f"{DISPLAY_NAMES.get(a, a)}: " + ", ".join(f"{FIELD_WORDS.get(k, k)} = {v}" for k, v in dict(c).items())
                         for a, c in dict(value).items()) or "none"
    if field == "acquisitions":
        return ", ".join(DISPLAY_NAMES.get(a, a) for a in value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if (field, value) in VALUE_WORDS:
        return VALUE_WORDS[field, value]
    return "all" if value is None else str(value)


#: Option values in words, for the tables of the book.
VALUE_WORDS = {
    ("init", "keras3"): "Glorot, Keras 3's fans",
    ("init", "keras0"): "Glorot, Keras 0.x's fans (the authors' code)",
    ("architecture", "seed"): "3x3 convolutions, 5x5 pool (the authors' code)",
    ("architecture", "paper_text"): "4x4 convolutions, 2x2 pool (the paper's text)",
    ("batching", "balanced"): "an epoch cut into equal batches",
    ("batching", "keras"): "full batches and a smaller remainder (Keras' fit)",
    ("mc_masks", "shared"): "one mask per pass for every image",
    ("mc_masks", "per_image"): "one mask per image and pass",
    ("scoring", "mc_dropout"): "T MC-dropout passes",
    ("scoring", "deterministic"): "one pass, dropout off",
    ("posterior", "mc_dropout"): "MC dropout",
    ("posterior", "ensemble"): "an ensemble of networks",
}


#: Each :class:`~bal_utils.config.Config` field in words, for the tables of the book.
FIELD_WORDS = {
    "name": "name of the configuration",
    "dataset": "data set",
    "initial_per_class": "initial labelled images per class",
    "n_validation": "validation images (never trained on or scored)",
    "n_pool": "pool size",
    "n_test": "test images",
    "n_steps": "acquisitions per run",
    "acquire_per_step": "images acquired per acquisition",
    "mc_samples": "MC-dropout passes T when scoring",
    "pool_subset": "pool images scored per acquisition",
    "epochs": "epochs per retraining",
    "batch_size": "largest mini-batch",
    "batching": "how an epoch is cut into mini-batches",
    "learning_rate": "Adam step size",
    "weight_decay_c": "weight decay c (L2 c / N on the dense layer)",
    "dropout_trunk": "dropout rate after the convolutions",
    "dropout_head": "dropout rate after the dense layer",
    "seeds": "seeds (one run each)",
    "acquisitions": "acquisition functions",
    "dense_units": "dense layer width",
    "init": "weight initialisation",
    "architecture": "network shape",
    "mc_masks": "dropout masks when scoring",
    "warm_start": "keep the weights between acquisitions",
    "n_targets": "EPIG's target images per acquisition",
    "scoring": "how the pool is scored",
    "pool_repeats": "copies of each pool image (Repeated-MNIST)",
    "repeat_noise_std": "noise on each copy (fraction of the pixel range)",
    "posterior": "posterior samples from",
    "ensemble_size": "networks in an ensemble",
    "target_classes": "classes the predictions are wanted for",
    "rare_classes": "classes kept rare in the pool",
    "rare_fraction": "share of a rare class's pool images kept",
    "per_acquisition": "changes for single acquisition functions",
}


def config_table(config, fields=None):
    """The fields of a :class:`~bal_utils.config.Config` as an HTML table: the setting in words,
    the field's name (for ``--set FIELD=VALUE``) and its value in words."""
    values = config.to_dict()
    names = fields or list(values)
    return html_table(["setting", "config field", "value"],
                      [[FIELD_WORDS.get(k, k), k, config_value(k, values[k])] for k in names])


def figure_style(dpi: int = 100, colors: int = 256) -> None:
    """The book's figures: ``dpi`` pixels per inch (text stays readable at the page's width),
    and, in a notebook, PNGs stored with a palette of at most ``colors`` colours, which takes
    about a third of the bytes of full colour for line plots and looks the same.

    Call it after ``import matplotlib.pyplot``; outside IPython it only sets the resolution.
    """
    import matplotlib.pyplot as plt

    plt.rcParams["figure.dpi"] = plt.rcParams["savefig.dpi"] = dpi
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    plt.close(plt.figure())  # loads the inline backend now, so that its own PNG formatter does not replace ours

    def png(fig):
        import io

        from PIL import Image

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        image = Image.open(buf).convert("RGB").quantize(colors=colors)
        out = io.BytesIO()
        image.save(out, format="png", optimize=True, dpi=(dpi, dpi))
        return out.getvalue()

    shell.display_formatter.formatters["image/png"].for_type(Figure, png)
