"""Make the small real-MNIST subset shipped in bal_utils/resources/.

Usage: python scripts/make_subset.py ../shared/data/mnist.npz

Draws a stratified random sample (fixed seed) of the full MNIST: 500 training
and 100 test images per class, stored as a compressed .npz with the same keys
and dtypes as the full file.
"""

import argparse
from pathlib import Path

import numpy as np

from bal_utils.data import load_npz

PER_CLASS_TRAIN = 500
PER_CLASS_TEST = 100
OUT = Path(__file__).resolve().parents[1] / "bal_utils" / "resources" / "mnist_subset.npz"


def stratified(labels, per_class, rng):
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(picks))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="full MNIST .npz (keys x_train, y_train, x_test, y_test)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    data = load_npz(args.source)
    rng = np.random.default_rng(20170301)
    tr = stratified(data.y_train, PER_CLASS_TRAIN, rng)
    te = stratified(data.y_test, PER_CLASS_TEST, rng)
    np.savez_compressed(
        args.out,
        x_train=data.x_train[tr], y_train=data.y_train[tr].astype(np.uint8),
        x_test=data.x_test[te], y_test=data.y_test[te].astype(np.uint8),
    )
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {len(tr)} train + {len(te)} test images, {size / 1e6:.2f} MB (source sha256 {data.sha256})")


if __name__ == "__main__":
    main()
