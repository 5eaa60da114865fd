"""Results files: one JSON file per run, written atomically, validated on load.

Layout of a run file (``<out>/<acquisition>-seed<seed>.json``)::

    {
      "schema": "bal_utils.run/1",
      "status": "running" | "complete",
      "acquisition": "bald", "seed": 0,
      "config": {... every Config field ...},
      "data": {"source": ..., "sha256": ...},
      "provenance": {"package_version", "git_commit", "git_dirty", "machine": {...},
                     "started", "updated",
                     "resumes": [{"at_step", "git_commit", "git_dirty", "machine", "time"}, ...]},
      "wall_seconds": 612.3,            # summed over every session of the run
      "history": [                      # one record per trained model: n_steps + 1
        {"step": 0, "n_labelled": 20, "pool_size": 59880,
         "test_accuracy": 0.71, "test_error": 0.29,
         "acquired_indices": [...k training-set indices...], "acquired_labels": [...],
         "seconds": {"train": 1.2, "evaluate": 0.7, "score": 0.4}},
        ...
      ]
    }

Record ``s`` is the model trained on ``n_labelled`` images and what it then
acquired; the last record acquires nothing. With ``pool_repeats > 1``
(Repeated-MNIST) indices past the training set are the pool's noisy copies
(:func:`bal_utils.data.repeat_pool` maps them back to their originals). The file doubles as the run's
checkpoint: it is rewritten after every step, so a run killed at any moment
resumes from its last finished step.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


from .acquisition import DISPLAY_NAMES
from .analysis import summarise
from .config import Config

SCHEMA = "bal_utils.run/1"
STEP_KEYS = ("step", "n_labelled", "pool_size", "test_accuracy", "test_error", "acquired_indices", "acquired_labels", "seconds")


def run_filename(acquisition: str, seed: int) -> str:
    """File name of one run inside a results directory."""
    return f"{acquisition}-seed{int(seed)}.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_commit(directory=None):
    """``(commit, dirty)`` of the repository holding ``directory`` (default: this package), or ``(None, None)``."""
    where = str(directory or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True, text=True, timeout=10)
        return commit.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def machine_info() -> dict:
    """What ran the code: platform, CPU count, Python, Keras and backend versions."""
    from ._backend import keras

    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        if names:
            info["cpu_model"] = names[0]
    except OSError:
        pass
    if info["backend"] == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        info["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif info["backend"] == "jax":
        import jax

        info["jax"] = jax.__version__
        info["devices"] = [str(d) for d in jax.devices()]
    return info


#: Seconds to pause between writing the temporary file and renaming it (tests only).
_FAULT_DELAY_VAR = "BAL_FAULT_WRITE_DELAY"


def remove_stale_temporaries(path) -> int:
    """Delete temporary files that a killed :func:`atomic_write_json` left beside ``path``."""
    path = Path(path)
    stale = list(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return len(stale)


def device_summary() -> str:
    """One line: Keras version and backend, GPUs found, CPU count."""
    info = machine_info()
    gpus = info.get("gpus", [d for d in info.get("devices", []) if "cpu" not in d.lower()])
    return f"Keras {info['keras']} on {info['backend']}; GPU: {', '.join(gpus) if gpus else 'none'}; {info['cpu_count']} CPU cores"


def atomic_write_json(path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` so that a reader (or a crash) never sees half a file.

    The text goes to a temporary file in the same directory, is flushed and
    fsynced, then renamed over ``path`` (an atomic replace on POSIX and Windows).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        if _FAULT_DELAY_VAR in os.environ:  # fault injection: widen the window a kill can hit
            time.sleep(float(os.environ[_FAULT_DELAY_VAR]))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def commit_run_file(path) -> None:
    """``git add`` and ``git commit`` one finished run file in the repository that holds it (for ``grid --commit``)."""
    where, name = os.path.dirname(os.path.abspath(str(path))), os.path.basename(str(path))
    subprocess.run(["git", "add", name], cwd=where, check=False)
    subprocess.run(["git", "commit", "-q", "-m", f"Add results: {name}", "--", name], cwd=where, check=False)


def _bad(path, problem):
    raise ValueError(f"results file {path}: {problem}")


def validate_run(record, path="<memory>") -> dict:
    """Check the structure of a run record; raise ``ValueError`` naming the file and the problem."""
    if not isinstance(record, dict):
        _bad(path, f"expected a JSON object, got {type(record).__name__}")
    if record.get("schema") != SCHEMA:
        _bad(path, f"schema is {record.get('schema')!r}; expected {SCHEMA!r}")
    for key in ("status", "acquisition", "seed", "config", "history"):
        if key not in record:
            _bad(path, f"missing key {key!r}")
    if record["status"] not in ("running", "complete"):
        _bad(path, f"status is {record['status']!r}; expected 'running' or 'complete'")
    try:
        config = Config.from_dict(record["config"])
    except (TypeError, ValueError) as err:
        _bad(path, f"bad config: {err}")
    history = record["history"]
    if not isinstance(history, list):
        _bad(path, "history is not a list")
    seen = set()
    for i, step in enumerate(history):
        if not isinstance(step, dict) or any(k not in step for k in STEP_KEYS):
            _bad(path, f"history[{i}] lacks some of the keys {list(STEP_KEYS)}")
        if step["step"] != i:
            _bad(path, f"history[{i}] has step={step['step']!r}; expected {i}")
        expected = config.n_initial + i * config.acquire_per_step
        if step["n_labelled"] != expected:
            _bad(path, f"history[{i}] has n_labelled={step['n_labelled']!r}; expected {expected}")
        acc = step["test_accuracy"]
        if not isinstance(acc, (int, float)) or not 0 <= acc <= 1 or not math.isfinite(acc):
            _bad(path, f"history[{i}] has test_accuracy={acc!r}; expected a number in [0, 1]")
        acquired = step["acquired_indices"]
        n_expected = config.acquire_per_step if i < config.n_steps else 0
        if not isinstance(acquired, list) or len(acquired) != n_expected:
            _bad(path, f"history[{i}] acquired {len(acquired) if isinstance(acquired, list) else acquired!r} images; expected {n_expected}")
        if seen.intersection(acquired) or len(set(acquired)) != len(acquired):
            _bad(path, f"history[{i}] acquires an image that was acquired before")
        seen.update(acquired)
    if len(history) > config.n_steps + 1:
        _bad(path, f"history has {len(history)} records; expected at most n_steps + 1 = {config.n_steps + 1}")
    if record["status"] == "complete" and len(history) != config.n_steps + 1:
        _bad(path, f"status is 'complete' but history has {len(history)} of {config.n_steps + 1} records")
    return record


def load_run(path) -> dict:
    """Read and validate one run file."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"results file {path}: cannot be read ({err})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"results file {path}: damaged JSON ({err}); delete it to start this run again, "
            "or restore it from version control"
        ) from None
    return validate_run(record, path)


def load_runs(directory, skip_bad: bool = False) -> list:
    """All run files under ``directory`` (recursively), sorted by acquisition and seed.

    A file that is not a valid run file raises ``ValueError``; with
    ``skip_bad=True`` it is left out with a warning on stderr naming it and why.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"results directory {directory}: not a directory")
    runs = []
    for path in sorted(directory.rglob("*.json")):
        try:
            record = load_run(path)
        except ValueError as err:
            if not skip_bad:
                raise
            print(f"warning: skipped {err}", file=sys.stderr)
            continue
        record["_path"] = str(path)
        runs.append(record)
    return sorted(runs, key=lambda r: (r["acquisition"], r["seed"]))


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


def provenance_summary(runs) -> str:
    """One line: which presets, commits and machines made ``runs`` (resumes included), and how many are complete."""
    names = sorted({str(r.get("config", {}).get("name", "?")) for r in runs})
    commits, machines, dirty = set(), set(), False
    for r in runs:
        prov = r.get("provenance") or {}
        for p in [prov, *prov.get("resumes", [])]:
            if p.get("git_commit"):
                commits.add(str(p["git_commit"])[:8])
            dirty |= bool(p.get("git_dirty"))
            m = p.get("machine") or {}
            if m:
                machines.add(f"{m.get('cpu_model', m.get('processor', '?'))}, {m.get('cpu_count', '?')} cores, keras {m.get('keras', '?')} on {m.get('backend', '?')}")
    complete = sum(r.get("status") == "complete" for r in runs)
    return (f"{complete} of {len(runs)} runs complete; config {', '.join(names)}; "
            f"commits {', '.join(sorted(commits)) or 'not recorded'}{' (some with uncommitted changes)' if dirty else ''}; "
            f"machines: {'; '.join(sorted(machines)) or 'not recorded'}")


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
    import gzip

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
    from importlib import resources

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
    import gzip
    from importlib import resources

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
