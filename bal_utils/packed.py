"""The committed grids, read from ``results/`` or from the copy shipped inside the package."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

from .results import load_runs, validate_run

#: Where :func:`load_grid` finds the copies of the committed grids shipped inside the package.
PACKED_GRIDS = ("resources", "grids")


def pack_grid(directory, out_path) -> int:
    """Write every run under ``directory`` into one gzipped JSON file (what :func:`load_grid` ships).

    Returns the number of runs written. ``scripts/pack_results.py`` calls it
    for every grid under ``results/``. Partial runs (``status`` "running") are
    shipped too, so that an installed package reads the same runs as a
    checkout's ``results/`` (the notebooks show a grid in progress as far as
    it goes, and filter on ``status`` where they need complete runs).
    """
    runs = load_runs(directory)
    for run in runs:
        run["_path"] = str(Path(run["_path"]).relative_to(Path(directory)))
    data = json.dumps(runs, separators=(",", ":"), sort_keys=True).encode()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "wb") as fh:  # mtime=0: the same runs give the same bytes
        fh.write(gzip.compress(data, compresslevel=9, mtime=0))
    return len(runs)


def packed_grids() -> list:
    """Names of the grids shipped inside the package."""
    folder = resources.files("bal_utils").joinpath(*PACKED_GRIDS)
    return sorted(p.name[: -len(".json.gz")] for p in folder.iterdir() if p.name.endswith(".json.gz")) if folder.is_dir() else []


def load_grid(name: str, directory=None) -> list:
    """The runs of a committed grid, e.g. ``load_grid("authors")``.

    Looks in ``directory`` if given, else in ``results/<name>`` of the book's
    repository (from the current directory or its parent, as notebooks run in
    ``notebooks/``), else in the copy shipped inside the package (so that a
    ``pip install`` on Colab sees the same results). Runs are sorted by
    acquisition and seed; each has ``_source``, where it was read from.
    """
    candidates = [Path(directory)] if directory is not None else [Path("results") / name, Path("..") / "results" / name]
    for folder in candidates:
        if folder.is_dir():
            runs = load_runs(folder)
            for run in runs:
                run["_source"] = str(folder)
            return runs
    if directory is not None:
        raise ValueError(f"results directory {directory}: not a directory")
    packed = resources.files("bal_utils").joinpath(*PACKED_GRIDS, f"{name}.json.gz")
    if not packed.is_file():
        raise ValueError(f"grid {name!r}: no results/{name} here and none shipped with the package; shipped: {packed_grids()}")
    runs = json.loads(gzip.decompress(packed.read_bytes()))
    for run in runs:
        validate_run(run, f"{name}.json.gz:{run.get('_path')}")
        run["_source"] = f"bal_utils/{'/'.join(PACKED_GRIDS)}/{name}.json.gz"
    return sorted(runs, key=lambda r: (r["acquisition"], r["seed"]))
