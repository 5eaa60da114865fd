"""A 2-D toy problem for watching the active-learning loop (chapter 1).

Two interleaving half-moons, a small probabilistic classifier (logistic
regression on random Fourier features, fitted with numpy in milliseconds) and
the pool-based loop: fit, score the pool, ask the oracle for the top point,
add it, repeat. Pure numpy, so a widget can replay it instantly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import checks

STRATEGIES = ("uncertainty", "random")


def make_moons(n: int = 400, noise: float = 0.15, seed: int = 0):
    """Two interleaving half circles: ``X (n, 2)`` float, ``y (n,)`` in {0, 1}."""
    checks.integer("n", n, 4)
    rng = np.random.default_rng(seed)
    half = n // 2
    t0, t1 = rng.uniform(0, np.pi, half), rng.uniform(0, np.pi, n - half)
    outer = np.c_[np.cos(t0), np.sin(t0)]
    inner = np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]
    X = np.vstack([outer, inner]) + rng.normal(0, noise, (n, 2))
    y = np.r_[np.zeros(half, int), np.ones(n - half, int)]
    return X, y


class ToyClassifier:
    """Logistic regression on random Fourier (RBF) features, L2-regularised.

    ``predict_proba(X)`` returns ``p(y = 1 | x)`` shaped ``(N,)``.
    """

    def __init__(self, n_features: int = 100, lengthscale: float = 0.5, l2: float = 1e-2, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.W = rng.normal(0, 1 / lengthscale, (2, n_features))
        self.b = rng.uniform(0, 2 * np.pi, n_features)
        self.l2 = l2
        self.w = np.zeros(n_features + 1)

    def features(self, X):
        """Random Fourier features of ``X (N, 2)`` plus a bias column: ``(N, n_features + 1)``."""
        f = np.sqrt(2 / self.W.shape[1]) * np.cos(X @ self.W + self.b)
        return np.c_[f, np.ones(len(X))]

    def fit(self, X, y, iters: int = 50, phi=None):
        """Newton's method on the regularised log-likelihood (converges in a few steps).

        ``phi`` may hold ``features(X)`` already computed.
        """
        phi = self.features(X) if phi is None else phi
        w = np.zeros(phi.shape[1])
        reg = self.l2 * np.eye(len(w))
        for _ in range(iters):
            p = 1 / (1 + np.exp(-phi @ w))
            grad = phi.T @ (p - y) + reg @ w
            hess = phi.T @ (phi * (p * (1 - p))[:, None]) + reg
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-6:
                break
        self.w = w
        return self

    def predict_proba(self, X=None, phi=None):
        phi = self.features(X) if phi is None else phi
        return 1 / (1 + np.exp(-np.clip(phi @ self.w, -50, 50)))


def binary_entropy(p):
    """Entropy in nats of Bernoulli(p), with 0 log 0 = 0."""
    p = np.clip(np.asarray(p, float), 0, 1)
    q = 1 - p
    return -(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0) + np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0))


@dataclass
class ToyStep:
    """State of the toy loop after one fit: what was labelled, what it then asked for."""

    labelled: np.ndarray
    acquired: int | None
    accuracy: float
    scores: np.ndarray  # uncertainty of every pool point (N,)
    grid_proba: np.ndarray = field(repr=False)  # p(y=1) on the plotting grid


def toy_grid(X, resolution: int = 80):
    """A plotting grid around ``X``: ``(xx, yy, points (resolution**2, 2))``."""
    lo, hi = X.min(0) - 0.5, X.max(0) + 0.5
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()]


def run_toy_loop(X, y, strategy: str = "uncertainty", n_initial: int = 2, n_steps: int = 20, seed: int = 0, X_test=None, y_test=None, initial=None):
    """The pool-based loop on the toy problem, one point per step.

    ``strategy`` is ``"uncertainty"`` (ask for the pool point whose predicted
    class is least certain: maximum entropy) or ``"random"``. The loop starts
    from ``n_initial`` points drawn at random and split between the classes as
    evenly as possible, class 0 taking the odd one (so ``n_initial=1`` labels a
    single point of class 0), or from the pool positions ``initial`` when given.
    Returns a list of :class:`ToyStep`, one per fit (``n_steps + 1``).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} is not known: expected one of {list(STRATEGIES)}")
    rng = np.random.default_rng(seed)
    if initial is not None:
        labelled = np.asarray(initial)
        if labelled.ndim != 1 or len(labelled) == 0 or not np.issubdtype(labelled.dtype, np.integer):
            raise ValueError(f"initial={initial!r} is not allowed: expected a non-empty list of pool positions")
        if labelled.min() < 0 or labelled.max() >= len(X) or len(np.unique(labelled)) != len(labelled):
            raise ValueError(f"initial={initial!r} is not allowed: expected distinct positions in [0, {len(X) - 1}]")
    else:
        checks.integer("n_initial", n_initial, 1)
        per_class = (n_initial - n_initial // 2, n_initial // 2)
        counts = np.bincount(y, minlength=2)
        if per_class[0] > counts[0] or per_class[1] > counts[1]:
            raise ValueError(f"n_initial={n_initial} needs {per_class[0]} points of class 0 and {per_class[1]} of class 1; the pool has {counts[0]} and {counts[1]}")
        labelled = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c, k in zip((0, 1), per_class) if k])
    X_test, y_test = (X, y) if X_test is None else (X_test, y_test)
    _, _, grid = toy_grid(X)
    clf = ToyClassifier(seed=seed)
    phi, phi_test, phi_grid = clf.features(X), clf.features(X_test), clf.features(grid)
    steps = []
    for step in range(n_steps + 1):
        clf.fit(None, y[labelled], phi=phi[labelled])
        proba = clf.predict_proba(phi=phi)
        scores = binary_entropy(proba)
        scores[labelled] = -np.inf
        acquired = None
        if step < n_steps:
            acquired = int(np.argmax(scores)) if strategy == "uncertainty" else int(rng.choice(np.setdiff1d(np.arange(len(X)), labelled)))
        acc = float(np.mean((clf.predict_proba(phi=phi_test) > 0.5) == y_test))
        steps.append(ToyStep(labelled.copy(), acquired, acc, scores, clf.predict_proba(phi=phi_grid)))
        if acquired is not None:
            labelled = np.append(labelled, acquired)
    return steps


def redundant_pool(n_images: int = 6, copies: int = 3, n_samples: int = 100, n_classes: int = 4, seed: int = 0):
    """MC-dropout-like predictions for a pool in which every image appears ``copies`` times (chapter 6).

    ``n_samples`` networks predict ``n_classes`` classes for ``n_images``
    distinct images; image j's networks disagree with a strength that falls
    from the first image to the last, so their BALD scores are ordered. Each
    copy gets its own small jitter of the logits (like Repeated-MNIST's noisy
    copies). Returns ``(probs (T, n_images * copies, C), origin)`` where
    ``origin[i]`` is the distinct image that pool item i copies; the copies of
    one image are adjacent.
    """
    for name, value, low in (("n_images", n_images, 1), ("copies", copies, 1), ("n_samples", n_samples, 2), ("n_classes", n_classes, 2)):
        checks.integer(name, value, low)
    rng = np.random.default_rng(seed)
    spread = np.linspace(6.0, 0.5, n_images)  # each network is fairly sure; they disagree less and less
    base = rng.normal(0.0, 1.0, size=(n_images, n_classes))
    logits = base[None] + spread[None, :, None] * rng.normal(size=(n_samples, n_images, n_classes))
    origin = np.repeat(np.arange(n_images), copies)
    logits = logits[:, origin] + 0.05 * rng.normal(size=(n_samples, len(origin), n_classes))
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True), origin

