"""The text report of a results folder (``python -m bal_utils report DIR``)."""

from __future__ import annotations

from .acquisition import DISPLAY_NAMES
from .analysis import acquired_to_reach, mean_curves, summarise
from .provenance import provenance_summary

#: How the report counts images to reach an error: labelled images per seed, averaged
#: (``"seeds"``), or acquired images read from the mean curve over seeds, as the paper's
#: Table 1 and the book's chapters count (``"mean-curve"``).
CONVENTIONS = ("seeds", "mean-curve")


def format_report(runs, errors=(0.10, 0.05), convention: str = "seeds") -> str:
    """The labels-to-reach table and the error at the last step, as text.

    ``convention`` (:data:`CONVENTIONS`) says how images to reach an error are counted; the
    table's last lines say which.

    Runs of several configurations (a folder of sub-grids, such as the protocol
    study) get one table each, headed by the configuration's name: seeds are
    only averaged within a configuration.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention={convention!r} is not allowed: expected one of {list(CONVENTIONS)}")
    if not runs:
        return "no runs found"
    by_name = {}
    for run in runs:
        by_name.setdefault(str(run.get("config", {}).get("name", "?")), []).append(run)
    table = _mean_curve_table if convention == "mean-curve" else _report_table
    if len(by_name) == 1:
        return table(runs, errors)
    return "\n\n".join(f"== {name} ({len(group)} run{'s' * (len(group) > 1)})\n{table(group, errors)}" for name, group in sorted(by_name.items()))


def _mean_curve_table(runs, errors):
    heads = ["acquisition", "seeds"] + [f"acquired to {100 * e:g}% error" for e in errors] + ["last step error"]
    rows = []
    for acq, (n, err, _, seeds) in mean_curves(runs).items():
        row = [DISPLAY_NAMES.get(acq, acq), str(seeds)]
        for e in errors:
            hit = acquired_to_reach(n, err, e, n_initial=int(n[0]))
            row.append("not reached" if hit is None else str(hit))
        row.append(f"{100 * err[-1]:.2f}% at {int(n[-1])}")
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(heads, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(heads), line("-" * w for w in widths)] + [line(r) for r in rows]
    out.append("acquired = labelled images minus the initial set, read from the mean curve over seeds "
               "(each function's runs cut to its shortest), as the paper's Table 1 counts")
    out.append(provenance_summary(runs))
    return "\n".join(out)


def _report_table(runs, errors):

    table = summarise(runs, errors)
    heads = ["acquisition", "runs"] + [f"labels to {100 * e:g}% error" for e in errors] + ["last step error"]
    rows = []
    for acq, entry in table.items():
        status = sum(r["status"] == "complete" for r in runs if r["acquisition"] == acq)
        n = len(entry["seeds"])
        row = [DISPLAY_NAMES.get(acq, acq), f"{n} ({status} complete)"]
        for e in errors:
            r = entry["reach"][e]
            if r["mean"] is None:
                row.append(f"not reached (0/{n})")
            else:  # no spread of a single value
                spread = f" ± {r['std']:.0f}" if r["reached"] > 1 else ""
                more = " (n = 1)" if n == 1 else "" if r["reached"] == n else f" ({r['reached']}/{n} reached)"
                row.append(f"{r['mean']:.0f}{spread}{more}")
        spread = f" ± {100 * entry['final_error_std']:.2f}" if n > 1 else ""
        row.append(f"{100 * entry['final_error_mean']:.2f}%{spread} at {entry['final_n_labelled']}" + (" (n = 1)" if n == 1 else ""))
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(heads, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(heads), line("-" * w for w in widths)] + [line(r) for r in rows]
    out.append("labels = labelled images including the initial set; mean ± sample std over seeds")
    out.append(provenance_summary(runs))
    return "\n".join(out)
