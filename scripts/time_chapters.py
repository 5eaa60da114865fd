"""Execute every chapter at the current size and print its wall time (nothing is written).

    python scripts/time_chapters.py                 # teaching size, the default
    BAL_SMOKE=1 python scripts/time_chapters.py     # smoke size
    python scripts/time_chapters.py notebooks/03_mc_dropout.ipynb

The figures in book/how-to-run.md come from this script.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        print(f"{path.name}: {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
