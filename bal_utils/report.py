"""The text report of a results folder (``python -m bal_utils report DIR``)."""

from __future__ import annotations

from .acquisition import DISPLAY_NAMES
from .analysis import summarise
from .provenance import provenance_summary


def format_report(runs, errors=(0.10, 0.05)) -> str:
    """The labels-to-reach table and the error at the last step, as text.

    Runs of several configurations (a folder of sub-grids, such as the protocol
    study) get one table each, headed by the configuration's name: seeds are
    only averaged within a configuration.
    """
    if not runs:
        return "no runs found"
    by_name = {}
    for run in runs:
        by_name.setdefault(str(run.get("config", {}).get("name", "?")), []).append(run)
    if len(by_name) == 1:
        return _report_table(runs, errors)
    return "\n\n".join(f"== {name} ({len(group)} run{'s' * (len(group) > 1)})\n{_report_table(group, errors)}" for name, group in sorted(by_name.items()))


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
