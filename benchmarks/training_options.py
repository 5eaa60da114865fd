"""Benchmark: where could a retraining get faster? XLA and bfloat16 against what the package does.

Usage::

    BAL_MNIST=../shared/data/mnist.npz python benchmarks/training_options.py [--labelled 1000] [--threads 1]

Training is 84% of the paper grid's time (chapter 5), so this times one
paper-preset retraining (50 epochs, balanced batches of at most 128) on
``--labelled`` real MNIST images, each variant in its own process (a Keras
dtype policy is global), one thread as in the grid:

- ``package``: ``BayesianCNN`` as the grid runs it (float32, ``jit_compile=False``);
- ``package-xla``: the same model compiled with XLA (``jit_compile=True``);
- ``keras-fp32``: a plain ``keras.Sequential`` of the same architecture, float32;
- ``keras-bf16``: that model under the ``mixed_bfloat16`` policy (bfloat16
  matmuls and convolutions, float32 weights), which CPUs with AVX512_BF16 or
  AMX run natively. ``BayesianCNN`` does not support it (its weight decay is
  float32), so the plain model stands in for it.

The plain models take the input already cropped in NumPy: under
``mixed_bfloat16`` a ``Cropping2D`` layer in the model made training about
2x slower here (20.5 s against 9.8 s at 1,000 labels), slower than float32.

It prints seconds per retraining and the test error of the trained model
(bfloat16 changes the numbers, so adopting it would mean re-running every
committed result).
"""

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

VARIANTS = ("package", "package-xla", "keras-fp32", "keras-bf16")


def _one(variant, n_labelled, threads):
    from bal_utils.runtime import init_worker

    init_worker(threads)
    import numpy as np

    import bal_utils as bu
    from bal_utils._backend import keras
    from bal_utils.model import BatchSchedule, predict_batched, train_on_schedule  # the package's balanced mini-batches

    cfg = bu.get_preset("paper")
    data = bu.load_mnist(cfg.dataset)
    splits = bu.make_splits(data, cfg, seed=0)
    rng = np.random.default_rng(0)
    lab = np.concatenate([splits.initial, rng.choice(splits.pool, n_labelled - len(splits.initial), replace=False)])
    x, y = bu.to_model_input(data.x_train[lab]), data.y_train[lab]
    x_test = bu.to_model_input(data.x_test)

    if variant.startswith("package"):
        model = bu.BayesianCNN.from_config(cfg)
        if variant == "package-xla":
            model.network.compile(optimizer=model.optimizer, loss="sparse_categorical_crossentropy", jit_compile=True)
        model.reset(1)
        model.fit(x[:256], y[:256], 2, cfg.batch_size, 1)  # warm up (tracing, compilation)
        model.reset(0)
        t = time.perf_counter()
        model.fit(x, y, cfg.epochs, cfg.batch_size, 0)
        seconds = time.perf_counter() - t
        probs = model.predict(x_test)
    else:
        if variant == "keras-bf16":
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        L = keras.layers
        x, x_test = x[:, :24, :24], x_test[:, :24, :24]  # the package's exact crop to the 24x24 pixels the pool reads
        net = keras.Sequential([
            keras.Input(x.shape[1:]),
            L.Conv2D(32, 3, activation="relu"), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(5),
            L.Flatten(), L.Dropout(cfg.dropout_trunk),
            L.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L2(cfg.weight_decay_c / len(x))),
            L.Dropout(cfg.dropout_head), L.Dense(10), L.Activation("softmax", dtype="float32"),
        ])
        net.compile(keras.optimizers.Adam(cfg.learning_rate), "sparse_categorical_crossentropy", jit_compile=False)
        # the package trains batch by batch on all epochs' balanced batches; so does this
        train_on_schedule(net, BatchSchedule(x[:256], y[:256], 2, cfg.batch_size, np.random.default_rng(1)))
        t = time.perf_counter()
        train_on_schedule(net, BatchSchedule(x, y, cfg.epochs, cfg.batch_size, np.random.default_rng(0)))
        seconds = time.perf_counter() - t
        probs = predict_batched(net, x_test, 1000)
    error = float(np.mean(np.asarray(probs).argmax(1) != data.y_test))
    print(f"RESULT {variant} {seconds:.3f} {error:.4f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labelled", type=int, default=1000, help="labelled images to train on (default: 1000, the grid's last step)")
    p.add_argument("--threads", type=int, default=1, help="backend threads (default: 1, as in the grid)")
    p.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # internal: one variant in this process
    args = p.parse_args()
    if args.variant:
        _one(args.variant, args.labelled, args.threads)
        return
    print(f"one paper-preset retraining on {args.labelled} labelled images, {args.threads} thread(s), each variant in a fresh process")
    print(f"{'variant':12s} {'seconds':>8s} {'vs package':>10s} {'test error':>10s}")
    base = None
    for variant in VARIANTS:
        out = subprocess.run([sys.executable, __file__, "--variant", variant, "--labelled", str(args.labelled), "--threads", str(args.threads)],
                             capture_output=True, text=True)
        line = [l for l in out.stdout.splitlines() if l.startswith("RESULT")]
        if out.returncode or not line:
            print(f"{variant:12s} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        _, _, seconds, error = line[0].split()
        seconds, error = float(seconds), float(error)
        base = base or seconds
        print(f"{variant:12s} {seconds:8.2f} {base / seconds:9.2f}x {100 * error:9.2f}%")


if __name__ == "__main__":
    main()
