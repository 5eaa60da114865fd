"""The three things the lockstep engine needs that ``keras.ops`` does not offer:
a gradient, a compiled function, and random numbers drawn from a seed held in a
tensor (so that every run keeps its own stream inside one compiled loop).

Everything else in :mod:`bal_utils.lockstep` is ``keras.ops``. Supported
backends: JAX (``jax.value_and_grad``, ``jax.jit``, ``jax.random``) and
TensorFlow (``tf.GradientTape``, ``tf.function`` compiled by XLA, stateless
random ops). Another backend gets one line saying so.
"""

from __future__ import annotations

from ._backend import keras

BACKENDS = ("jax", "tensorflow")


def backend() -> str:
    """The Keras backend, checked to be one the lockstep engine supports."""
    name = keras.backend.backend()
    if name not in BACKENDS:
        raise ValueError(f"executor='lockstep' runs on the {' or '.join(BACKENDS)} backend of Keras, not {name!r}: "
                         "set KERAS_BACKEND, or use executor='local'")
    return name


class Compiled:
    """``fn`` compiled for the backend; :attr:`compilations` counts its traces (one per new input shape).

    On JAX, ``jax.jit``. On TensorFlow, a ``tf.function`` graph, compiled by XLA
    only if ``xla`` (TensorFlow's own CPU kernels are the faster ones for
    ordinary convolutions; a grouped convolution needs XLA on a CPU).
    """

    def __init__(self, fn, xla: bool = False):
        self.compilations = 0

        def traced(*args):
            self.compilations += 1  # runs only while the backend traces ``fn``
            return fn(*args)

        if backend() == "jax":
            import jax

            self._call = jax.jit(traced)
        else:
            import tensorflow as tf

            self._call = tf.function(traced, jit_compile=bool(xla), reduce_retracing=False)

    def __call__(self, *args):
        return self._call(*args)


def value_and_grad(fn):
    """``fn(params, *rest) -> scalar`` becomes ``(params, *rest) -> (value, d value / d params)``."""
    if backend() == "jax":
        import jax

        return jax.value_and_grad(fn)
    import tensorflow as tf

    def both(params, *rest):
        with tf.GradientTape() as tape:
            tape.watch(params)
            value = fn(params, *rest)
        return value, tape.gradient(value, params)

    return both


def uniform(keys, counter, shape):
    """Uniform [0, 1) numbers ``(R, *shape)``: row ``r`` from the seed pair ``keys[r]`` and ``counter`` alone.

    ``keys`` is ``(R, 2)`` int32 and ``counter`` a scalar int32 tensor, so that a
    run's numbers do not depend on which other runs share the computation.
    """
    shape = tuple(int(d) for d in shape)
    if backend() == "jax":
        import jax

        def one(key):
            return jax.random.uniform(jax.random.fold_in(key.astype("uint32"), counter), shape)

        return jax.vmap(one)(keys)
    import tensorflow as tf

    rows = [tf.random.stateless_uniform(shape, seed=tf.random.experimental.stateless_fold_in(keys[r], counter))
            for r in range(int(keys.shape[0]))]
    return tf.stack(rows)
