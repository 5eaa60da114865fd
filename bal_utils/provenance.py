"""Where a result came from: the commit, the machine, the time."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from . import __version__


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_commit(directory=None):
    """``(commit, dirty)`` of the repository holding ``directory`` (default: this package), or ``(None, None)``.

    ``BAL_GIT_COMMIT``, where set, is taken instead: the commit that a copy of a
    checkout (sent to another machine, say, whose ``.git`` may be missing or stale)
    was made from, with ``+dirty`` appended if the copy had uncommitted changes.
    """
    where = str(directory or Path(__file__).resolve().parent)
    given = os.environ.get("BAL_GIT_COMMIT", "").strip()
    if given:
        return given.removesuffix("+dirty"), given.endswith("+dirty")
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
        info["gpus"] = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    return info


def device_summary() -> str:
    """One line: Keras version and backend, GPUs found, CPU count."""
    info = machine_info()
    gpus = info.get("gpus", [d for d in info.get("devices", []) if "cpu" not in d.lower()])
    return f"Keras {info['keras']} on {info['backend']}; GPU: {', '.join(gpus) if gpus else 'none'}; {info['cpu_count']} CPU cores"


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


def commit_run_file(path) -> None:
    """``git add`` and ``git commit`` one finished run file in the repository that holds it (for ``grid --commit``)."""
    where, name = os.path.dirname(os.path.abspath(str(path))), os.path.basename(str(path))
    subprocess.run(["git", "add", name], cwd=where, check=False)
    subprocess.run(["git", "commit", "-q", "-m", f"Add results: {name}", "--", name], cwd=where, check=False)


def stamp() -> dict:
    """The provenance block a new results file starts with: package version, commit, machine, time."""
    commit, dirty = git_commit()
    now = now_iso()
    return {"package_version": __version__, "git_commit": commit, "git_dirty": dirty,
            "machine": machine_info(), "started": now, "updated": now}


def resume_stamp(at_step: int) -> dict:
    """What is appended to ``provenance["resumes"]`` when a run carries on at ``at_step``."""
    commit, dirty = git_commit()
    return {"at_step": int(at_step), "git_commit": commit, "git_dirty": dirty, "machine": machine_info(), "time": now_iso()}
