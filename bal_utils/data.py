"""MNIST loading, validation and the active-learning splits.

Where the data comes from (:func:`load_mnist`):

* ``dataset="mnist"``: the full 70,000 images, from ``path`` if given, else
  from the file named by the ``BAL_MNIST`` environment variable, else through
  Keras' own download and cache (``keras.datasets.mnist.load_data``).
* ``dataset="mnist-subset"``: a small stratified subset of the real MNIST that
  ships inside the package (made by ``scripts/make_subset.py``), for smoke runs
  and offline demos. It is only used when asked for by name, never as a
  silent fallback.

Files are read with ``numpy.load(..., allow_pickle=False)`` and checked (keys,
shapes, dtypes, label range) before use.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from . import checks
from .options import IMAGE_SHAPE, N_CLASSES

ENV_VAR = "BAL_MNIST"
SUBSET_FILE = "mnist_subset.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class MNIST:
    """MNIST arrays as stored: images ``(N, 28, 28)`` uint8, labels ``(N,)`` in 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = "memory"
    sha256: str | None = None


@dataclass(frozen=True)
class Splits:
    """Disjoint index sets for one active-learning run.

    ``initial``, ``validation`` and ``pool`` index the training arrays;
    ``test`` indexes the test arrays. All are sorted int64 arrays.
    """

    initial: np.ndarray
    validation: np.ndarray
    pool: np.ndarray
    test: np.ndarray


def _fail(source, problem):
    raise ValueError(f"MNIST data from {source}: {problem}")


def validate_mnist(arrays, source: str = "memory") -> MNIST:
    """Check a mapping with the four MNIST keys and return an :class:`MNIST`.

    Checks the keys, that images are ``(N, 28, 28)`` unsigned 8-bit integers,
    that labels are ``(N,)`` integers in 0..9 and that each pair has the same N.
    Raises ``ValueError`` naming the source and what is wrong.
    """
    missing = [k for k in KEYS if k not in arrays]
    if missing:
        _fail(source, f"missing key(s) {missing}; expected keys {list(KEYS)}")
    out = {}
    for part in ("train", "test"):
        x = np.asarray(arrays[f"x_{part}"])
        y = np.asarray(arrays[f"y_{part}"])
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
            _fail(source, f"x_{part} has shape {x.shape}; expected (N, 28, 28)")
        if x.dtype != np.uint8:
            _fail(source, f"x_{part} has dtype {x.dtype}; expected uint8 pixels in 0..255")
        if y.ndim != 1:
            _fail(source, f"y_{part} has shape {y.shape}; expected (N,)")
        if not np.issubdtype(y.dtype, np.integer):
            _fail(source, f"y_{part} has dtype {y.dtype}; expected integer labels 0..9")
        if len(y) != len(x):
            _fail(source, f"x_{part} has {len(x)} images but y_{part} has {len(y)} labels; expected the same number")
        if len(y) == 0:
            _fail(source, f"x_{part} is empty; expected at least one image")
        if y.min() < 0 or y.max() >= N_CLASSES:
            _fail(source, f"y_{part} has labels in [{y.min()}, {y.max()}]; expected labels 0..9")
        out[f"x_{part}"] = x
        out[f"y_{part}"] = y.astype(np.int64)
    return MNIST(**out, source=source)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_npz(path) -> MNIST:
    """Load and validate an MNIST ``.npz`` file (no pickle)."""
    path = Path(path).expanduser()
    expected = f"expected an MNIST .npz file with keys {', '.join(KEYS)}"
    if path.is_dir():
        raise ValueError(f"MNIST data from {path}: is a directory; {expected}")
    if not path.is_file():
        raise ValueError(f"MNIST data from {path}: no such file; {expected}")
    try:
        with open(path, "rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"  # an .npz is a zip archive
        npz = np.load(path, allow_pickle=False) if is_zip else None
    except Exception as err:  # zipfile.BadZipFile, OSError ...
        raise ValueError(f"MNIST data from {path}: not a valid MNIST .npz ({type(err).__name__}: {err}); {expected}") from None
    if npz is None:
        raise ValueError(f"MNIST data from {path}: not a valid MNIST .npz (not a zip archive); {expected}")
    with npz:
        missing = [k for k in KEYS if k not in npz.files]
        if missing:
            raise ValueError(f"MNIST data from {path}: not a valid MNIST .npz: missing key(s) {missing} (it has {npz.files}); {expected}")
        try:
            arrays = {k: npz[k] for k in KEYS}
        except ValueError:  # object arrays need pickle: refuse them
            raise ValueError(f"MNIST data from {path}: holds arrays that cannot be read without pickle (refused); {expected} of plain numbers") from None
        except Exception as err:  # a damaged member: zlib.error, zipfile.BadZipFile, EOFError ...
            raise ValueError(f"MNIST data from {path}: not a valid MNIST .npz ({type(err).__name__}: {err}); {expected}") from None
    data = validate_mnist(arrays, source=str(path))
    return MNIST(data.x_train, data.y_train, data.x_test, data.y_test, source=str(path), sha256=_sha256(path))


def subset_path() -> Path:
    """Path of the MNIST subset shipped inside the package."""
    return Path(str(resources.files("bal_utils") / "resources" / SUBSET_FILE))


def load_mnist(dataset: str = "mnist", path=None) -> MNIST:
    """Load MNIST.

    Parameters
    ----------
    dataset : {"mnist", "mnist-subset"}
        The full set or the small subset shipped with the package.
    path : str or Path, optional
        A local ``.npz`` with keys ``x_train, y_train, x_test, y_test`` (the
        layout Keras caches). Only for ``dataset="mnist"``; without it the
        ``BAL_MNIST`` environment variable is tried, then Keras' download.
    """
    if dataset == "mnist-subset":
        if path is not None:
            raise ValueError("path is only used with dataset='mnist'; the subset ships with the package")
        return load_npz(subset_path())
    if dataset != "mnist":
        raise ValueError(f"dataset={dataset!r} is not known: expected 'mnist' or 'mnist-subset'")
    path = path or os.environ.get(ENV_VAR) or None
    if path is not None:
        return load_npz(path)
    from ._backend import keras  # the download path is the only one that needs Keras (started quietly)

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as err:  # Keras raises a bare Exception when offline
        raise ValueError(
            f"MNIST download failed ({' '.join(str(err).split())}); point the {ENV_VAR} environment variable "
            f"(or --data, or path=) at a local MNIST .npz file with keys {', '.join(KEYS)}"
        ) from None
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return validate_mnist(arrays, source="keras.datasets.mnist")


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images ``(N, 28, 28)`` -> float32 ``(N, 28, 28, 1)`` in [0, 1]."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    return (x.astype(np.float32) / 255.0) if x.dtype == np.uint8 else x.astype(np.float32)


def make_splits(data: MNIST, config, seed: int) -> Splits:
    """Draw the initial, validation, pool and test index sets for one run.

    The initial set holds ``config.initial_per_class`` random images of each
    class; validation and pool are random draws from the rest of the training
    images (the pool takes all of the rest when ``config.n_pool`` is None; of the
    ``config.rare_classes`` only a random ``config.rare_fraction`` stays in it);
    test is the whole test set or a random ``config.n_test`` of it (of the
    ``config.target_classes`` only, where given). The four sets are disjoint
    and depend only on ``seed``.
    """
    rng = np.random.default_rng([int(seed), 0x5EED])
    y = data.y_train
    initial = []
    for c in range(N_CLASSES):
        members = np.flatnonzero(y == c)
        if len(members) < config.initial_per_class:
            raise ValueError(
                f"class {c} has {len(members)} training images in {data.source}; "
                f"initial_per_class={config.initial_per_class} needs at least that many"
            )
        initial.append(rng.choice(members, config.initial_per_class, replace=False))
    initial = np.sort(np.concatenate(initial))
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), initial))
    n_pool = len(rest) - config.n_validation if config.n_pool is None else config.n_pool
    need = config.n_validation + n_pool
    if need > len(rest) or n_pool < config.n_steps * config.acquire_per_step:
        raise ValueError(
            f"{data.source} has {len(y)} training images: the initial set ({len(initial)}), "
            f"n_validation={config.n_validation} and a pool of {n_pool} do not fit, or the pool is smaller "
            f"than n_steps * acquire_per_step = {config.n_steps * config.acquire_per_step}"
        )
    validation = np.sort(rest[: config.n_validation])
    pool = np.sort(rest[config.n_validation : need])
    rare = tuple(getattr(config, "rare_classes", ()))
    if rare:  # an unbalanced pool: only a share of the rare classes' images stays
        rare_rng = np.random.default_rng([int(seed), 0xBA1])
        is_rare = np.isin(y[pool], rare)
        keep = rare_rng.random(len(pool)) < config.rare_fraction
        pool = pool[~is_rare | keep]
        if len(pool) < config.n_steps * config.acquire_per_step:
            raise ValueError(f"rare_classes={rare} with rare_fraction={config.rare_fraction} leaves a pool of {len(pool)}: "
                             f"less than n_steps * acquire_per_step = {config.n_steps * config.acquire_per_step}")
    classes = tuple(getattr(config, "target_classes", ()))
    if classes:  # only the classes the predictions are wanted for
        eligible = np.flatnonzero(np.isin(data.y_test, classes))
        n_test = len(eligible) if config.n_test is None else config.n_test
        if n_test > len(eligible):
            raise ValueError(f"n_test={config.n_test} is more than the {len(eligible)} test images of classes {classes} in {data.source}")
        test = eligible if n_test == len(eligible) else np.sort(rng.choice(eligible, n_test, replace=False))
        return Splits(initial=initial.astype(np.int64), validation=validation.astype(np.int64), pool=pool.astype(np.int64), test=test.astype(np.int64))
    n_test = len(data.y_test) if config.n_test is None else config.n_test
    if n_test > len(data.y_test):
        raise ValueError(f"n_test={config.n_test} is more than the {len(data.y_test)} test images of {data.source}")
    test = np.arange(len(data.y_test)) if n_test == len(data.y_test) else np.sort(rng.choice(len(data.y_test), n_test, replace=False))
    return Splits(initial=initial.astype(np.int64), validation=validation.astype(np.int64), pool=pool.astype(np.int64), test=test.astype(np.int64))


def rotate_images(image: np.ndarray, angles) -> np.ndarray:
    """One image ``(28, 28)`` rotated by each angle (degrees, counter-clockwise) about its centre.

    Bilinear interpolation, zeros outside. Returns ``(len(angles), 28, 28)``
    in the input's dtype.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"image has shape {img.shape}: expected one (H, W) image")
    h, w = img.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for angle in np.atleast_1d(angles):
        a = np.deg2rad(angle)
        # source coordinates of each output pixel (inverse rotation)
        sx = np.cos(a) * (xx - cx) - np.sin(a) * (yy - cy) + cx
        sy = np.sin(a) * (xx - cx) + np.cos(a) * (yy - cy) + cy
        x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
        fx, fy = sx - x0, sy - y0
        val = np.zeros_like(img)
        for dy, dx, wgt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
            yi, xi = y0 + dy, x0 + dx
            ok = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
            val[ok] += wgt[ok] * img[yi[ok], xi[ok]]
        out.append(val)
    out = np.stack(out)
    return np.clip(np.rint(out), 0, 255).astype(image.dtype) if np.asarray(image).dtype == np.uint8 else out.astype(np.asarray(image).dtype)


def repeat_pool(data: MNIST, splits: Splits, repeats: int, noise_std: float, seed: int):
    """Repeated-MNIST (Kirsch et al. 2019): every pool image ``repeats`` times, each copy with its own noise.

    The copies are appended to the training arrays and replace the pool; the
    initial, validation and test sets are unchanged. ``noise_std`` is the
    standard deviation of Gaussian noise in units of the [0, 1] pixel range;
    the noisy pixels are rounded back to uint8. The BatchBALD code adds noise
    of standard deviation 0.1 to *standardised* pixels (after subtracting
    0.1307 and dividing by 0.3081), which is 0.0308 of the pixel range: the
    default of :class:`bal_utils.config.Config`.

    Returns ``(data, splits, origin)``: ``origin[i]`` is the original training
    index of training index ``i`` (itself for the originals), so that copies of
    one image can be counted together.
    """
    checks.integer("repeats", repeats, 1)
    n = len(data.y_train)
    origin = np.arange(n, dtype=np.int64)
    if repeats == 1:
        return data, splits, origin
    rng = np.random.default_rng([int(seed), 0x4E0])
    src = np.tile(splits.pool, repeats)
    noisy = data.x_train[src].astype(np.float32) + rng.normal(0.0, 255.0 * noise_std, size=(len(src), *data.x_train.shape[1:]))
    x_train = np.concatenate([data.x_train, np.clip(np.rint(noisy), 0, 255).astype(np.uint8)])
    y_train = np.concatenate([data.y_train, data.y_train[src]])
    repeated = MNIST(x_train, y_train, data.x_test, data.y_test, source=f"{data.source} (pool x{repeats}, noise {noise_std})", sha256=data.sha256)
    new_splits = Splits(initial=splits.initial, validation=splits.validation, pool=np.arange(n, n + len(src), dtype=np.int64), test=splits.test)
    return repeated, new_splits, np.concatenate([origin, src])
