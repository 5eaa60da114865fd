"""The scripts in scripts/: the reproduction check of committed results."""

import json
import subprocess
import sys
from pathlib import Path

from bal_utils import run_active_learning

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_reproduces.py"


def _check(path, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), str(path), *extra], capture_output=True, text=True, timeout=300)


def test_check_reproduces_passes_on_a_real_run_and_catches_a_changed_one(tmp_path, smoke):
    run_active_learning(smoke, "max_entropy", seed=1, out_dir=tmp_path, progress=False)
    path = tmp_path / "max_entropy-seed1.json"
    ok = _check(path, "--steps", "2")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "reproduced exactly" in ok.stdout and ok.stdout.count(" yes") == 2

    record = json.loads(path.read_text())
    record["history"][1]["acquired_indices"] = record["history"][1]["acquired_indices"][::-1]
    record["history"][1]["test_error"] += 0.01
    path.write_text(json.dumps(record))
    bad = _check(path, "--steps", "2")
    assert bad.returncode == 1 and "DIFFERENT" in bad.stdout and " NO" in bad.stdout

    usage = _check(path, "--steps", "0")
    assert usage.returncode == 2 and "--steps=0" in usage.stderr
