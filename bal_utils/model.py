"""The seed's Bayesian CNN (MC dropout) in Keras 3, split as trunk + stochastic head.

Architecture (the seed code, not the paper text, which says 4x4 kernels and
2x2 pooling)::

    trunk: conv 32@3x3 - relu - conv 32@3x3 - relu - maxpool 5x5 - flatten  -> 512 features
    head:  dropout 0.25 - dense 128 - relu (L2 c/N) - dropout 0.5 - dense 10 - softmax

The trunk is deterministic: every dropout layer sits after it. MC dropout
therefore needs the trunk only once per image; the T stochastic passes run the
small head on the cached 512 features (:meth:`BayesianCNN.mc_predict`,
``mode="cached"``): dropout before a dense layer masks rows of its kernel, so
the T passes become one matrix product with T masked kernels. Masks are drawn
explicitly, one per pass; ``mode="naive"`` runs the whole network T times with
the same masks, for tests and benchmarks.

A second, exact saving: the 5x5 max pool with "valid" padding reads only the
top-left 20x20 of the 24x24 second-conv output, which depends only on the
top-left 24x24 pixels. The trunk crops the input to those pixels first; the
outputs are identical to the uncropped network (tested), and the two
convolutions have 22x22 and 20x20 outputs instead of 26x26 and 24x24: about
70% of their multiply-adds.

The model is built and compiled once; :meth:`BayesianCNN.reset` re-draws the
weights, clears Adam's state and re-seeds the dropout masks in place, so
"retrain from scratch" costs no rebuilding and no graph retracing.
Only ``keras.ops`` is used, so the same code runs on the TensorFlow (default)
and JAX backends.
"""

from __future__ import annotations

import numpy as np

from ._backend import keras
from keras import layers, ops  # noqa: E402  (after the quiet import)

from . import checks
from .options import ARCHITECTURES, BATCHINGS, IMAGE_SHAPE, INITS, MC_MASKS, N_CLASSES

INPUT_SHAPE = (*IMAGE_SHAPE, 1)
#: (conv kernel size, max-pool size) of each architecture; both convs have 32 filters.
SHAPES = {"seed": (3, 5), "paper_text": (4, 2)}


def read_pixels(architecture: str = "seed") -> int:
    """Rows (and columns) of the 28x28 input that the network's output depends on.

    Two "valid" convolutions of size k leave ``s = 28 - 2 (k - 1)`` rows; a
    "valid" max pool of size p reads the first ``p * (s // p)`` of them, which
    depend on the first ``p * (s // p) + 2 (k - 1)`` input rows. The seed
    network reads 24 of 28; the paper text's reads all 28.
    """
    k, p = SHAPES[architecture]
    s = INPUT_SHAPE[0] - 2 * (k - 1)
    return p * (s // p) + 2 * (k - 1)


def init_limits(kernel_shape, init: str = "keras3") -> float:
    """Glorot-uniform limit ``sqrt(6 / (fan_in + fan_out))`` of a Keras 3 kernel.

    ``"keras3"``: Keras 3's fans; a conv kernel ``(kh, kw, cin, cout)`` has
    fan_in = kh kw cin and fan_out = kh kw cout. ``"keras0"``: Keras before 1.0
    (``initializations.get_fans`` on Theano's ``(cout, cin, kh, kw)`` kernels)
    took fan_in = cin kh kw and fan_out = cout, the number of filters, so the
    first conv's limit is sqrt(6 / (9 + 32)) = 0.383 instead of sqrt(6 / (9 + 288))
    = 0.142. Dense kernels ``(n_in, n_out)`` get the same fans in both.
    """
    checks.choice("init", init, INITS)
    shape = tuple(int(d) for d in kernel_shape)
    if len(shape) == 2:
        fan_in, fan_out = shape
    else:
        area = int(np.prod(shape[:-2]))
        fan_in = area * shape[-2]
        fan_out = shape[-1] if init == "keras0" else area * shape[-1]
    return float(np.sqrt(6.0 / (fan_in + fan_out)))


@keras.saving.register_keras_serializable(package="bal_utils")
class DecayedDense(layers.Dense):
    """Dense layer with an L2 penalty ``decay * sum(kernel**2)`` added as a loss.

    ``decay`` is a non-trainable weight of the layer, so it can change every
    acquisition step (c / n_labelled) without recompiling, on any backend.
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.decay = self.add_weight(shape=(), initializer="zeros", trainable=False, name="decay")

    def call(self, inputs, training=None):
        self.add_loss(self.decay * ops.sum(ops.square(self.kernel)))
        return super().call(inputs)


def build_trunk(crop: bool = True, name: str = "trunk", architecture: str = "seed") -> keras.Sequential:
    """The deterministic convolutional trunk: ``(N, 28, 28, 1) -> (N, features)``.

    512 features for the seed network, 3,872 for the paper text's.
    """
    checks.choice("architecture", architecture, ARCHITECTURES)
    k, p = SHAPES[architecture]
    stack = [keras.Input(INPUT_SHAPE)]
    unread = INPUT_SHAPE[0] - read_pixels(architecture)
    if crop and unread:
        stack.append(layers.Cropping2D(((0, unread), (0, unread)), name="crop_to_read_pixels"))
    stack += [
        layers.Conv2D(32, k, activation="relu", name="conv1"),
        layers.Conv2D(32, k, activation="relu", name="conv2"),
        layers.MaxPooling2D(p, name="pool"),
        layers.Flatten(name="flatten"),
    ]
    return keras.Sequential(stack, name=name)


class BatchSchedule:
    """All epochs of one training run as one sequence of mini-batches.

    Each epoch is a fresh permutation of the N images cut into
    ``ceil(N / batch_size)`` batches:

    * ``"balanced"`` (default): batches of nearly equal size (``numpy.array_split``),
      e.g. N = 130 gives 65 + 65;
    * ``"keras"``: full batches and a last partial one, as ``fit`` does, e.g.
      128 + 2. Adam takes a full-size step on that 2-image batch in every epoch,
      which can undo much of the epoch (``benchmarks/batching.py`` measures
      the test error at such labelled counts).

    :func:`train_on_schedule` feeds it to Keras: on TensorFlow one
    ``train_on_batch`` call per batch (no per-epoch overhead, no input
    pipeline), elsewhere ``fit`` on the whole schedule as one epoch.
    """

    def __init__(self, x, y, epochs, batch_size, rng, batching="balanced"):
        checks.choice("batching", batching, BATCHINGS)
        self.x, self.y = x, y
        n = len(x)
        n_batches = -(-n // batch_size)
        self.batches = []
        for _ in range(epochs):
            perm = rng.permutation(n)
            if batching == "balanced":
                self.batches += np.array_split(perm, n_batches)
            else:
                self.batches += [perm[i : i + batch_size] for i in range(0, n, batch_size)]

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        idx = self.batches[i]
        return self.x[idx], self.y[idx]


class _AsKerasDataset(keras.utils.PyDataset):
    """A :class:`BatchSchedule` as one Keras epoch, for ``fit``."""

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def __len__(self):
        return len(self.schedule)

    def __getitem__(self, i):
        return self.schedule[i]


def train_on_schedule(network, schedule, batch_by_batch=None) -> None:
    """Train a compiled Keras model on every batch of ``schedule``, in order.

    On TensorFlow (``batch_by_batch=None``), one ``train_on_batch`` call per
    batch: the same compiled train step as ``fit`` (the weights come out
    bit-identical, tested), without the input pipeline that ``fit`` builds.
    That pipeline is a ``tf.data`` generator whose autotuning thread sleeps in
    periods that double from 10 ms; when ``fit`` returns, deleting the
    unfinished pipeline can wait for the current period to end, so a
    retraining's wall time was often rounded up to 10.24 s x 2^k
    (``benchmarks/fit_teardown.py`` measures the cost). Other backends keep
    ``fit`` on the whole schedule as one epoch: on JAX it has no such pipeline,
    and ``train_on_batch`` would wait for the device after every batch.
    """
    if batch_by_batch is None:
        batch_by_batch = keras.backend.backend() == "tensorflow"
    if batch_by_batch:
        for i in range(len(schedule)):
            network.train_on_batch(*schedule[i])
    else:
        network.fit(_AsKerasDataset(schedule), epochs=1, shuffle=False, verbose=0)


def predict_batched(network, x, batch_size: int = 1024) -> np.ndarray:
    """``network.predict(x, batch_size)`` as ``predict_on_batch`` calls: the same
    outputs, without ``predict``'s input pipeline (see :func:`train_on_schedule`)."""
    if len(x) == 0:
        return np.zeros((0, *network.output_shape[1:]), dtype="float32")
    return np.concatenate([np.asarray(network.predict_on_batch(x[i : i + batch_size])) for i in range(0, len(x), batch_size)])


class BayesianCNN:
    """MC-dropout CNN with a cached deterministic trunk.

    Parameters
    ----------
    dropout_trunk, dropout_head : float
        Dropout rates after the trunk (0.25) and after the dense layer (0.5).
    learning_rate : float
        Adam step size.
    weight_decay_c : float
        L2 coefficient c; the penalty on the dense kernel is ``c / n_train``.
    crop : bool
        Crop the input to the pixels the network reads (exact; see module doc).
    dense_units : int
        Width of the dense layer (128; the authors' BALD script: 256).
    init : {"keras3", "keras0"}
        How :meth:`reset` draws kernels (:func:`init_limits`).
    architecture : {"seed", "paper_text"}
        3x3 convs and a 5x5 pool, or the paper text's 4x4 convs and 2x2 pool.
    mc_masks : {"shared", "per_image"}
        Default dropout masks of :meth:`mc_predict`.

    Attributes
    ----------
    trunk : keras.Model
        ``(N, 28, 28, 1) -> (N, 512)`` features.
    head : keras.Model
        ``(N, 512) -> (N, 10)`` probabilities; dropout only when training.
    network : keras.Model
        ``head(trunk(x))``, the model that is trained.
    """

    def __init__(self, dropout_trunk=0.25, dropout_head=0.5, learning_rate=1e-3, weight_decay_c=3.5, crop=True,
                 dense_units=128, init="keras3", architecture="seed", mc_masks="shared"):
        checks.choice("init", init, INITS)
        checks.choice("mc_masks", mc_masks, MC_MASKS)
        self.weight_decay_c = float(weight_decay_c)
        self.init, self.mc_masks = init, mc_masks
        self.trunk = build_trunk(crop=crop, architecture=architecture)
        self.dense = DecayedDense(int(dense_units), activation="relu", name="dense")
        self.output_layer = layers.Dense(N_CLASSES, activation="softmax", name="probs")

        self.dropout_rates = (float(dropout_trunk), float(dropout_head))
        f = keras.Input((self.trunk.output_shape[-1],))
        h = layers.Dropout(dropout_trunk, name="dropout_trunk")(f)
        h = layers.Dropout(dropout_head, name="dropout_head")(self.dense(h))
        self.head = keras.Model(f, self.output_layer(h), name="head")
        x = keras.Input(INPUT_SHAPE)
        self.network = keras.Model(x, self.head(self.trunk(x)), name="bayesian_cnn")
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.network.compile(optimizer=self.optimizer, loss="sparse_categorical_crossentropy", jit_compile=False)

    @classmethod
    def from_config(cls, config, **kwargs) -> "BayesianCNN":
        """Build from a :class:`bal_utils.config.Config`."""
        return cls(
            dropout_trunk=config.dropout_trunk,
            dropout_head=config.dropout_head,
            learning_rate=config.learning_rate,
            weight_decay_c=config.weight_decay_c,
            dense_units=config.dense_units,
            init=config.init,
            architecture=config.architecture,
            mc_masks=config.mc_masks,
            **kwargs,
        )

    # -- state ------------------------------------------------------------
    def reset(self, seed: int, weights: bool = True) -> None:
        """Re-draw all weights (Glorot uniform kernels, zero biases), clear the
        optimizer state and re-seed the dropout masks, all from ``seed``.

        After ``reset(s)`` the model is in the same state whatever it did
        before, which makes every acquisition step reproducible on its own.
        ``weights=False`` only re-seeds the training dropout masks and keeps
        the weights and Adam's state (a warm start).
        """
        seeds = np.random.default_rng([int(seed), 0xC0FFEE]).integers(0, 2**31 - 1, size=64)
        i = 0
        for layer in (*self.trunk.layers, self.dense, self.output_layer):
            if hasattr(layer, "kernel"):
                if weights:
                    limit = init_limits(layer.kernel.shape, self.init)
                    init = keras.initializers.RandomUniform(-limit, limit, seed=int(seeds[i]))
                    layer.kernel.assign(init(layer.kernel.shape))
                    layer.bias.assign(ops.zeros(layer.bias.shape))
                i += 1
        for layer in self.head.layers:
            generator = getattr(layer, "seed_generator", None)
            if generator is not None:
                generator.state.assign(np.array([seeds[i], 0]).astype(generator.state.dtype))
                i += 1
        if not weights:
            return
        for var in self.optimizer.variables:
            if "learning_rate" not in var.path:
                var.assign(ops.zeros(var.shape, dtype=var.dtype))

    def set_weight_decay(self, n_train: int) -> None:
        """Set the dense-layer L2 coefficient to ``c / n_train``."""
        self.dense.decay.assign(self.weight_decay_c / max(int(n_train), 1))

    # -- training and prediction ------------------------------------------
    def fit(self, x, y, epochs: int, batch_size: int, seed: int, batching: str = "balanced") -> None:
        """Train (without resetting) on ``x (N, 28, 28, 1)`` float32 and labels ``y (N,)``.

        Sets the weight decay to c / N first. The mini-batch order is drawn
        from ``seed``; ``batching`` says how an epoch is cut (:class:`BatchSchedule`).
        """
        self.set_weight_decay(len(x))
        rng = np.random.default_rng([int(seed), 0xBA7C4])
        train_on_schedule(self.network, BatchSchedule(x, np.asarray(y), epochs, batch_size, rng, batching))

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Deterministic prediction (dropout off): probabilities ``(N, 10)``."""
        return predict_batched(self.network, x, batch_size)

    def features(self, x, batch_size: int = 1024) -> np.ndarray:
        """Trunk outputs ``(N, 512)``."""
        return predict_batched(self.trunk, x, batch_size)

    def dropout_masks(self, mc_samples: int, seed=None, rates=None, n_images=None):
        """Draw T pairs of dropout masks, already scaled by 1 / (1 - rate).

        Returns ``(trunk_masks (T, F), head_masks (T, U))`` float32 (F trunk
        features, U dense units), or with ``n_images=N`` one mask per image and
        pass, ``(T, N, F)`` and ``(T, N, U)``.
        ``seed`` is an int or ``numpy.random.Generator`` (None: fresh entropy);
        ``rates`` overrides the model's ``(trunk, head)`` dropout rates.
        """
        rates = self.dropout_rates if rates is None else tuple(rates)
        if len(rates) != 2 or not all(isinstance(r, (int, float)) and 0 <= r < 1 for r in rates):
            raise ValueError(f"rates={rates!r} is not allowed: expected two dropout rates in [0, 1)")
        rng = np.random.default_rng(seed)
        out = []
        for rate, width in zip(rates, (self.trunk.output_shape[-1], self.dense.units)):
            shape = (mc_samples, width) if n_images is None else (mc_samples, int(n_images), width)
            keep = rng.random(shape, dtype=np.float32) >= rate if n_images is not None else rng.random(shape) >= rate
            out.append((keep / np.float32(1.0 - rate)).astype(np.float32))
        return tuple(out)

    def mc_head(self, features, trunk_masks, head_masks):
        """The stochastic head under T given masks: ``(N, F) -> (T, N, 10)``.

        Shared masks ``(T, F)``, ``(T, U)``: dropout on the features before a
        dense layer is a mask on the rows of its kernel, so all T passes are one
        matrix product of the features with T masked copies of the kernel,
        ``(N, F) @ (F, T*U)``. Per-image masks ``(T, N, F)``, ``(T, N, U)``
        mask the features themselves, ``(T, N, F) @ (F, U)``: the same
        multiply-adds.
        """
        if len(trunk_masks.shape) == 3:
            h = ops.matmul(features[None] * trunk_masks, self.dense.kernel)  # (T, N, U)
            h = ops.relu(h + self.dense.bias) * head_masks
            return ops.softmax(ops.matmul(h, self.output_layer.kernel) + self.output_layer.bias, axis=-1)
        t, d = trunk_masks.shape
        w1 = ops.reshape(ops.transpose(trunk_masks[:, :, None] * self.dense.kernel[None], (1, 0, 2)), (d, -1))
        h = ops.reshape(ops.matmul(features, w1), (-1, t, self.dense.units))  # (N, T, U)
        h = ops.relu(h + self.dense.bias) * head_masks
        logits = ops.matmul(h, self.output_layer.kernel) + self.output_layer.bias  # (N, T, 10)
        return ops.transpose(ops.softmax(logits, axis=-1), (1, 0, 2))

    def mc_predict(self, x, mc_samples: int, mode: str = "cached", seed=None, max_rows: int = 131072, rates=None, masks=None) -> np.ndarray:
        """T stochastic forward passes with MC dropout.

        With ``masks="shared"``, pass ``t`` uses one dropout mask for every
        image ("consistent" MC dropout, as in BatchBALD): each image's T
        samples are still T independent masks, so its acquisition score has
        the usual distribution, and both modes can be checked against each
        other exactly. ``masks="per_image"`` draws a mask per image and pass,
        as Theano's dropout did in the original code.

        Parameters
        ----------
        x : array ``(N, 28, 28, 1)`` float32
        mc_samples : int
            T, the number of dropout masks.
        mode : {"cached", "naive"}
            ``"cached"`` computes the trunk once per image and the head for
            all T masks in batched products of at most ``max_rows`` (image,
            sample) rows; ``"naive"`` runs the whole network (trunk included)
            once per mask, as a plain MC-dropout loop would.
        seed : int or numpy Generator, optional
            Seeds the masks.
        rates : (float, float), optional
            Dropout rates to predict with instead of the trained ones.
        masks : {"shared", "per_image"}, optional
            Default: the model's ``mc_masks``.

        Returns
        -------
        probs : array ``(T, N, 10)`` float32
        """
        checks.integer("mc_samples", mc_samples, 1)
        checks.choice("mode", mode, ("cached", "naive"))
        masks = self.mc_masks if masks is None else masks
        checks.choice("masks", masks, MC_MASKS)
        t = int(mc_samples)
        rng = np.random.default_rng(seed)
        chunk = max(1, max_rows // t)
        if masks == "per_image":  # masks drawn chunk by chunk: about max_rows * 64 floats at a time
            chunk = max(1, max_rows * 64 // (t * self.trunk.output_shape[-1]))
            feats = self.features(x) if mode == "cached" else None
            out = []
            for i in range(0, len(x), chunk):
                m1, m2 = self.dropout_masks(t, rng, rates, n_images=min(chunk, len(x) - i))
                if mode == "cached":
                    out.append(self._head_numpy(feats[i : i + chunk], m1, m2))
                else:
                    out.append(np.concatenate([self._head_numpy(self.features(x[i : i + chunk]), a[None], b[None]) for a, b in zip(m1, m2)]))
            return np.concatenate(out, axis=1)
        shared = self.dropout_masks(t, rng, rates)
        if mode == "naive":
            return np.concatenate(
                [self._head_numpy(self.features(x), m1[None], m2[None]) for m1, m2 in zip(*shared)]
            )
        feats = self.features(x)
        return np.concatenate(
            [self._head_numpy(feats[i : i + chunk], *shared) for i in range(0, len(feats), chunk)], axis=1
        )

    def _head_numpy(self, features, trunk_masks, head_masks):
        return ops.convert_to_numpy(self.mc_head(ops.convert_to_tensor(features), trunk_masks, head_masks))


def train_bayesian_cnn(x, y, config, seed: int = 0, **kwargs) -> BayesianCNN:
    """Build a :class:`BayesianCNN` from ``config`` and train it from scratch on ``x``, ``y``.

    ``x`` is ``(N, 28, 28, 1)`` float32 (see :func:`bal_utils.data.to_model_input`);
    ``config.epochs`` and ``config.batch_size`` set the training.
    """
    model = BayesianCNN.from_config(config, **kwargs)
    model.reset(seed)
    model.fit(x, y, config.epochs, config.batch_size, seed, config.batching)
    return model


def multiply_adds(model: BayesianCNN) -> dict:
    """Multiply-adds per image of each layer with weights: ``{layer name: count}``.

    Convolutions count ``out_h * out_w * out_channels * k_h * k_w * in_channels``;
    dense layers ``inputs * units``. Shows where the cost of a forward pass is.
    """
    counts = {}
    for layer in (*model.trunk.layers, model.dense, model.output_layer):
        if not hasattr(layer, "kernel"):
            continue
        k = layer.kernel.shape
        if len(k) == 4:  # conv: (kh, kw, cin, cout)
            _, h, w_, _ = layer.output.shape
            counts[layer.name] = int(h * w_ * k[0] * k[1] * k[2] * k[3])
        else:
            counts[layer.name] = int(k[0] * k[1])
    return counts


def member_seed(seed: int, member: int) -> int:
    """Seed of member ``member`` of an ensemble at the step seeded ``seed``."""
    return int(np.random.default_rng([int(seed), int(member), 0xE75]).integers(0, 2**31 - 1))


class Ensemble:
    """M :class:`BayesianCNN` networks as posterior samples (deep ensembles).

    Each member is trained from its own initial weights and batch order
    (:func:`member_seed`), with dropout, as one MC-dropout network is; each
    predicts with dropout off. :meth:`mc_predict` returns the M members'
    probabilities ``(M, N, 10)`` in place of T dropout passes, so every
    acquisition function reads them as it reads the passes; :meth:`predict` is
    their mean.
    """

    def __init__(self, members):
        self.members = list(members)
        if len(self.members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(self.members)}")

    @classmethod
    def from_config(cls, config, **kwargs) -> "Ensemble":
        checks.integer("ensemble_size", config.ensemble_size, 2)
        return cls(BayesianCNN.from_config(config, **kwargs) for _ in range(config.ensemble_size))

    def reset(self, seed: int, weights: bool = True) -> None:
        for i, member in enumerate(self.members):
            member.reset(member_seed(seed, i), weights=weights)

    def fit(self, x, y, epochs: int, batch_size: int, seed: int, batching: str = "balanced") -> None:
        for i, member in enumerate(self.members):
            member.fit(x, y, epochs, batch_size, member_seed(seed, i), batching)

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """The members' mean probabilities ``(N, 10)``, dropout off."""
        return np.mean([member.predict(x, batch_size) for member in self.members], axis=0)

    def mc_predict(self, x, mc_samples=None, mode=None, seed=None, masks=None, **_) -> np.ndarray:
        """The members' probabilities ``(M, N, 10)``, dropout off (``mc_samples``, ``mode``,
        ``seed`` and ``masks`` are those of :meth:`BayesianCNN.mc_predict`, unused here)."""
        return np.stack([member.predict(x) for member in self.members])


def build_model(config):
    """The model a run of ``config`` trains: a :class:`BayesianCNN`, or an :class:`Ensemble`
    of ``config.ensemble_size`` of them where ``config.posterior == "ensemble"``."""
    return Ensemble.from_config(config) if config.posterior == "ensemble" else BayesianCNN.from_config(config)
