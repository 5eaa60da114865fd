"""Experiment configuration: one frozen dataclass, validated at construction.

Every field is validated once, at construction, and a bad value raises
``ValueError`` naming the field, the value and what is allowed.
The named presets live in :mod:`bal_utils.presets`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from . import checks
from .acquisition import known_acquisitions, needs_targets
from .options import ARCHITECTURES, BATCHINGS, DATASETS, INITS, MC_MASKS, N_CLASSES, POSTERIORS, SCORINGS

#: Fields that ``per_acquisition`` may change for one acquisition function.
PER_ACQUISITION_FIELDS = ("dense_units", "weight_decay_c", "epochs", "init", "architecture", "mc_masks", "dropout_trunk", "dropout_head", "learning_rate")


@dataclass(frozen=True)
class Config:
    """All knobs of one active-learning experiment.

    Parameters
    ----------
    name : str
        Label of the preset (stored in results files).
    dataset : {"mnist", "mnist-subset"}
        ``"mnist"`` is the full 70,000-image set, ``"mnist-subset"`` the small
        real subset shipped inside the package.
    initial_per_class : int
        Labelled images per class at the start (balanced initial set).
    n_validation : int
        Images held out as a validation set (never trained on, never scored).
    n_pool : int or None
        Size of the unlabelled pool; ``None`` takes every remaining training
        image.
    n_test : int or None
        Test images evaluated after every step; ``None`` takes the whole test
        set.
    n_steps : int
        Number of acquisitions (the paper's seed code: 98).
    acquire_per_step : int
        Images labelled per acquisition (k).
    mc_samples : int
        Stochastic forward passes T used to score the pool.
    pool_subset : int or None
        Pool images scored per step (a fresh random subset each step);
        ``None`` scores the whole pool.
    epochs, batch_size : int
        Training from scratch after every acquisition.
    batching : {"balanced", "keras"}
        How an epoch is cut into at most ``batch_size`` images per batch:
        ``"balanced"`` makes the batches nearly equal (130 -> 65 + 65);
        ``"keras"`` keeps Keras' full batches plus a small remainder
        (130 -> 128 + 2), whose full-size Adam step on two images wrecks
        training at such sizes.
    learning_rate : float
        Adam step size.
    weight_decay_c : float
        L2 on the first dense layer with coefficient ``c / n_labelled``.
    dropout_trunk, dropout_head : float
        Dropout rates after the convolutional trunk and after the dense layer.
    seeds : tuple of int
        One repeat per seed.
    acquisitions : tuple of str
        Acquisition functions of the experiment grid.
    dense_units : int
        Width of the dense layer (the seed code: 128; the authors' BALD script: 256).
    init : {"keras3", "keras0"}
        Glorot-uniform kernels as Keras 3 computes the fans (conv fan_out =
        kernel area x filters), or as Keras before 1.0 did for Theano's
        channel-first kernels (conv fan_out = filters): conv1's limit is then
        0.383 instead of 0.142. Dense layers are the same in both.
    architecture : {"seed", "paper_text"}
        ``"seed"``: conv 32@3x3 twice, max pool 5 (the code); ``"paper_text"``:
        conv 32@4x4 twice, max pool 2 (the paper's text), 3,872 features.
    mc_masks : {"shared", "per_image"}
        Scoring dropout masks: one per pass shared by every image (fast,
        "consistent" MC dropout) or one per image and pass (as Theano drew them).
    warm_start : bool
        Keep the weights and Adam's state from the previous step and train on
        (``False``: re-initialise and train from scratch every step, the paper).
    n_targets : int
        EPIG's target inputs: a fresh random sample of this many pool images per
        step, scored with the same T dropout masks as the candidates.
    scoring : {"mc_dropout", "deterministic"}
        Score the pool on T MC-dropout passes, or on one pass with dropout off
        (the paper's Figure 2): probabilities ``(1, N, C)``; ``mc_samples`` is
        then unused for scoring (and stays in the results file as set).
    pool_repeats : int
        Repeated-MNIST (BatchBALD paper): every pool image this many times,
        each copy with its own Gaussian noise (1: the plain pool). The pool
        subset is then drawn by image: all copies of ``pool_subset / pool_repeats``
        random images.
    repeat_noise_std : float
        Standard deviation of that noise, in units of the [0, 1] pixel range:
        0.0308, the BatchBALD code's 0.1 on standardised pixels (std 0.3081).
    posterior : {"mc_dropout", "ensemble"}
        What stands for the posterior over weights, in every acquisition
        function and in the test prediction: ``"mc_dropout"``, T dropout passes
        of one network (the paper); ``"ensemble"``, ``ensemble_size`` networks
        trained from different initial weights (and batch orders), each
        predicting with dropout off: their M predictions take the place of the
        T passes, and the test prediction is their mean (deep ensembles, as in
        Beluch et al., 2018). ``mc_samples`` and ``mc_masks`` are then unused.
    ensemble_size : int
        M, the networks of an ensemble (unused with ``"mc_dropout"``).
    target_classes : tuple of int
        The classes the predictions are wanted for (empty: all ten). The pool
        still holds every class; the test set holds only these classes, and
        EPIG's target inputs are drawn from the pool's images of these classes
        (a stand-in for an unlabelled sample of the target distribution):
        the EPIG paper's redundant MNIST with ``(1, 7)``.
    rare_classes : tuple of int
        An unbalanced pool (the EPIG paper's unbalanced MNIST): of the pool's
        images of these classes only ``rare_fraction`` is kept (empty: the
        pool as drawn). The initial set and the test set stay balanced.
    rare_fraction : float
        The share of a rare class's pool images that stays in the pool.
    per_acquisition : dict
        Field changes for single acquisition functions, e.g.
        ``{"bald": {"dense_units": 256}}`` (the authors' scripts differ per
        function); see :meth:`for_acquisition`. Stored as sorted tuples.
    """

    name: str = "custom"
    dataset: str = "mnist"
    initial_per_class: int = 2
    n_validation: int = 100
    n_pool: int | None = None
    n_test: int | None = None
    n_steps: int = 98
    acquire_per_step: int = 10
    mc_samples: int = 100
    pool_subset: int | None = 2000
    epochs: int = 50
    batch_size: int = 128
    batching: str = "balanced"
    learning_rate: float = 1e-3
    weight_decay_c: float = 3.5
    dropout_trunk: float = 0.25
    dropout_head: float = 0.5
    seeds: tuple = (0, 1, 2)
    acquisitions: tuple = ("max_entropy", "bald", "variation_ratios", "mean_std", "random")
    dense_units: int = 128
    init: str = "keras3"
    architecture: str = "seed"
    mc_masks: str = "shared"
    warm_start: bool = False
    n_targets: int = 100
    scoring: str = "mc_dropout"
    pool_repeats: int = 1
    repeat_noise_std: float = 0.0308
    posterior: str = "mc_dropout"
    ensemble_size: int = 5
    target_classes: tuple = ()
    rare_classes: tuple = ()
    rare_fraction: float = 0.1
    per_acquisition: tuple = ()

    def __post_init__(self):
        # Lists (from JSON or a caller) become tuples, so the object stays hashable.
        for name in ("seeds", "acquisitions", "target_classes", "rare_classes"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "per_acquisition", _normalise_per_acquisition(self.per_acquisition))
        _validate(self)

    def for_acquisition(self, acquisition: str) -> "Config":
        """The config one acquisition function runs with: ``per_acquisition`` applied.

        >>> from bal_utils.presets import get_preset
        >>> get_preset("authors").for_acquisition("bald").dense_units
        256
        """
        changes = dict(dict(self.per_acquisition).get(acquisition, ()))
        return self.replace(**changes) if changes else self

    # -- convenience -----------------------------------------------------
    @property
    def n_initial(self) -> int:
        """Size of the initial labelled set (10 classes)."""
        return N_CLASSES * self.initial_per_class

    @property
    def final_labelled(self) -> int:
        """Labelled images after the last acquisition."""
        return self.n_initial + self.n_steps * self.acquire_per_step

    def replace(self, **changes) -> "Config":
        """A copy with some fields changed (validated like a new one); an unknown field raises ``ValueError``."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; allowed: {sorted(known)}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def parse_field(cls, name: str, text: str):
        """The value of field ``name`` written as text (the command line's ``--set name=text``).

        Typed like the field's default: ``true``/``false`` for a bool, a comma-separated list
        for ``seeds`` and ``acquisitions``, ``none`` for a field that may be None, and JSON
        (``{"bald": {"dense_units": 256}}``) for ``per_acquisition``. The value is validated
        when a config is built with it.
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if name not in fields:
            raise ValueError(f"unknown config field {name!r}; allowed: {sorted(fields)}")
        default, text = fields[name].default, text.strip()
        if text.lower() == "none" and "None" in str(fields[name].type):
            return None
        expected = {bool: "true or false", int: "an integer", float: "a number"}
        try:
            if name == "per_acquisition":
                value = json.loads(text) if text else {}
                if not isinstance(value, dict):
                    raise ValueError
                return value
            if isinstance(default, bool):
                return {"true": True, "false": False}[text.lower()]
            if isinstance(default, tuple):
                item = str if name == "acquisitions" else int  # seeds, target_classes: integers
                return tuple(item(v.strip()) for v in text.split(",") if v.strip())
            if isinstance(default, (int, float)) or default is None:
                kind = int if isinstance(default, int) or (default is None and "int" in str(fields[name].type)) else float
                return kind(text)
        except (ValueError, KeyError, json.JSONDecodeError):
            what = {"per_acquisition": 'a JSON mapping such as {"bald": {"dense_units": 256}}',
                    "seeds": "comma-separated integers", "target_classes": "comma-separated integers",
                    "rare_classes": "comma-separated integers",
                    "acquisitions": "comma-separated names"}.get(name)
            if what is None:
                kind = type(default) if default is not None else (int if "int" in str(fields[name].type) else float)
                what = expected.get(kind, kind.__name__)
            raise ValueError(f"{name}={text!r} is not allowed: expected {what}") from None
        return text

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary of every field."""
        out = dataclasses.asdict(self)
        out["seeds"] = list(self.seeds)
        out["acquisitions"] = list(self.acquisitions)
        out["target_classes"] = list(self.target_classes)
        out["rare_classes"] = list(self.rare_classes)
        out["per_acquisition"] = {acq: dict(changes) for acq, changes in self.per_acquisition}
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        if not isinstance(values, dict):
            raise ValueError(f"config: expected a mapping of fields, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"config: unknown field(s) {unknown}; allowed: {sorted(known)}")
        return cls(**values)


def _normalise_per_acquisition(value) -> tuple:
    """``{acq: {field: value}}`` (or its tuple form) -> sorted ``((acq, ((field, value), ...)), ...)``."""
    if isinstance(value, dict):
        value = tuple(value.items())
    if not isinstance(value, (tuple, list)):
        raise ValueError(f"per_acquisition={value!r} is not allowed: expected a mapping {{acquisition: {{field: value}}}}")
    out = []
    for item in value:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"per_acquisition: entry {item!r} is not allowed: expected (acquisition, {{field: value}})")
        acq, changes = item
        if isinstance(changes, dict):
            changes = tuple(changes.items())
        try:
            changes = tuple(sorted((str(k), v) for k, v in changes))
        except (TypeError, ValueError):
            raise ValueError(f"per_acquisition[{acq!r}]={changes!r} is not allowed: expected a mapping of field: value") from None
        out.append((acq, changes))
    return tuple(sorted(out))


def _validate(cfg: Config) -> None:
    if not isinstance(cfg.name, str) or not cfg.name:
        raise ValueError(f"name={cfg.name!r} is not allowed: expected a non-empty string")
    checks.choice("dataset", cfg.dataset, DATASETS)
    checks.integer("initial_per_class", cfg.initial_per_class, 1, 1000)
    checks.integer("n_validation", cfg.n_validation, 0)
    checks.integer("n_pool", cfg.n_pool, 1, none=True)
    checks.integer("n_test", cfg.n_test, 1, none=True)
    checks.integer("n_steps", cfg.n_steps, 0, 100_000)
    checks.integer("acquire_per_step", cfg.acquire_per_step, 1)
    checks.integer("mc_samples", cfg.mc_samples, 1, 100_000)
    checks.integer("pool_subset", cfg.pool_subset, 1, none=True)
    checks.integer("epochs", cfg.epochs, 1, 10_000)
    checks.integer("batch_size", cfg.batch_size, 1, 1_000_000)
    checks.choice("batching", cfg.batching, BATCHINGS)
    checks.number("learning_rate", cfg.learning_rate, 0.0, 10.0, low_open=True)
    checks.number("weight_decay_c", cfg.weight_decay_c, 0.0, 1e6)
    checks.number("dropout_trunk", cfg.dropout_trunk, 0.0, 1.0, high_open=True)
    checks.number("dropout_head", cfg.dropout_head, 0.0, 1.0, high_open=True)
    if cfg.pool_subset is not None and cfg.pool_subset < cfg.acquire_per_step:
        raise ValueError(
            f"pool_subset={cfg.pool_subset} is smaller than acquire_per_step={cfg.acquire_per_step}: "
            "expected pool_subset >= acquire_per_step, or None to score the whole pool"
        )
    if cfg.n_pool is not None and cfg.n_pool < cfg.n_steps * cfg.acquire_per_step:
        raise ValueError(
            f"n_pool={cfg.n_pool} cannot feed n_steps={cfg.n_steps} acquisitions of "
            f"acquire_per_step={cfg.acquire_per_step}: expected n_pool >= "
            f"{cfg.n_steps * cfg.acquire_per_step}, or None for the whole remaining pool"
        )
    if not isinstance(cfg.seeds, tuple) or not cfg.seeds:
        raise ValueError(f"seeds={cfg.seeds!r} is not allowed: expected a non-empty tuple of integers >= 0")
    for seed in cfg.seeds:
        checks.integer("seeds", seed, 0, 2**31 - 1)
    if len(set(cfg.seeds)) != len(cfg.seeds):
        raise ValueError(f"seeds={cfg.seeds!r} is not allowed: expected distinct integers")
    checks.integer("dense_units", cfg.dense_units, 1, 100_000)
    for name, allowed in (("init", INITS), ("architecture", ARCHITECTURES), ("mc_masks", MC_MASKS), ("scoring", SCORINGS)):
        checks.choice(name, getattr(cfg, name), allowed)
    checks.integer("pool_repeats", cfg.pool_repeats, 1, 100)
    checks.integer("n_targets", cfg.n_targets, 1, 100_000)
    checks.number("repeat_noise_std", cfg.repeat_noise_std, 0.0, 10.0)
    checks.choice("posterior", cfg.posterior, POSTERIORS)
    checks.integer("ensemble_size", cfg.ensemble_size, 2, 100)
    if cfg.posterior == "ensemble" and cfg.scoring != "mc_dropout":
        raise ValueError(f"scoring={cfg.scoring!r} is not allowed with posterior='ensemble': the ensemble's members "
                         "already predict with dropout off (expected 'mc_dropout', the default)")
    for field in ("target_classes", "rare_classes"):
        classes = getattr(cfg, field)
        if not isinstance(classes, tuple):
            raise ValueError(f"{field}={classes!r} is not allowed: expected a tuple of classes 0-{N_CLASSES - 1}")
        for c in classes:
            checks.integer(field, c, 0, N_CLASSES - 1)
        if len(set(classes)) != len(classes) or list(classes) != sorted(classes):
            raise ValueError(f"{field}={classes!r} is not allowed: expected distinct classes in increasing order")
    checks.number("rare_fraction", cfg.rare_fraction, 0.0, 1.0, low_open=True)
    if not isinstance(cfg.warm_start, bool):
        raise ValueError(f"warm_start={cfg.warm_start!r} is not allowed: expected True or False")
    known = known_acquisitions()
    for acq, changes in cfg.per_acquisition:
        if acq not in known:
            raise ValueError(f"per_acquisition: {acq!r} is not a known acquisition function; known: {known}")
        for name, value in changes:
            if name not in PER_ACQUISITION_FIELDS:
                raise ValueError(f"per_acquisition[{acq!r}]: field {name!r} cannot be set per function; allowed: {list(PER_ACQUISITION_FIELDS)}")
        if changes:  # each changed config must itself be valid
            try:
                dataclasses.replace(cfg, per_acquisition=(), **dict(changes))
            except ValueError as err:
                raise ValueError(f"per_acquisition[{acq!r}]: {err}") from None

    if not isinstance(cfg.acquisitions, tuple) or not cfg.acquisitions:
        raise ValueError(f"acquisitions={cfg.acquisitions!r} is not allowed: expected a non-empty tuple of names")
    for acq in cfg.acquisitions:
        if acq not in known:
            raise ValueError(f"acquisitions: {acq!r} is not a known acquisition function; known: {known}")
    for acq in cfg.acquisitions:
        if needs_targets(acq):  # the same T networks must score the candidates and the targets
            run = dict(dict(cfg.per_acquisition).get(acq, ()))
            masks, scoring = run.get("mc_masks", cfg.mc_masks), cfg.scoring
            if scoring != "mc_dropout":
                raise ValueError(f"scoring={scoring!r} is not allowed with {acq}: it needs T > 1 posterior samples "
                                 "(expected 'mc_dropout')")
            if masks != "shared":
                raise ValueError(f"mc_masks={masks!r} is not allowed with {acq}: the candidates and the targets must "
                                 "be scored by the same T networks (expected 'shared')")
