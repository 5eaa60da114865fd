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
import sys
import tempfile
import time
from pathlib import Path

from .config import Config

SCHEMA = "bal_utils.run/1"
STEP_KEYS = ("step", "n_labelled", "pool_size", "test_accuracy", "test_error", "acquired_indices", "acquired_labels", "seconds")


def run_filename(acquisition: str, seed: int) -> str:
    """File name of one run inside a results directory."""
    return f"{acquisition}-seed{int(seed)}.json"


#: Seconds to pause between writing the temporary file and renaming it (tests only).
_FAULT_DELAY_VAR = "BAL_FAULT_WRITE_DELAY"


def remove_stale_temporaries(path) -> int:
    """Delete temporary files that a killed :func:`atomic_write_json` left beside ``path``."""
    path = Path(path)
    stale = list(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return len(stale)


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
