"""The lockstep executor: every run of a grid trained as one computation per step."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bal_utils import BayesianCNN, get_preset, load_run, load_runs, to_model_input
from bal_utils import lockstep
from bal_utils.cli import main
from bal_utils.model import train_on_schedule, BatchSchedule

TOL = dict(rtol=2e-4, atol=2e-5)


def _images(subset, n, start=0):
    return to_model_input(subset.x_train[start : start + n]), subset.y_train[start : start + n]


def test_one_run_equals_the_per_run_engine_from_the_same_weights_and_batches(subset):
    """Dropout off (its masks come from another random stream in Keras): the same Adam steps, the same weights."""
    cfg = get_preset("smoke", epochs=3, dropout_trunk=0.0, dropout_head=0.0, batch_size=16)
    model = BayesianCNN.from_config(cfg)
    model.reset(7)
    start = lockstep.params_from_model(model)
    x, y = _images(subset, 40)
    engine = lockstep.Engine(cfg)
    trained = engine.train(start, [x], [y], [11], [cfg.weight_decay_c / 40])
    model.fit(x, y, cfg.epochs, cfg.batch_size, 11, cfg.batching)  # the same batches: one rule draws both
    assert len(engine.schedule(40, 11)) == 9  # 3 epochs of 3 batches: several Adam steps compared
    for name, value in lockstep.params_from_model(model).items():
        np.testing.assert_allclose(trained[name], value, **TOL, err_msg=name)


def test_the_dropout_masks_act_as_in_the_per_run_head(subset):
    cfg = get_preset("smoke")
    models = [BayesianCNN.from_config(cfg) for _ in range(2)]
    for seed, m in enumerate(models):
        m.reset(seed)
    params = {k: np.concatenate([lockstep.params_from_model(m)[k] for m in models]) for k in lockstep.PARAM_NAMES}
    x, _ = _images(subset, 12)
    engine = lockstep.Engine(cfg)
    feats = np.stack([m.features(x) for m in models], axis=1)  # (N, R, F)
    grouped = np.asarray(lockstep.features(params, engine.crop(x)[..., None].repeat(2, -1), engine.spec.pool))
    np.testing.assert_allclose(grouped, feats, **TOL)
    trunk_masks, head_masks = models[0].dropout_masks(1, seed=3, n_images=12)  # (1, N, F), (1, N, U)
    for r, m in enumerate(models):
        want = m._head_numpy(feats[:, r], trunk_masks, head_masks)[0]
        logits = lockstep.head_logits(params, feats, trunk_masks[0][:, None], head_masks[0][:, None])
        got = np.asarray(lockstep.ops.convert_to_numpy(lockstep.ops.softmax(logits, axis=-1)))[:, r]
        np.testing.assert_allclose(got, want, **TOL)


def test_padding_changes_nothing(subset):
    """Padded rows and images (weight 0) and a longer batch loop: the same weights as unpadded."""
    cfg = get_preset("smoke", epochs=2, batch_size=16)
    engine = lockstep.Engine(cfg)
    x, y = _images(subset, 24)
    start = lockstep.init_params(cfg, [1, 2])
    args = ([x, x[::-1]], [y, y[::-1]], [5, 6], [0.1, 0.1])
    exact = engine.train(start, *args, pad_to=(24, 12))
    padded = engine.train(start, *args, pad_to=(64, 16))
    bucketed = engine.train(start, *args)
    for name in lockstep.PARAM_NAMES:
        np.testing.assert_allclose(padded[name], exact[name], **TOL, err_msg=name)
        np.testing.assert_allclose(bucketed[name], exact[name], **TOL, err_msg=name)
    assert not np.allclose(exact["dense_kernel"], start["dense_kernel"])  # it trained


def test_the_python_loop_over_batches_equals_the_compiled_loop(subset):
    cfg = get_preset("smoke", epochs=2, batch_size=16)
    x, y = _images(subset, 30)
    start = lockstep.init_params(cfg, [4])
    compiled = lockstep.Engine(cfg, loop="compiled").train(start, [x], [y], [9], [0.1])
    per_batch = lockstep.Engine(cfg, loop="per_batch").train(start, [x], [y], [9], [0.1])
    for name in lockstep.PARAM_NAMES:
        np.testing.assert_allclose(per_batch[name], compiled[name], **TOL, err_msg=name)
    with pytest.raises(ValueError, match="loop='fast' is not allowed: expected one of"):
        lockstep.Engine(cfg, loop="fast")


def test_a_run_does_not_depend_on_the_runs_beside_it(subset):
    cfg = get_preset("smoke", epochs=2)
    engine = lockstep.Engine(cfg)
    a, b, c = (_images(subset, 20, start) for start in (0, 100, 200))
    pa, pb, pc = (lockstep.init_params(cfg, [s]) for s in (1, 2, 3))
    both = lambda p, q: {k: np.concatenate([p[k], q[k]]) for k in p}  # noqa: E731
    with_b = engine.train(both(pa, pb), [a[0], b[0]], [a[1], b[1]], [1, 2], [0.1, 0.1])
    with_c = engine.train(both(pa, pc), [a[0], c[0]], [a[1], c[1]], [1, 3], [0.1, 0.1])
    for name in lockstep.PARAM_NAMES:
        np.testing.assert_allclose(with_b[name][0], with_c[name][0], **TOL, err_msg=name)
    assert not np.allclose(with_b["dense_kernel"][1], with_c["dense_kernel"][1])


def test_grid_command_runs_in_lockstep_and_report_reads_it(tmp_path, capsys):
    out = tmp_path / "grid"
    assert main(["grid", "--preset", "smoke", "--set", "seeds=0,1", "--executor", "lockstep", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "compilations" in printed
    runs = load_runs(out)
    assert len(runs) == 4 and all(r["status"] == "complete" for r in runs)
    assert {r["provenance"]["executor"]["name"] for r in runs} == {"lockstep"}
    assert main(["report", str(out)]) == 0
    assert "BALD" in capsys.readouterr().out


def test_warm_start_is_refused_in_one_line_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["grid", "--preset", "smoke", "--set", "warm_start=true", "--executor", "lockstep", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: warm_start=True (bald, random) is not allowed with executor='lockstep'") and "\n" not in err
    assert not out.exists()


def _grid(out, extra_env=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(extra_env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "bal_utils", "grid", "--preset", "smoke", "--steps", "6", "--set", "seeds=0,1",
         "--executor", "lockstep", "--out", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def test_sigkill_then_resume_equals_an_uninterrupted_lockstep_grid(tmp_path):
    """Kills between steps and inside checkpoint writes (some runs then one step ahead of others)."""
    ref = _grid(tmp_path / "ref")
    assert ref.wait(timeout=600) == 0, ref.stderr.read()
    out = tmp_path / "killed"
    rng = np.random.default_rng(1)
    kills = 0
    for attempt in range(30):
        runs = load_runs(out) if out.exists() else []
        if len(runs) == 4 and all(r["status"] == "complete" for r in runs):
            break
        in_write = attempt % 2 == 1
        proc = _grid(out, {"BAL_FAULT_WRITE_DELAY": "0.3"} if in_write else None)
        end = time.time() + 120
        if in_write:  # until a checkpoint write is under way, then a moment inside it
            while time.time() < end and proc.poll() is None and not list(out.glob(".*.tmp")):
                time.sleep(0.005)
        else:
            while time.time() < end and proc.poll() is None and sum(len(r["history"]) for r in (load_runs(out) if out.exists() else [])) <= sum(len(r["history"]) for r in runs):
                time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=600)
    assert kills >= 4, f"only {kills} kills landed"
    want = {(r["acquisition"], r["seed"]): r for r in load_runs(tmp_path / "ref")}
    got = load_runs(out)
    assert len(got) == 4 and all(r["status"] == "complete" for r in got)
    for run in got:
        ref_run = want[(run["acquisition"], run["seed"])]
        assert [h["acquired_indices"] for h in run["history"]] == [h["acquired_indices"] for h in ref_run["history"]]
        assert [h["test_accuracy"] for h in run["history"]] == [h["test_accuracy"] for h in ref_run["history"]]


def _within_seed_spread(grid, reference, acquisitions, steps):
    """The criterion for a grid run by another engine or machine, per acquisition function:
    (1) the mean over ``steps`` steps of the difference of the two mean curves (the difference of
    the mean error over the curve) is within 2 points of test error; (2) the mean over the steps of
    the absolute difference of the mean curves is below the mean over the steps of the reference
    grid's seed standard deviation: the two curves differ by less than one grid's seeds differ
    from each other."""
    for acq in acquisitions:
        a = np.array([[h["test_error"] for h in r["history"][:steps]] for r in grid if r["acquisition"] == acq])
        b = np.array([[h["test_error"] for h in r["history"][:steps]] for r in reference if r["acquisition"] == acq])
        assert a.shape == b.shape == (3, steps), (acq, a.shape, b.shape)
        gap = a.mean(0) - b.mean(0)
        assert abs(gap.mean()) <= 0.02, (acq, gap.mean())
        assert np.abs(gap).mean() < b.std(0, ddof=1).mean(), (acq, np.abs(gap).mean(), b.std(0, ddof=1).mean())


def test_the_committed_lockstep_grid_lies_within_the_seed_spread_of_the_per_run_grid():
    """``results/paper-lockstep`` (BALD and random, 3 seeds, the first 30 acquisitions of the paper
    preset, run by the lockstep engine on a CPU) against the same steps of ``results/paper`` (the
    per-run engine), by :func:`_within_seed_spread`."""
    from bal_utils import load_grid

    lock, per_run = load_grid("paper-lockstep"), load_grid("paper")
    assert len(lock) == 6 and all(r["status"] == "complete" and len(r["history"]) == 31 for r in lock)
    assert {r["provenance"]["executor"]["name"] for r in lock} == {"lockstep"}
    _within_seed_spread(lock, per_run, ("bald", "random"), 31)


def test_the_paper_grid_run_on_a_gpu_lies_within_the_seed_spread_of_the_cpu_grid():
    """``results/paper-gpu`` (the whole paper grid, run by the lockstep engine on one GPU with
    Keras on JAX) against ``results/paper`` (the per-run engine on a CPU with TensorFlow), over all
    99 steps, by :func:`_within_seed_spread`."""
    from bal_utils import load_grid

    gpu, cpu = load_grid("paper-gpu"), load_grid("paper")
    assert len(gpu) == 15 and all(r["status"] == "complete" and len(r["history"]) == 99 for r in gpu)
    assert {r["provenance"]["executor"]["name"] for r in gpu} == {"lockstep"}
    assert all("GPU: NVIDIA" in r["provenance"]["executor"]["device"] for r in gpu)
    _within_seed_spread(gpu, cpu, ("max_entropy", "bald", "variation_ratios", "mean_std", "random"), 99)
