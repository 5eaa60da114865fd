"""The named configurations: the paper's protocol, the authors' scripts, the
book's grids, and sizes for teaching and for CI.

``paper``
    The protocol of Gal, Islam & Ghahramani (2017) as run by the seed code:
    20 balanced initial labels, 98 acquisitions of 10, T = 100 MC dropout
    samples, a fresh random 2,000-image pool subset per step, 50 epochs of
    batch 128, 3 repeats, the full MNIST.
``authors``
    The authors' released scripts, whose result curves are in
    ``shared/reference/authors-results``: the paper preset with Keras < 1.0's
    initialisation, Keras' remainder batches, 256 dense units for BALD and
    c = 2.5 for mean STD.
``authors-deterministic``
    The paper's Figure 2: the ``authors`` protocol with the pool scored by the
    network with dropout off.
``paper-text``
    The paper preset on the network of the paper's text (4x4 convs, 2x2 pool).
``batch-repeated``, ``batch-mnist``
    Chapter 6's grids: top-k BALD, BatchBALD, PowerBALD and random, 30
    acquisitions of 10, on Repeated-MNIST (``pool_repeats=3``) and on MNIST.
``teaching``
    The protocol shrunk so that a chapter runs in a few minutes on a laptop
    CPU (the shipped MNIST subset, 10 steps, T = 20, 2 seeds, BALD, max entropy
    and random), trained for 100 epochs with the authors' initialisation and
    256 dense units so that it learns at this size.
``smoke``
    Seconds, for CI. ``BAL_SMOKE=1`` in the environment makes
    :func:`preset_from_env` return it, so notebooks need no edits.
"""

from __future__ import annotations

import os

from .config import Config

PRESETS = {
    "paper": Config(name="paper"),
    # The authors' released scripts (Riashat/Active-Learning-Bayesian-Convolutional-Neural-Networks,
    # ConvNets/PAPER_SUBMISSION_RESULTS): Keras < 1.0 initialisation, Keras' remainder batches,
    # BALD's dense layer of 256 units, mean STD's c = 2.5.
    "authors": Config(
        name="authors",
        init="keras0",
        batching="keras",
        per_acquisition={"bald": {"dense_units": 256}, "mean_std": {"weight_decay_c": 2.5}},
    ),
    # The paper's Figure 2: the authors' protocol scored by the network with dropout off (T = 1).
    # Variation ratios is the paper's 1 - max p (the mode count of one sample is always 0).
    "authors-deterministic": Config(
        name="authors-deterministic",
        init="keras0",
        batching="keras",
        scoring="deterministic",
        acquisitions=("max_entropy", "variation_ratios_mean", "bald"),
        per_acquisition={"bald": {"dense_units": 256}},
    ),
    # Chapter 6: top-k BALD against batch-aware acquisition, 30 acquisitions of 10, on
    # Repeated-MNIST (every pool image 3 times with the BatchBALD code's noise) and on MNIST.
    # results/batch-repeated-noise-0.1 is the same grid with copies 3.2 times noisier
    # (--set repeat_noise_std=0.1).
    # The network is the authors' BALD network (Keras 0.x init, 256 dense units): the protocol
    # study shows that the seed network cannot fit BALD's early picks, which would hide the
    # difference between batch methods behind an under-trained model.
    "batch-repeated": Config(
        name="batch-repeated", n_steps=30, pool_repeats=3, init="keras0", dense_units=256,
        acquisitions=("bald", "batchbald", "power_bald", "random"),
    ),
    "batch-mnist": Config(
        name="batch-mnist", n_steps=30, init="keras0", dense_units=256,
        acquisitions=("bald", "batchbald", "power_bald", "random"),
    ),
    # The paper text's network (4x4 convs, 2x2 pool), trained from scratch: the Table-1 candidate.
    "paper-text": Config(name="paper-text", architecture="paper_text"),
    # Small enough for a laptop, trained enough to learn: below 128 labels an epoch is one Adam
    # update, so 100 epochs; the authors' initialisation and BALD's 256 dense units (see the
    # protocol study). BALD and max entropy end ahead of random (chapter 5 runs it live).
    "teaching": Config(
        name="teaching",
        dataset="mnist-subset",
        n_test=1000,
        n_steps=10,
        acquire_per_step=10,
        mc_samples=20,
        pool_subset=500,
        epochs=100,
        init="keras0",
        dense_units=256,
        seeds=(0, 1),
        acquisitions=("bald", "max_entropy", "random"),
    ),
    "smoke": Config(
        name="smoke",
        dataset="mnist-subset",
        n_validation=20,
        n_pool=500,
        n_test=200,
        n_steps=2,
        acquire_per_step=5,
        mc_samples=4,
        pool_subset=60,
        epochs=2,
        seeds=(0,),
        acquisitions=("bald", "random"),
    ),
}


#: The protocol study (``scripts/protocol_study.py``, ``results/study/<factor>``):
#: each entry changes the ``paper`` preset in one way (or two: the pair that
#: re-creates the authors' BALD script, and the paper text's network trained on
#: from the last step's weights, similar to lunayht/DBALwithImgData's training), for BALD
#: and random, 3 seeds and the first 30 acquisitions. Its baseline is the first
#: 30 steps of ``results/paper``.
PROTOCOL_STUDY = {
    "keras0-init": {"init": "keras0"},
    "dense-256": {"dense_units": 256},
    "dense-256+keras0-init": {"dense_units": 256, "init": "keras0"},
    "paper-text-net": {"architecture": "paper_text"},
    "warm-start": {"warm_start": True},
    "no-weight-decay": {"weight_decay_c": 0.0},
    "paper-text-net+warm-start": {"architecture": "paper_text", "warm_start": True},
}


def study_config(factor: str) -> Config:
    """The config of one entry of :data:`PROTOCOL_STUDY`."""
    if factor not in PROTOCOL_STUDY:
        raise ValueError(f"factor={factor!r} is not in the protocol study: expected one of {list(PROTOCOL_STUDY)}")
    return get_preset("paper", name=f"study-{factor}", n_steps=30, acquisitions=("bald", "random"), **PROTOCOL_STUDY[factor])


def get_preset(name: str, /, **overrides) -> Config:
    """The named preset, with optional field overrides.

    >>> get_preset("paper").mc_samples
    100
    """
    if name not in PRESETS:
        raise ValueError(f"preset={name!r} is not known: expected one of {sorted(PRESETS)}")
    cfg = PRESETS[name]
    return cfg.replace(**overrides) if overrides else cfg


def preset_from_env(default: str = "teaching", **overrides) -> Config:
    """The preset for a notebook: ``smoke`` if ``BAL_SMOKE=1``, else ``BAL_PRESET`` or ``default``."""
    if os.environ.get("BAL_SMOKE", "") not in ("", "0"):
        return get_preset("smoke", **overrides)
    return get_preset(os.environ.get("BAL_PRESET", default), **overrides)
