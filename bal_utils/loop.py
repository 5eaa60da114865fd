"""One pool-based active-learning run, checkpointed after every step.

Each step ``s = 0 .. n_steps``:

1. reset the model to fresh weights and train it from scratch on the labelled
   set (``n_initial + s * k`` images);
2. evaluate it (dropout off) on the test set;
3. unless it is the last step: draw a random subset of the pool (or take the
   whole pool), score it with the acquisition function on T MC-dropout
   samples, acquire the top k, add them to the labelled set and *remove them
   from the pool*;
4. append the step's record to the run file (atomic write).

All randomness of step ``s`` is drawn from ``(seed, s)``, and the labelled set
is rebuilt from the recorded acquisitions, so a run restarted on the same
directory resumes after its last finished step and ends with the same history
as an uninterrupted run (on CPU).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import __version__
from .acquisition import needs_predictions, select
from .config import Config
from .data import load_mnist, make_splits, repeat_pool, to_model_input
from .results import SCHEMA, atomic_write_json, git_commit, load_run, machine_info, now_iso, remove_stale_temporaries, run_filename


def step_seed(seed: int, step: int) -> int:
    """Integer seed of one step of one run."""
    return int(np.random.default_rng([int(seed), int(step), 0xA1]).integers(0, 2**31 - 1))


def acquire(model, x_train, pool, config: Config, acquisition: str, seed: int, step: int, origin=None):
    """Score the pool (or a random subset of it) and return the k chosen training indices.

    Parameters
    ----------
    model : BayesianCNN or None
        Only used for acquisition functions that need predictions.
    x_train : array ``(N, 28, 28)`` uint8
        All training images; ``pool`` indexes it.
    pool : array of int
        Training indices still unlabelled.
    origin : array of int, optional
        Repeated-MNIST (``config.pool_repeats > 1``): ``origin[i]`` is the
        image that training index ``i`` copies. The pool subset is then drawn
        by image, every unlabelled copy of ``ceil(pool_subset / pool_repeats)``
        random images, so that the scored set holds the copies whose
        redundancy the data set is made to show (a plain random 2,000 of
        180,000 would almost never hold two copies of one image).

    Returns
    -------
    chosen : array ``(k,)`` of training indices, best first
    scores : array of the scores of the candidates (None for a batch acquisition such as BatchBALD)
    candidates : array of the scored training indices
    """
    needs_predictions(acquisition)  # fails early, listing the known names
    rng = np.random.default_rng([int(seed), int(step), 0x5C0])
    if config.pool_subset is None or config.pool_subset >= len(pool):
        candidates = np.asarray(pool)
    elif origin is not None and config.pool_repeats > 1:  # by image: all copies of the drawn images
        keys = np.asarray(origin)[pool]
        images = np.unique(keys)
        drawn = rng.choice(images, min(len(images), -(-config.pool_subset // config.pool_repeats)), replace=False)
        candidates = np.asarray(pool)[np.isin(keys, drawn)]
    else:
        candidates = np.sort(rng.choice(pool, config.pool_subset, replace=False))
    if not needs_predictions(acquisition):  # random reads only N: no forward passes
        probs = np.ones((1, len(candidates), 1))
    elif config.scoring == "deterministic":  # dropout off: one pass, probabilities (1, N, C)
        probs = model.predict(to_model_input(x_train[candidates]))[None]
    else:
        probs = model.mc_predict(to_model_input(x_train[candidates]), config.mc_samples, seed=rng, masks=config.mc_masks)
    picked = select(acquisition, probs, config.acquire_per_step, rng=rng)
    return candidates[picked.indices], picked.scores, candidates


def _new_record(config, acquisition, seed, data):
    commit, dirty = git_commit()
    return {
        "schema": SCHEMA,
        "status": "running",
        "acquisition": acquisition,
        "seed": int(seed),
        "config": config.to_dict(),
        "data": {"source": data.source, "sha256": data.sha256},
        "provenance": {
            "package_version": __version__,
            "git_commit": commit,
            "git_dirty": dirty,
            "machine": machine_info(),
            "started": now_iso(),
            "updated": now_iso(),
        },
        "wall_seconds": 0.0,
        "history": [],
    }


def _effective(fields: dict) -> dict:
    """A config's fields less those that cannot change its run (the copies' noise of a pool without copies)."""
    if fields.get("pool_repeats", 1) == 1:
        fields = {k: v for k, v in fields.items() if k != "repeat_noise_std"}
    return fields


def _check_resumable(record, config, acquisition, seed, data, path):
    mine = _effective(config.to_dict())
    theirs = _effective(Config.from_dict(record["config"]).to_dict())  # files from before a field existed get its default
    diff = sorted(k for k in mine if mine[k] != theirs.get(k))
    if diff == ["n_steps"] and mine["n_steps"] < theirs["n_steps"]:
        raise ValueError(
            f"results file {path} was made with n_steps={theirs['n_steps']}: a run cannot be shortened; "
            f"ask for n_steps >= {theirs['n_steps']} (the file holds its first steps), or use another output directory"
        )
    if diff and diff != ["n_steps"]:
        raise ValueError(
            f"results file {path} was made with a different config (fields {diff}); "
            "use another output directory, or delete the file to start again"
        )
    if record["acquisition"] != acquisition or record["seed"] != seed:
        raise ValueError(f"results file {path} holds acquisition={record['acquisition']!r} seed={record['seed']}, not {acquisition!r} seed={seed}")
    old_sha = record.get("data", {}).get("sha256")
    if old_sha and data.sha256 and old_sha != data.sha256:
        raise ValueError(f"results file {path} was made from other data (sha256 {old_sha[:12]}..., now {data.sha256[:12]}...)")


def run_active_learning(
    config: Config,
    acquisition: str,
    seed: int = 0,
    out_dir=None,
    data=None,
    data_path=None,
    model=None,
    until_step: int | None = None,
    progress: bool = True,
) -> dict:
    """Run (or resume) one active-learning experiment.

    Parameters
    ----------
    config : Config
    acquisition : str
        A name from :data:`bal_utils.acquisition.ACQUISITIONS`.
    seed : int
        Seeds the splits, the weights, the mini-batches, the dropout masks and the pool subsets.
    out_dir : path, optional
        Directory of the run file ``<acquisition>-seed<seed>.json``; the run
        resumes from it if it exists. ``None`` keeps everything in memory.
    data : MNIST, optional
        Already loaded data; else loaded from ``config.dataset`` (and ``data_path``).
    model : BayesianCNN, optional
        A model to reuse (it is reset every step); else one is built.
    until_step : int, optional
        Stop after this many records (for a partial run); ``None`` runs to the end.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    record : dict
        The run record (see :mod:`bal_utils.results`).
    """
    from .model import BayesianCNN

    if not isinstance(config, Config):
        raise ValueError(f"config must be a bal_utils.Config, got {type(config).__name__}")
    needs_predictions(acquisition)  # fails early, listing the known names
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} is not allowed: expected an integer >= 0")
    seed = int(seed)
    data = data if data is not None else load_mnist(config.dataset, data_path)
    run_config = config.for_acquisition(acquisition)  # the record keeps ``config``, per_acquisition included
    path = Path(out_dir) / run_filename(acquisition, seed) if out_dir is not None else None
    if path is not None:
        remove_stale_temporaries(path)
    if path is not None and path.exists():
        record = load_run(path)
        _check_resumable(record, config, acquisition, seed, data, path)
        if record["config"]["n_steps"] < config.n_steps:  # more steps: the file is the checkpoint, extend it
            old_steps = record["config"]["n_steps"]
            if len(record["history"]) == old_steps + 1:  # the last record acquired nothing: redo that step
                record["history"].pop()
            record["config"] = config.to_dict()
            record["status"] = "running"
            record["provenance"].setdefault("extended", []).append({"from_n_steps": old_steps, "time": now_iso()})
    else:
        record = _new_record(config, acquisition, seed, data)

    splits = make_splits(data, config, seed)
    if config.pool_repeats > 1:  # Repeated-MNIST: the pool's noisy copies are appended to the training arrays
        data, splits, origin = repeat_pool(data, splits, config.pool_repeats, config.repeat_noise_std, seed)
    else:
        origin = None
    acquired = [i for h in record["history"] for i in h["acquired_indices"]]
    labelled = np.concatenate([splits.initial, np.asarray(acquired, dtype=np.int64)])
    pool = np.setdiff1d(splits.pool, acquired)
    x_test = to_model_input(data.x_test[splits.test])
    y_test = data.y_test[splits.test]

    last = config.n_steps if until_step is None else min(config.n_steps, until_step - 1)
    first = len(record["history"])
    if first <= last:
        model = model if model is not None else BayesianCNN.from_config(run_config)
        if run_config.warm_start and first > 0:  # replay the earlier trainings to rebuild the weights
            replay = np.asarray(splits.initial)
            for h in record["history"]:
                _train(model, run_config, data, replay, seed, h["step"])
                replay = np.concatenate([replay, np.asarray(h["acquired_indices"], dtype=np.int64)])
        if first > 0:  # a resume: say which code carries on from here
            commit, dirty = git_commit()
            record["provenance"].setdefault("resumes", []).append(
                {"at_step": first, "git_commit": commit, "git_dirty": dirty, "machine": machine_info(), "time": now_iso()}
            )
    bar = tqdm(total=config.n_steps + 1, initial=first, desc=f"{acquisition} seed {seed}", unit="step", disable=not progress, leave=False)
    try:
        for step in range(first, last + 1):
            t0 = time.perf_counter()
            _train(model, run_config, data, labelled, seed, step)
            t1 = time.perf_counter()
            accuracy = float(np.mean(model.predict(x_test).argmax(axis=1) == y_test))
            t2 = time.perf_counter()
            chosen = np.zeros(0, dtype=np.int64)
            if step < config.n_steps:
                chosen, _, _ = acquire(model, data.x_train, pool, run_config, acquisition, seed, step, origin=origin)
            t3 = time.perf_counter()
            _check_invariants(chosen, labelled, pool, splits)
            record["history"].append(
                {
                    "step": step,
                    "n_labelled": int(len(labelled)),
                    "pool_size": int(len(pool)),
                    "test_accuracy": accuracy,
                    "test_error": 1.0 - accuracy,
                    "acquired_indices": [int(i) for i in chosen],
                    "acquired_labels": [int(c) for c in data.y_train[chosen]],
                    "seconds": {"train": round(t1 - t0, 4), "evaluate": round(t2 - t1, 4), "score": round(t3 - t2, 4)},
                }
            )
            labelled = np.concatenate([labelled, chosen])
            pool = np.setdiff1d(pool, chosen)
            record["wall_seconds"] = round(record["wall_seconds"] + time.perf_counter() - t0, 3)
            if len(record["history"]) == config.n_steps + 1:
                record["status"] = "complete"
            record["provenance"]["updated"] = now_iso()
            if path is not None:
                atomic_write_json(path, record)
            bar.update(1)
            bar.set_postfix(labelled=len(labelled) - len(chosen), test_err=f"{1 - accuracy:.3f}")
    finally:
        bar.close()
    return record


def _train(model, config, data, labelled, seed, step):
    """Step ``step``'s training: from fresh weights, or on from the last step's under ``warm_start``."""
    model.reset(step_seed(seed, step), weights=not (config.warm_start and step > 0))
    model.fit(to_model_input(data.x_train[labelled]), data.y_train[labelled], config.epochs, config.batch_size, step_seed(seed, step), config.batching)


def _check_invariants(chosen, labelled, pool, splits):
    """Fail loudly if an acquisition breaks the protocol (never expected)."""
    if len(np.intersect1d(chosen, labelled)) or len(np.setdiff1d(chosen, pool)) or len(set(chosen.tolist())) != len(chosen):
        raise RuntimeError("acquisition picked an image that is labelled, not in the pool, or twice")
    if len(np.intersect1d(pool, labelled)) or len(np.intersect1d(pool, splits.validation)):
        raise RuntimeError("pool overlaps the labelled or validation set")
