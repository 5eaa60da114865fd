"""Every run of a grid trained in lockstep: one compiled computation per step for all runs.

In a grid every run acquires ``acquire_per_step`` images per step, so at each
step all runs hold the same number of labels and their mini-batches have the
same shapes. The R networks are then one network whose convolutions are
grouped (run ``r``'s images in input channel ``r``, its filters in output
channels ``32 r .. 32 r + 31``) and whose dense layers are batched matrix
products; the loss is the sum of the runs' losses, so each run's gradient is
its own, and Adam works element by element, so one Adam on the stacked weights
is R independent ones. The whole retraining (every epoch and mini-batch) is
one compiled loop (``keras.ops.fori_loop``) per step.

Shapes are padded to a few buckets, so that one compilation serves many steps:
the labelled set to a power of two, the mini-batch to a power of two (padded
rows have weight 0, so they add nothing to the loss or the gradient), and the
dropout masks are drawn for ``batch_size`` rows whatever the bucket. Each run
keeps its own random streams (weights, batch order and dropout masks from
``(seed, step)``, the batch order exactly as :meth:`BayesianCNN.fit
<bal_utils.model.BayesianCNN.fit>` draws it), so a run's result does not
depend on the runs beside it.

The test evaluation of all runs is batched the same way. Scoring the pool is
each run's acquisition function as in :func:`bal_utils.loop.acquire`, on a
:class:`~bal_utils.model.BayesianCNN` that holds the run's trained weights.
Run files, checks and resumption are :class:`bal_utils.loop.RunState`'s, as in
every executor. The gradient, the compilation and the seeded random numbers
are the only backend-specific parts (:mod:`bal_utils._autodiff`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from . import _autodiff
from ._backend import keras  # noqa: F401  (starts the backend quietly)
from keras import ops  # noqa: E402  (after the quiet import)

from .config import Config
from .data import load_mnist, to_model_input
from .loop import RunState, step_seed
from .model import SHAPES, BatchSchedule, BayesianCNN, build_model, init_limits, member_seed, read_pixels
from .options import N_CLASSES
from .provenance import device_summary
from .runtime import check_lockstep

#: Fields that the runs of one lockstep group must share (per acquisition function, after
#: ``per_acquisition``): they fix the shapes and the optimiser. Runs that differ in one
#: of them train in separate groups, one after the other.
SHARED_FIELDS = ("architecture", "dense_units", "epochs", "batch_size", "batching", "dropout_trunk", "dropout_head", "learning_rate",
                 "posterior", "ensemble_size")
#: The weights of one run, in the order of the per-run network's layers.
PARAM_NAMES = ("conv1_kernel", "conv1_bias", "conv2_kernel", "conv2_bias", "dense_kernel", "dense_bias", "probs_kernel", "probs_bias")
FILTERS = 32
ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}  # Keras' defaults, as BayesianCNN's optimizer
#: How a retraining's mini-batches are looped over (see :class:`Engine`).
LOOPS = ("compiled", "per_batch")


def _default_loop() -> str:
    from .runtime import gpu_available

    return "per_batch" if _autodiff.backend() == "jax" and not gpu_available() else "compiled"


def bucket(n: int, low: int = 8) -> int:
    """The smallest power of two >= ``n`` (and >= ``low``)."""
    return max(int(low), 1 << max(int(n) - 1, 0).bit_length())


def param_shapes(config: Config) -> dict:
    """Shapes of one run's weights, as the per-run network's layers hold them."""
    k, p = SHAPES[config.architecture]
    side = (read_pixels(config.architecture) - 2 * (k - 1)) // p
    features = side * side * FILTERS
    u = config.dense_units
    return {
        "conv1_kernel": (k, k, 1, FILTERS), "conv1_bias": (FILTERS,),
        "conv2_kernel": (k, k, FILTERS, FILTERS), "conv2_bias": (FILTERS,),
        "dense_kernel": (features, u), "dense_bias": (u,),
        "probs_kernel": (u, N_CLASSES), "probs_bias": (N_CLASSES,),
    }


def init_params(config: Config, seeds, inits=None) -> dict:
    """Fresh weights of R runs, ``{name: (R, *shape)}`` float32: run ``r``'s from ``seeds[r]``.

    Glorot-uniform kernels with the limits of :func:`bal_utils.model.init_limits`
    (``inits[r]``, default ``config.init``), zero biases.
    """
    shapes = param_shapes(config)
    inits = [config.init] * len(seeds) if inits is None else list(inits)
    out = {name: np.zeros((len(seeds), *shape), np.float32) for name, shape in shapes.items()}
    for r, (seed, init) in enumerate(zip(seeds, inits)):
        rng = np.random.default_rng([int(seed), 0x1417])
        for name in PARAM_NAMES[::2]:
            limit = init_limits(shapes[name], init)
            out[name][r] = rng.uniform(-limit, limit, shapes[name]).astype(np.float32)
    return out


def params_from_model(model: BayesianCNN) -> dict:
    """One run's weights (R = 1) read from a :class:`BayesianCNN`."""
    layers = _layers(model)
    return {name: np.asarray(ops.convert_to_numpy(getattr(layers[name.rsplit("_", 1)[0]], name.rsplit("_", 1)[1])))[None]
            for name in PARAM_NAMES}


def load_into(model: BayesianCNN, params: dict, r: int) -> None:
    """Give ``model`` the weights of run ``r`` of ``params``."""
    layers = _layers(model)
    for name in PARAM_NAMES:
        layer, which = name.rsplit("_", 1)
        getattr(layers[layer], which).assign(np.asarray(params[name][r]))


def _layers(model):
    return {"conv1": model.trunk.get_layer("conv1"), "conv2": model.trunk.get_layer("conv2"),
            "dense": model.dense, "probs": model.output_layer}


# -- the grouped network, in keras.ops ------------------------------------------
def _grouped_kernel(kernel):
    """``(R, k, k, cin, cout)`` -> ``(k, k, cin, R * cout)``: a grouped convolution's kernel."""
    r, k1, k2, cin, cout = kernel.shape
    return ops.reshape(ops.transpose(kernel, (1, 2, 3, 0, 4)), (k1, k2, cin, r * cout))


def features(params, x, pool: int, grouped: bool = False):
    """The R trunks: ``x (B, H, W, R)`` (run ``r``'s images in channel ``r``) -> ``(B, R, F)``.

    ``grouped=False``: R ordinary convolutions, one per run, in one compiled
    function. ``grouped=True``: one grouped convolution of R groups, which was
    much slower on a CPU (``benchmarks/lockstep.py --grouped`` measures it), so
    the default is per run; on a GPU the grouped form may launch fewer kernels.
    """
    r = params["conv1_bias"].shape[0]
    if not grouped:
        out = []
        for j in range(r):
            h = ops.relu(ops.conv(x[..., j : j + 1], params["conv1_kernel"][j]) + params["conv1_bias"][j])
            h = ops.relu(ops.conv(h, params["conv2_kernel"][j]) + params["conv2_bias"][j])
            h = ops.max_pool(h, pool, pool)
            out.append(ops.reshape(h, (-1, h.shape[1] * h.shape[2] * h.shape[3])))  # as each run's Flatten reads it
        return ops.stack(out, axis=1)
    h = ops.relu(ops.conv(x, _grouped_kernel(params["conv1_kernel"])) + ops.reshape(params["conv1_bias"], (-1,)))
    h = ops.relu(ops.conv(h, _grouped_kernel(params["conv2_kernel"])) + ops.reshape(params["conv2_bias"], (-1,)))
    h = ops.max_pool(h, pool, pool)  # (B, s, s, R * 32)
    s = h.shape[1]
    h = ops.transpose(ops.reshape(h, (-1, s, s, r, FILTERS)), (0, 3, 1, 2, 4))  # as each run's Flatten reads it
    return ops.reshape(h, (-1, r, s * s * FILTERS))


def head_logits(params, f, trunk_mask=None, head_mask=None):
    """The R heads: features ``(B, R, F)`` (times the masks, if given) -> logits ``(B, R, C)``."""
    if trunk_mask is not None:
        f = f * trunk_mask
    h = ops.relu(ops.einsum("brf,rfu->bru", f, params["dense_kernel"]) + params["dense_bias"])
    if head_mask is not None:
        h = h * head_mask
    return ops.einsum("bru,ruc->brc", h, params["probs_kernel"]) + params["probs_bias"]


@dataclass(frozen=True)
class _Spec:
    pool: int
    rates: tuple
    learning_rate: float
    mask_rows: int  # dropout masks are drawn for this many rows, whatever the bucket


class Engine:
    """Compiled training and prediction for groups of R runs that share :data:`SHARED_FIELDS`.

    ``grouped``: the convolutions' form (see :func:`features`). ``loop``: ``"compiled"``
    runs a whole retraining as one compiled loop; ``"per_batch"`` calls one compiled
    Adam step (of every run) per mini-batch from Python. Default: compiled, except on
    JAX's CPU backend, whose compiled loops ran their convolutions far slower than the
    same step called on its own (``benchmarks/lockstep.py --loop`` measures it).
    """

    def __init__(self, config: Config, grouped: bool = False, loop: str | None = None):
        _autodiff.backend()
        self.config, self.grouped = config, bool(grouped)
        self.spec = _Spec(SHAPES[config.architecture][1], (float(config.dropout_trunk), float(config.dropout_head)),
                          float(config.learning_rate), bucket(config.batch_size))
        self.pixels = read_pixels(config.architecture)
        self.loop = _default_loop() if loop is None else loop
        if self.loop not in LOOPS:
            raise ValueError(f"loop={self.loop!r} is not allowed: expected one of {list(LOOPS)}")
        self._train = _autodiff.Compiled(self._train_fn if self.loop == "compiled" else self._step_fn, xla=self.grouped)
        self._predict = _autodiff.Compiled(self._predict_fn, xla=self.grouped)

    @property
    def compilations(self) -> int:
        return self._train.compilations + self._predict.compilations

    # -- compiled bodies -------------------------------------------------------
    def _loss(self, params, x, y, w, trunk_mask, head_mask, decay):
        logits = head_logits(params, features(params, x, self.spec.pool, self.grouped), trunk_mask, head_mask)  # (B, R, C)
        logp = ops.log_softmax(logits, axis=-1)
        ce = -ops.take_along_axis(logp, ops.expand_dims(ops.transpose(y), -1), axis=-1)[..., 0]  # (B, R)
        return ops.sum(ops.transpose(w) * ce) + ops.sum(decay * ops.sum(ops.square(params["dense_kernel"]), axis=(1, 2)))

    def _adam_step(self, i, carry, images, labels, index, weight, keys, decay):
        """Mini-batch ``i`` of every run: its gradient and one Adam step (Keras' update)."""
        spec = self.spec
        p, m, v = carry
        rows = index.shape[-1]
        masks = []
        for j, (rate, width) in enumerate(zip(spec.rates, (p["dense_kernel"].shape[1], p["dense_kernel"].shape[2]))):
            u = _autodiff.uniform(keys, 2 * i + j, (spec.mask_rows, width))[:, :rows]  # (R, B, width)
            masks.append(ops.transpose(ops.cast(u >= rate, "float32") / (1.0 - rate), (1, 0, 2)))
        x = ops.transpose(ops.take(images, index[i], axis=0), (1, 2, 3, 0))  # (B, H, W, R)
        y = ops.take(labels, index[i], axis=0)  # (R, B)
        _, g = _autodiff.value_and_grad(self._loss)(p, x, y, weight[i], *masks, decay)
        t = ops.cast(i + 1, "float32")
        alpha = spec.learning_rate * ops.sqrt(1.0 - ADAM["beta_2"] ** t) / (1.0 - ADAM["beta_1"] ** t)
        m = {k: m[k] + (g[k] - m[k]) * (1.0 - ADAM["beta_1"]) for k in p}
        v = {k: v[k] + (ops.square(g[k]) - v[k]) * (1.0 - ADAM["beta_2"]) for k in p}
        p = {k: p[k] - m[k] * alpha / (ops.sqrt(v[k]) + ADAM["epsilon"]) for k in p}
        return p, m, v

    def _train_fn(self, params, images, labels, index, weight, n_batches, keys, decay):
        """The whole retraining as one compiled loop over the mini-batches."""
        def body(i, carry):
            return self._adam_step(i, carry, images, labels, index, weight, keys, decay)

        zeros = {k: ops.zeros_like(val) for k, val in params.items()}
        p, _, _ = ops.fori_loop(0, n_batches, body, (params, zeros, dict(zeros)))
        return p

    def _step_fn(self, carry, images, labels, index, weight, i, keys, decay):
        return self._adam_step(i, carry, images, labels, index, weight, keys, decay)

    def _predict_fn(self, params, x):
        r = params["conv1_bias"].shape[0]
        if x.shape[-1] != r:  # one image set for every run
            x = ops.repeat(x, r, axis=-1)
        return ops.softmax(head_logits(params, features(params, x, self.spec.pool, self.grouped)), axis=-1)

    # -- host side -------------------------------------------------------------
    def crop(self, x):
        """``(N, 28, 28[, 1])`` float32 -> the ``(N, P, P)`` pixels the network reads."""
        x = np.asarray(x, np.float32)
        return x.reshape(x.shape[0], x.shape[1], x.shape[2])[:, : self.pixels, : self.pixels]

    def schedule(self, n: int, seed: int):
        """Run ``seed``'s mini-batches of one retraining on ``n`` images: the batches of
        :meth:`BayesianCNN.fit <bal_utils.model.BayesianCNN.fit>` with the same seed."""
        rng = np.random.default_rng([int(seed), 0xBA7C4])
        return BatchSchedule(np.arange(n), np.zeros(n), self.config.epochs, self.config.batch_size, rng, self.config.batching).batches

    def train(self, params, images, labels, seeds, decays, batches=None, pad_to=None):
        """Train R runs from ``params`` on their own ``images[r] (n, 28, 28[, 1])`` and ``labels[r]``.

        ``seeds[r]`` draws run ``r``'s batch order (unless ``batches`` gives it) and dropout
        masks; ``decays[r]`` is its L2 coefficient (c / n). ``pad_to`` = ``(n_cap, rows)``
        overrides the buckets (for tests). Returns the trained weights as numpy arrays.
        """
        r, n = len(images), len(images[0])
        batches = [self.schedule(n, s) for s in seeds] if batches is None else batches
        rows_needed = max(len(b) for run in batches for b in run)
        n_cap, rows = pad_to or (bucket(n), bucket(rows_needed))
        if n_cap < n or not rows_needed <= rows <= self.spec.mask_rows:
            raise ValueError(f"pad_to={pad_to} is not allowed: expected room for {n} images and batches of "
                             f"{rows_needed} to {self.spec.mask_rows} rows")
        steps_cap = self.config.epochs * -(-n_cap // min(self.config.batch_size, n_cap))
        flat = np.zeros((r * n_cap, self.pixels, self.pixels), np.float32)
        flat_y = np.zeros(r * n_cap, np.int32)
        index = np.zeros((max(steps_cap, max(len(b) for b in batches)), r, rows), np.int32)
        weight = np.zeros(index.shape, np.float32)
        for j in range(r):
            flat[j * n_cap : j * n_cap + n] = self.crop(images[j])
            flat_y[j * n_cap : j * n_cap + n] = labels[j]
            index[:, j, :] = j * n_cap  # padding rows read a real image, with weight 0
            for i, b in enumerate(batches[j]):
                index[i, j, : len(b)] = j * n_cap + np.asarray(b)
                weight[i, j, : len(b)] = 1.0 / len(b)
        keys = np.array([[int(s) % 2**31, 0x5EED] for s in seeds], np.int32)
        tensors = [ops.convert_to_tensor(a) for a in (flat, flat_y, index, weight)]
        keys, decays = ops.convert_to_tensor(keys), ops.convert_to_tensor(np.asarray(decays, np.float32))
        params = {k: ops.convert_to_tensor(v) for k, v in params.items()}
        if self.loop == "compiled":
            out = self._train(params, *tensors, ops.convert_to_tensor(np.int32(len(batches[0]))), keys, decays)
        else:
            zeros = {k: ops.zeros_like(v) for k, v in params.items()}
            carry = (params, zeros, dict(zeros))
            for i in range(len(batches[0])):
                carry = self._train(carry, *tensors, ops.convert_to_tensor(np.int32(i)), keys, decays)
            out = carry[0]
        return {k: np.asarray(ops.convert_to_numpy(v)) for k, v in out.items()}

    def predict(self, params, x, chunk: int = 1024) -> np.ndarray:
        """Probabilities ``(R, N, C)``, dropout off: ``x`` is ``(N, P, P)`` for every run, or ``(N, P, P, R)``."""
        n = x.shape[0]
        tensors = {k: ops.convert_to_tensor(v) for k, v in params.items()}
        out = []
        for i in range(0, n, chunk):
            part = x[i : i + chunk]
            if part.ndim == 3:
                part = part[..., None]
            if len(part) < chunk:  # one shape for every chunk: one compilation
                part = np.concatenate([part, np.zeros((chunk - len(part), *part.shape[1:]), np.float32)])
            out.append(np.asarray(ops.convert_to_numpy(self._predict(tensors, ops.convert_to_tensor(part))))[: min(chunk, n - i)])
        return np.transpose(np.concatenate(out), (1, 0, 2))


def signature(config: Config) -> tuple:
    """The :data:`SHARED_FIELDS` of a run's config: runs with equal signatures train together."""
    return tuple(getattr(config, f) for f in SHARED_FIELDS)


def run_lockstep(config: Config, out_dir, data_path=None, progress: bool = True, on_run_done=None, data=None, stats=None) -> list:
    """Run (or resume) every (acquisition, seed) run of ``config`` in lockstep, into ``out_dir``.

    Returns ``[(acquisition, seed, seconds), ...]`` for the runs finished in this call, as
    :func:`bal_utils.grid.run_grid` does. ``stats``, a dict if given, receives the
    number of compilations and the seconds spent training, evaluating and scoring.
    """
    check_lockstep(config)
    _autodiff.backend()
    data = data if data is not None else load_mnist(config.dataset, data_path)
    jobs = [(acq, seed) for acq in config.acquisitions for seed in config.seeds]
    runs = [RunState(config, acq, seed, out_dir, data) for acq, seed in jobs]
    groups = {}
    for run in runs:
        groups.setdefault(signature(run.run_config), []).append(run)
    device = device_summary()
    for run in runs:
        run.record["provenance"].setdefault("executor", {"name": "lockstep", "device": device})
        run.note_resume()
    engines = {key: Engine(members[0].run_config) for key, members in groups.items()}
    models = {key: build_model(members[0].run_config) for key, members in groups.items()}
    tests = {key: _test_images(engines[key], members) for key, members in groups.items()}
    seconds = {"train": 0.0, "evaluate": 0.0, "score": 0.0}
    run_seconds = {id(run): 0.0 for run in runs}
    done = []
    total = len(runs) * (config.n_steps + 1)
    bar = tqdm(total=total, initial=sum(run.next_step for run in runs), desc=f"grid {config.name} (lockstep)", unit="step", disable=not progress)
    try:
        while True:
            active = {key: [run for run in members if not run.finished] for key, members in groups.items()}
            active = {key: members for key, members in active.items() if members}
            if not active:
                break
            for key, members in active.items():
                step = min(run.next_step for run in members)
                movers = [run for run in members if run.next_step == step]
                slots = movers + [movers[0]] * (len(groups[key]) - len(movers))  # the group's shape whatever moves
                engine, model = engines[key], models[key]
                networks = getattr(model, "members", [model])  # an ensemble's M networks, else the one
                m = len(networks)
                t0 = time.perf_counter()
                n = len(movers[0].labelled)
                seeds = [step_seed(run.seed, step) for run in slots]
                if m > 1:  # the members' seeds, as Ensemble.reset and Ensemble.fit draw them
                    seeds = [member_seed(s, i) for s in seeds for i in range(m)]
                    slots = [run for run in slots for _ in range(m)]
                params = init_params(engine.config, seeds, [run.run_config.init for run in slots])
                params = engine.train(params, [to_model_input(run.data.x_train[run.labelled]) for run in slots],
                                      [run.data.y_train[run.labelled] for run in slots], seeds,
                                      [run.run_config.weight_decay_c / max(n, 1) for run in slots])
                t1 = time.perf_counter()
                x_test, shared = tests[key]
                probs = engine.predict(params, x_test if shared else _with_slots(x_test, groups[key], slots))
                if m > 1:  # an ensemble predicts the mean of its members
                    probs = probs.reshape(len(slots) // m, m, *probs.shape[1:]).mean(axis=1)
                t2 = time.perf_counter()
                for r, run in enumerate(movers):
                    accuracy = float(np.mean(probs[r].argmax(-1) == run.y_test))
                    t3 = time.perf_counter()
                    for i, network in enumerate(networks):
                        load_into(network, params, r * m + i)
                    chosen = run.acquire(model, step)
                    t4 = time.perf_counter()
                    group_time = t2 - t0
                    run.record_step(step, accuracy, chosen, {"train": t1 - t0, "evaluate": t2 - t1, "score": t4 - t3}, group_time / len(movers) + t4 - t3)
                    run_seconds[id(run)] += group_time / len(movers) + t4 - t3
                    seconds["score"] += t4 - t3
                    bar.update(1)
                    if run.finished:
                        done.append((run.acquisition, run.seed, run_seconds[id(run)]))
                        if on_run_done:
                            on_run_done(run.path)
                seconds["train"] += t1 - t0
                seconds["evaluate"] += t2 - t1
                bar.set_postfix(labelled=n)
    finally:
        bar.close()
        if stats is not None:
            stats.update(seconds, compilations=sum(e.compilations for e in engines.values()))
    return done


def _test_images(engine, members):
    """The group's test images: ``(N, P, P)`` if every run has the same test set, else ``(N, P, P, R)``."""
    first = members[0].x_test
    if all(run.x_test is first or np.array_equal(run.x_test, first) for run in members):
        return engine.crop(first), True
    return np.stack([engine.crop(run.x_test) for run in members], axis=-1), False


def _with_slots(x_test, members, slots):
    """Per-run test images in the order of ``slots`` (runs not moving this step repeat a mover)."""
    where = {id(run): i for i, run in enumerate(members)}
    return x_test[..., [where[id(run)] for run in slots]]
