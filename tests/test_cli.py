"""Command-line messages: one line, ``error: ``, naming the option, the bad value and what is allowed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bal_utils import get_preset, load_mnist, load_run, load_runs, run_active_learning
from bal_utils.cli import main, parse_errors

ROOT = Path(__file__).resolve().parents[1]

SMOKE = ["--preset", "smoke", "--set", "dataset=mnist-subset"]


def _error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_download_failure_says_how_to_use_a_local_file(monkeypatch, capsys, tmp_path):
    from bal_utils._backend import keras

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/mnist.npz: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.delenv("BAL_MNIST", raising=False)
    with pytest.raises(ValueError, match="MNIST download failed .*Name or service not known.*BAL_MNIST"):
        load_mnist("mnist")
    assert main(["run", "--preset", "paper", "--acquisition", "bald", "--out", str(tmp_path / "x")]) == 2
    line = _error_line(capsys)
    assert "MNIST download failed" in line and "BAL_MNIST" in line and "--data" in line and ".npz" in line


def _garbage_files(tmp_path):
    rand = tmp_path / "random.npz"
    rand.write_bytes(np.random.default_rng(0).bytes(1000))
    keys = tmp_path / "keys.npz"
    np.savez(keys, images=np.zeros((3, 28, 28), np.uint8))
    return [(tmp_path, "is a directory; expected an MNIST .npz file"), (rand, "not a valid MNIST .npz"), (keys, "not a valid MNIST .npz: missing key")]


def test_bad_data_files_say_what_is_expected(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("BAL_MNIST", raising=False)
    for path, problem in _garbage_files(tmp_path):
        with pytest.raises(ValueError, match=problem) as err:
            load_mnist("mnist", path)
        assert "pickle" not in str(err.value) and "x_train, y_train, x_test, y_test" in str(err.value)
        assert main(["run", "--preset", "paper", "--acquisition", "bald", "--out", str(tmp_path / "out"), "--data", str(path)]) == 2
        line = _error_line(capsys)
        assert line.startswith(f"error: --data: MNIST data from {path}: {problem}")
        monkeypatch.setenv("BAL_MNIST", str(path))
        assert main(["grid", "--preset", "paper", "--out", str(tmp_path / "out")]) == 2
        assert _error_line(capsys).startswith(f"error: $BAL_MNIST: MNIST data from {path}: {problem}")
        monkeypatch.delenv("BAL_MNIST")


def test_out_that_cannot_be_a_directory(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["run", *SMOKE, "--acquisition", "bald", "--out", str(a_file)]) == 2
    assert _error_line(capsys) == f"error: --out {a_file}: is a file; expected a results directory (existing, or one that can be created)"
    assert main(["grid", *SMOKE, "--out", str(a_file / "sub")]) == 2
    assert _error_line(capsys).startswith(f"error: --out {a_file / 'sub'}: cannot create the directory (Not a directory)")


def test_grid_chunk_option(capsys, tmp_path):
    assert main(["grid", *SMOKE, "--out", str(tmp_path / "out"), "--chunk", "0"]) == 2
    assert _error_line(capsys).startswith("error: chunk=0 is not allowed: expected an integer >= 1")


def test_report_errors_option(capsys, tmp_path):
    assert parse_errors("0.10, 5%") == (0.10, 0.05)
    for bad, why in [("5", "5 is not in (0, 1)"), ("0.1,0", "0 is not in (0, 1)"), ("10%,x", "'x' is not a number"), ("150%", "150% is not in (0, 1)")]:
        assert main(["report", str(tmp_path), "--errors", bad]) == 2
        assert _error_line(capsys).startswith(f"error: --errors {bad!r}: {why}; expected test errors in (0, 1)")


def _fake_run(acq, seed, errors):
    cfg = get_preset("paper", n_steps=len(errors) - 1)
    hist = [
        {"step": i, "n_labelled": 20 + 10 * i, "pool_size": 100 - 10 * i, "test_accuracy": 1 - e, "test_error": e,
         "acquired_indices": list(range(10 * i, 10 * i + 10)) if i < len(errors) - 1 else [], "acquired_labels": [], "seconds": {}}
        for i, e in enumerate(errors)
    ]
    return {"schema": "bal_utils.run/1", "status": "complete", "acquisition": acq, "seed": seed, "config": cfg.to_dict(), "history": hist}


def test_report_skips_bad_files_and_shows_n_1(tmp_path, capsys):
    (tmp_path / "bald-seed0.json").write_text(json.dumps(_fake_run("bald", 0, [0.5, 0.2, 0.09])))
    (tmp_path / "bald-seed1.json").write_text(json.dumps(_fake_run("bald", 1, [0.5, 0.08, 0.07])))
    (tmp_path / "random-seed0.json").write_text(json.dumps(_fake_run("random", 0, [0.5, 0.3, 0.1])))
    (tmp_path / "damaged.json").write_text('{"schema": ')
    (tmp_path / "package.json").write_text('{"name": "x"}')
    with pytest.raises(ValueError, match="damaged.json: damaged JSON"):
        load_runs(tmp_path)  # strict by default
    assert main(["report", str(tmp_path), "--errors", "10%"]) == 0
    out, err = capsys.readouterr()
    warnings = err.strip().splitlines()
    assert len(warnings) == 2 and all(w.startswith("warning: skipped results file ") for w in warnings)
    assert "damaged.json: damaged JSON" in warnings[0] and "package.json: schema is None" in warnings[1]
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert "labels to 10% error" in out
    assert "35 ± 7" in rows["BALD"] and "8.00% ± 1.41 at 40" in rows["BALD"]  # sample SD of 30 and 40, of 7% and 9%
    assert "40 (n = 1)" in rows["Random"] and "10.00% at 40 (n = 1)" in rows["Random"] and "±" not in rows["Random"]


def test_report_into_a_closed_pipe_is_quiet(tmp_path):
    """`report ... | head -1`: the reader leaves early; no traceback."""
    for seed in range(3):
        (tmp_path / f"bald-seed{seed}.json").write_text(json.dumps(_fake_run("bald", seed, [0.5, 0.2, 0.09])))
    proc = subprocess.Popen([sys.executable, "-m", "bal_utils", "report", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # as `head` does once it has its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 1)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def _interrupt(command, out, tmp_path):
    """Start ``python -m bal_utils <command>``, send SIGINT once a step is saved; return (rc, stderr, seconds to exit)."""
    log = open(tmp_path / "stderr.txt", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "bal_utils", *command], stdout=subprocess.DEVNULL, stderr=log, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    end = time.time() + 300
    while time.time() < end and proc.poll() is None and not list(out.glob("*.json")):
        time.sleep(0.05)
    assert proc.poll() is None, "the command ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    t0 = time.time()
    rc = proc.wait(timeout=60)
    seconds = time.time() - t0
    log.seek(0)
    return rc, log.read(), seconds


@pytest.mark.parametrize("command", ["run", "grid"])
def test_ctrl_c_stops_promptly_and_says_how_to_resume(tmp_path, command):
    out = tmp_path / "out"
    args = [command, *SMOKE, "--steps", "20", "--out", str(out)] + (["--acquisition", "bald"] if command == "run" else ["--workers", "1"])
    rc, err, seconds = _interrupt(args, out, tmp_path)
    assert rc == 130 and seconds < 15, (rc, seconds, err)  # the old grid went on for 8-35 s
    assert "Traceback" not in err and "Warning" not in err and len(err.strip().splitlines()) < 12, err
    last = err.strip().splitlines()[-1]
    saved = out / "bald-seed0.json" if command == "run" else out
    assert last.startswith(f"interrupted: every finished step is saved in {saved} ")
    assert last.endswith(f"resume with the same command: python -m bal_utils {' '.join(args)}")
    path = out / "bald-seed0.json"
    size = path.stat().st_size
    time.sleep(3)  # nothing runs on: no worker writes another step, no pending run starts
    assert sorted(p.name for p in out.iterdir()) == ["bald-seed0.json"] and path.stat().st_size == size
    n = len(load_run(path)["history"])
    assert 1 <= n < 21
    config = get_preset("smoke", dataset="mnist-subset", n_steps=20)
    resumed = run_active_learning(config, "bald", 0, out_dir=out, until_step=n + 1, progress=False)
    assert len(resumed["history"]) == n + 1 and len(load_run(path)["history"]) == n + 1


def test_ctrl_c_that_tensorflow_turns_into_another_error_is_still_an_interrupt(monkeypatch, capsys, tmp_path):
    """CI once saw Ctrl-C surface from TensorFlow's C code as ``SystemError: ... bad argument to internal function``."""
    import bal_utils.cli as cli

    def interrupted_inside_c_code(args):
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            raise SystemError("Objects/listobject.c:338: bad argument to internal function")

    monkeypatch.setattr(cli, "_main", interrupted_inside_c_code)
    argv = ["run", *SMOKE, "--acquisition", "bald", "--out", str(tmp_path)]
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the tests were started in the background (nohup ... &)
    assert main(argv) == 130
    assert capsys.readouterr().err.startswith(f"interrupted: every finished step is saved in {tmp_path / 'bald-seed0.json'} ")
    assert signal.getsignal(signal.SIGINT) is before  # put back as it was

    def broken(args):
        raise SystemError("a real bug")

    monkeypatch.setattr(cli, "_main", broken)
    with pytest.raises(SystemError, match="a real bug"):  # without a Ctrl-C, an error is an error
        main(argv)


@pytest.mark.parametrize("argv, message", [
    (["run", "--acquisition", "baldd", "--seed", "0"], "argument --acquisition: invalid choice: 'baldd' (choose from 'bald'"),
    (["run", "--acquisition", "bald", "--seed", "-1"], "argument --seed: '-1' is not allowed: expected an integer >= 0"),
])
def test_a_mistyped_option_is_one_line_before_any_backend_and_creates_nothing(argv, message, tmp_path):
    out = tmp_path / "new"
    code = "import sys\nfrom bal_utils.cli import main\nmain(sys.argv[1:])\nprint('keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code, *argv, "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr.strip().splitlines()[-1], done.stderr
    assert not out.exists()


def test_steps_and_preset_mistakes_name_the_flag(capsys, tmp_path):
    out = tmp_path / "new"
    assert main(["run", *SMOKE, "--acquisition", "bald", "--steps", "-3", "--out", str(out)]) == 2
    assert _error_line(capsys) == "error: --steps -3 is not allowed: expected an integer in [0, 100000]"
    assert main(["grid", "--preset", "papr", "--out", str(out)]) == 2
    assert _error_line(capsys).startswith("error: --preset papr: expected one of ['authors'")
    assert not out.exists()


def test_report_of_nothing_readable_fails(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no readable run file" in _error_line(capsys)
    (tmp_path / "bald-seed0.json").write_text('{"schema": ')
    assert main(["report", str(tmp_path)]) == 2
    assert "no readable run file" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such directory" in _error_line(capsys)


def test_a_complete_grid_says_so_and_a_finished_run_extends_with_more_steps(capsys, tmp_path):
    grid = ["grid", *SMOKE, "--set", "acquisitions=bald", "--set", "seeds=0", "--workers", "0", "--out", str(tmp_path)]
    assert main([*grid, "--steps", "1"]) == 0
    capsys.readouterr()
    assert main([*grid, "--steps", "1"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert main([*grid, "--steps", "2"]) == 0  # the finished run's file is its checkpoint: two steps more
    extended = load_run(tmp_path / "bald-seed0.json")
    subset = load_mnist("mnist-subset")
    fresh = run_active_learning(get_preset("smoke", dataset="mnist-subset", acquisitions=("bald",), seeds=(0,), n_steps=2),
                                "bald", 0, data=subset, progress=False)
    assert extended["status"] == "complete" and len(extended["history"]) == 3
    assert [h["acquired_indices"] for h in extended["history"]] == [h["acquired_indices"] for h in fresh["history"]]
    assert [h["test_error"] for h in extended["history"]] == [h["test_error"] for h in fresh["history"]]
    capsys.readouterr()
    assert main(["run", *SMOKE, "--set", "acquisitions=bald", "--set", "seeds=0", "--acquisition", "bald", "--steps", "1",
                 "--out", str(tmp_path)]) == 2
    assert "cannot be shortened" in _error_line(capsys)


def test_report_prints_the_books_convention_when_asked(capsys):
    """``--convention mean-curve``: acquired images read from the mean curve, as chapter 5's Table 1 counts."""
    from bal_utils.analysis import acquired_to_reach, mean_curves
    from bal_utils.report import format_report

    grid = ROOT / "results" / "authors"
    assert main(["report", str(grid), "--convention", "mean-curve"]) == 0
    lines = capsys.readouterr().out.splitlines()
    n, err, _, seeds = mean_curves(load_runs(grid))["bald"]
    want = [str(acquired_to_reach(n, err, e)) for e in (0.10, 0.05)]
    bald = next(line for line in lines if line.startswith("BALD "))
    assert bald.split()[1:4] == [str(seeds), *want]
    assert any("read from the mean curve over seeds" in line for line in lines)
    with pytest.raises(ValueError, match="convention='book' is not allowed"):
        format_report(load_runs(grid), convention="book")
