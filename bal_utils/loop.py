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

from . import checks
from .acquisition import needs_predictions, needs_targets, select
from .config import Config
from .data import load_mnist, make_splits, repeat_pool, to_model_input
from .provenance import now_iso, resume_stamp, stamp
from .results import SCHEMA, atomic_write_json, load_run, remove_stale_temporaries, run_filename


def step_seed(seed: int, step: int) -> int:
    """Integer seed of one step of one run."""
    return int(np.random.default_rng([int(seed), int(step), 0xA1]).integers(0, 2**31 - 1))


def acquire(model, x_train, pool, config: Config, acquisition: str, seed: int, step: int, origin=None, y_train=None):
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
    y_train : array of int, optional
        Training labels; needed only to draw EPIG's targets from the pool's
        images of ``config.target_classes``.

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
    targets = None
    if not needs_predictions(acquisition):  # random reads only N: no forward passes
        probs = np.ones((1, len(candidates), 1))
    elif config.scoring == "deterministic":  # dropout off: one pass, probabilities (1, N, C)
        probs = model.predict(to_model_input(x_train[candidates]))[None]
    elif needs_targets(acquisition):  # EPIG: candidates and a sample of the pool as targets, under the same T masks
        sample = pool
        if config.target_classes:  # the target distribution: the pool's images of those classes
            if y_train is None:
                raise ValueError("acquire: y_train is needed to draw EPIG's targets from config.target_classes")
            sample = np.asarray(pool)[np.isin(np.asarray(y_train)[pool], config.target_classes)]
        drawn = rng.choice(sample, min(config.n_targets, len(sample)), replace=False)
        both = model.mc_predict(to_model_input(x_train[np.concatenate([candidates, drawn])]), config.mc_samples,
                                seed=rng, masks="shared")
        probs, targets = both[:, : len(candidates)], both[:, len(candidates) :]
    else:
        probs = model.mc_predict(to_model_input(x_train[candidates]), config.mc_samples, seed=rng, masks=config.mc_masks)
    picked = select(acquisition, probs, config.acquire_per_step, rng=rng, targets=targets)
    return candidates[picked.indices], picked.scores, candidates


def _new_record(config, acquisition, seed, data):
    return {
        "schema": SCHEMA,
        "status": "running",
        "acquisition": acquisition,
        "seed": int(seed),
        "config": config.to_dict(),
        "data": {"source": data.source, "sha256": data.sha256},
        "provenance": stamp(),
        "wall_seconds": 0.0,
        "history": [],
    }


def _effective(fields: dict) -> dict:
    """A config's fields less those that cannot change its run (the copies' noise of a pool without copies)."""
    if fields.get("pool_repeats", 1) == 1:
        fields = {k: v for k, v in fields.items() if k != "repeat_noise_std"}
    if fields.get("posterior", "mc_dropout") != "ensemble":
        fields = {k: v for k, v in fields.items() if k != "ensemble_size"}
    if not fields.get("rare_classes"):
        fields = {k: v for k, v in fields.items() if k != "rare_fraction"}
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


class RunState:
    """One run as an executor advances it: its record (the file is the checkpoint),
    data, labelled set and pool.

    Built from the run file if ``out_dir`` holds one (checked against ``config``,
    and extended if ``config`` asks for more steps), else new. The executors
    (:func:`run_active_learning`, and the lockstep engine for many runs at once)
    train and score; :meth:`record_step` checks the protocol's invariants,
    appends the step and rewrites the file atomically.
    """

    def __init__(self, config: Config, acquisition: str, seed: int = 0, out_dir=None, data=None, data_path=None):
        if not isinstance(config, Config):
            raise ValueError(f"config must be a bal_utils.Config, got {type(config).__name__}")
        needs_predictions(acquisition)  # fails early, listing the known names
        checks.integer("seed", seed, 0)
        self.config, self.acquisition, self.seed = config, acquisition, int(seed)
        data = data if data is not None else load_mnist(config.dataset, data_path)
        self.run_config = config.for_acquisition(acquisition)  # the record keeps ``config``, per_acquisition included
        self.path = Path(out_dir) / run_filename(acquisition, seed) if out_dir is not None else None
        if self.path is not None:
            remove_stale_temporaries(self.path)
        if self.path is not None and self.path.exists():
            record = load_run(self.path)
            _check_resumable(record, config, acquisition, self.seed, data, self.path)
            if record["config"]["n_steps"] < config.n_steps:  # more steps: the file is the checkpoint, extend it
                old_steps = record["config"]["n_steps"]
                if len(record["history"]) == old_steps + 1:  # the last record acquired nothing: redo that step
                    record["history"].pop()
                record["config"] = config.to_dict()
                record["status"] = "running"
                record["provenance"].setdefault("extended", []).append({"from_n_steps": old_steps, "time": now_iso()})
        else:
            record = _new_record(config, acquisition, self.seed, data)
        self.record = record
        splits = make_splits(data, config, self.seed)
        if config.pool_repeats > 1:  # Repeated-MNIST: the pool's noisy copies are appended to the training arrays
            data, splits, self.origin = repeat_pool(data, splits, config.pool_repeats, config.repeat_noise_std, self.seed)
        else:
            self.origin = None
        self.data, self.splits = data, splits
        acquired = [i for h in record["history"] for i in h["acquired_indices"]]
        self.labelled = np.concatenate([splits.initial, np.asarray(acquired, dtype=np.int64)])
        self.pool = np.setdiff1d(splits.pool, acquired)
        self.x_test = to_model_input(data.x_test[splits.test])
        self.y_test = data.y_test[splits.test]

    @property
    def next_step(self) -> int:
        """The step this run trains next (its finished steps so far)."""
        return len(self.record["history"])

    @property
    def finished(self) -> bool:
        return self.next_step > self.config.n_steps

    def labelled_before(self, step: int) -> np.ndarray:
        """Training indices labelled when step ``step`` trained (for replaying warm starts)."""
        acquired = [i for h in self.record["history"][:step] for i in h["acquired_indices"]]
        return np.concatenate([self.splits.initial, np.asarray(acquired, dtype=np.int64)])

    def note_resume(self) -> None:
        """Record which code and machine carry the run on from here (if it has steps already)."""
        if self.next_step > 0:
            self.record["provenance"].setdefault("resumes", []).append(resume_stamp(self.next_step))

    def acquire(self, model, step: int):
        """The step's acquisition from ``model``: chosen training indices (none at the last step)."""
        if step >= self.config.n_steps:
            return np.zeros(0, dtype=np.int64)
        return acquire(model, self.data.x_train, self.pool, self.run_config, self.acquisition, self.seed, step,
                       origin=self.origin, y_train=self.data.y_train)[0]

    def record_step(self, step: int, accuracy: float, chosen, seconds: dict, wall: float) -> None:
        """Append step ``step`` (trained on the current labelled set), move ``chosen`` from
        the pool to the labelled set, and rewrite the run file."""
        chosen = np.asarray(chosen, dtype=np.int64)
        if step != self.next_step:
            raise RuntimeError(f"{self.acquisition} seed {self.seed}: step {step} recorded after {self.next_step} steps")
        _check_invariants(chosen, self.labelled, self.pool, self.splits)
        record = self.record
        record["history"].append(
            {
                "step": step,
                "n_labelled": int(len(self.labelled)),
                "pool_size": int(len(self.pool)),
                "test_accuracy": float(accuracy),
                "test_error": 1.0 - float(accuracy),
                "acquired_indices": [int(i) for i in chosen],
                "acquired_labels": [int(c) for c in self.data.y_train[chosen]],
                "seconds": {key: round(float(v), 4) for key, v in seconds.items()},
            }
        )
        self.labelled = np.concatenate([self.labelled, chosen])
        self.pool = np.setdiff1d(self.pool, chosen)
        record["wall_seconds"] = round(record["wall_seconds"] + wall, 3)
        if len(record["history"]) == self.config.n_steps + 1:
            record["status"] = "complete"
        record["provenance"]["updated"] = now_iso()
        if self.path is not None:
            atomic_write_json(self.path, record)


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
    from .model import build_model

    run = RunState(config, acquisition, seed, out_dir, data, data_path)
    cfg, seed = run.run_config, run.seed
    last = config.n_steps if until_step is None else min(config.n_steps, until_step - 1)
    first = run.next_step
    if first <= last:
        model = model if model is not None else build_model(cfg)
        if cfg.warm_start and first > 0:  # replay the earlier trainings to rebuild the weights
            for step in range(first):
                replay = run.labelled_before(step)
                train_step(model, cfg, run.data.x_train[replay], run.data.y_train[replay], seed, step)
        run.note_resume()
    bar = tqdm(total=config.n_steps + 1, initial=first, desc=f"{acquisition} seed {seed}", unit="step", disable=not progress, leave=False)
    try:
        for step in range(first, last + 1):
            t0 = time.perf_counter()
            train_step(model, cfg, run.data.x_train[run.labelled], run.data.y_train[run.labelled], seed, step)
            t1 = time.perf_counter()
            accuracy = accuracy_on(model, run.x_test, run.y_test)
            t2 = time.perf_counter()
            chosen = run.acquire(model, step)
            t3 = time.perf_counter()
            run.record_step(step, accuracy, chosen, {"train": t1 - t0, "evaluate": t2 - t1, "score": t3 - t2}, t3 - t0)
            bar.update(1)
            bar.set_postfix(labelled=len(run.labelled) - len(chosen), test_err=f"{1 - accuracy:.3f}")
    finally:
        bar.close()
    return run.record


def train_step(model, config, images, labels, seed, step, warm=None) -> None:
    """Step ``step``'s training on ``images (N, 28, 28)`` uint8 and their ``labels``.

    From fresh weights, or (``warm``; default: ``config.warm_start`` after step 0)
    on from the weights the model holds. All randomness comes from ``(seed, step)``.
    """
    warm = config.warm_start and step > 0 if warm is None else warm
    s = step_seed(seed, step)
    model.reset(s, weights=not warm)
    model.fit(to_model_input(images), np.asarray(labels), config.epochs, config.batch_size, s, config.batching)


def accuracy_on(model, x_test, y_test) -> float:
    """Accuracy of the model with dropout off on ``x_test (N, 28, 28, 1)`` float32."""
    return float(np.mean(model.predict(x_test).argmax(axis=1) == y_test))


def _check_invariants(chosen, labelled, pool, splits):
    """Fail loudly if an acquisition breaks the protocol (never expected)."""
    if len(np.intersect1d(chosen, labelled)) or len(np.setdiff1d(chosen, pool)) or len(set(chosen.tolist())) != len(chosen):
        raise RuntimeError("acquisition picked an image that is labelled, not in the pool, or twice")
    if len(np.intersect1d(pool, labelled)) or len(np.intersect1d(pool, splits.validation)):
        raise RuntimeError("pool overlaps the labelled or validation set")
