import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from bal_utils import get_preset, load_mnist


@pytest.fixture(scope="session")
def subset():
    """The real MNIST subset shipped with the package."""
    return load_mnist("mnist-subset")


@pytest.fixture(scope="session")
def smoke():
    return get_preset("smoke")


@pytest.fixture(scope="session")
def trained_model(subset):
    """A small BayesianCNN trained for a few epochs on 300 subset images."""
    from bal_utils import BayesianCNN, to_model_input

    model = BayesianCNN()
    model.reset(0)
    model.fit(to_model_input(subset.x_train[:300]), subset.y_train[:300], epochs=5, batch_size=128, seed=0)
    return model


def one_hot(labels, n_classes=10, eps=0.0):
    out = np.full((len(labels), n_classes), eps / max(n_classes - 1, 1))
    out[np.arange(len(labels)), labels] = 1.0 - eps
    return out
