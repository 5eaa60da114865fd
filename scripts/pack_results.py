"""Ship the committed grids inside the package, so that a pip install (Colab) reads them.

    python scripts/pack_results.py            # every grid under results/
    python scripts/pack_results.py --check    # exit 1 if a shipped copy differs from results/

Writes ``bal_utils/resources/grids/<grid>.json.gz`` (all runs of ``results/<grid>``,
sub-folders included) for :func:`bal_utils.packed.load_grid`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bal_utils.packed import pack_grid

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default=str(ROOT / "results"))
    p.add_argument("--out", default=str(ROOT / "bal_utils" / "resources" / "grids"))
    p.add_argument("--check", action="store_true", help="compare instead of writing")
    args = p.parse_args(argv)
    grids = sorted(d for d in Path(args.results).iterdir() if d.is_dir() and any(d.rglob("*.json")))
    stale = []
    for grid in grids:
        target = Path(args.out) / f"{grid.name}.json.gz"
        if args.check:
            with tempfile.TemporaryDirectory() as tmp:
                pack_grid(grid, Path(tmp) / "x.json.gz")
                if not target.is_file() or target.read_bytes() != (Path(tmp) / "x.json.gz").read_bytes():
                    stale.append(grid.name)
        else:
            n = pack_grid(grid, target)
            print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: {n} runs, {target.stat().st_size / 1024:.0f} KB")
    if stale:
        print(f"shipped copies differ from results/ for: {', '.join(stale)}; run python scripts/pack_results.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
