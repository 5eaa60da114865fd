"""Property-based bad-input tests (hypothesis): a correct finite answer or a ValueError that names the problem."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bal_utils import ACQUISITIONS, Config, get_acquisition, select_top_k
from bal_utils.data import validate_mnist

EXAMPLES = 150
FIELDS = {f.name for f in dataclasses.fields(Config)}
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.lists(st.integers(-3, 3), max_size=3), st.tuples(st.text(max_size=4)),
)


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(field=st.sampled_from(sorted(FIELDS)), value=ANY_VALUE)
def test_config_any_value_valid_or_named_error(field, value):
    try:
        cfg = Config(**{field: value})
    except ValueError as err:
        msg = str(err)
        assert field in msg or field.rstrip("s") in msg, msg
        assert "expected" in msg or "known" in msg, msg
        return
    # accepted: then it must really be a sane value
    got = getattr(cfg, field)
    if isinstance(got, float):
        assert math.isfinite(got)
    if isinstance(got, int) and not isinstance(got, bool) and field not in ("weight_decay_c", "learning_rate"):
        assert got >= 0


def _valid_probs(draw_shape):
    t, n, c = draw_shape
    return arrays(np.float64, (t, n, c), elements=st.floats(0, 1, allow_nan=False)).map(
        lambda a: np.where(a.sum(-1, keepdims=True) > 0, a / np.maximum(a.sum(-1, keepdims=True), 1e-300), np.full_like(a, 1.0 / a.shape[-1]))
    )


shapes = st.tuples(st.integers(1, 6), st.integers(1, 8), st.integers(1, 6))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(ACQUISITIONS)))
def test_valid_probs_give_finite_sane_scores(data, name):
    shape = data.draw(shapes)
    p = data.draw(_valid_probs(shape))
    # exact zeros are common in real softmax outputs under float32: force some
    p = np.where(p < 0.05, 0.0, p)
    p = np.where(p.sum(-1, keepdims=True) > 0, p / np.maximum(p.sum(-1, keepdims=True), 1e-300), 1.0 / shape[-1])
    fn = get_acquisition(name)
    s = fn(p, rng=0)
    assert s.shape == (shape[1],) and np.all(np.isfinite(s)) and np.all(s >= 0)
    if name in ("max_entropy", "bald"):
        assert np.all(s <= np.log(shape[2]) + 1e-9)
    if name == "bald" and shape[0] == 1:
        assert np.allclose(s, 0)  # T = 1: no disagreement possible


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    bad=st.one_of(
        arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=st.floats(0, 1)),  # wrong axes
        arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 4)), elements=st.floats(-5, -0.01)),  # negative
        arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 4)), elements=st.floats(0.6, 1.0)),  # rows sum > 1
        arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4)), elements=st.just(np.nan)),  # NaN
        arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 4)), elements=st.just(0.0)),  # all zero
    ),
    name=st.sampled_from(sorted(ACQUISITIONS)),
)
def test_bad_probs_raise_named_value_error(bad, name):
    with pytest.raises(ValueError, match="probs .*expected|probs has|probs contains|probs rows"):
        get_acquisition(name)(bad)


@settings(max_examples=EXAMPLES, deadline=None)
@given(scores=arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e6, 1e6)), k=st.integers(-3, 40))
def test_top_k_valid_or_named_error(scores, k):
    if not 1 <= k <= len(scores):
        with pytest.raises(ValueError, match="k="):
            select_top_k(scores, k)
        return
    top = select_top_k(scores, k)
    assert len(set(top.tolist())) == k
    rest = np.delete(scores, top)
    assert len(rest) == 0 or scores[top].min() >= rest.max()


def _mnist_arrays(n=4):
    return dict(x_train=np.zeros((n, 28, 28), np.uint8), y_train=np.arange(n) % 10, x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.arange(2))


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    key=st.sampled_from(["x_train", "y_train", "x_test", "y_test"]),
    value=st.one_of(
        st.none(),
        arrays(st.sampled_from([np.uint8, np.int64, np.float32, np.int8]), st.tuples(st.integers(0, 5), st.integers(0, 30), st.integers(0, 30))),
        arrays(st.sampled_from([np.int64, np.float64]), st.integers(0, 6), elements=st.integers(-20, 20)),
        arrays(np.uint8, st.integers(0, 6), elements=st.integers(0, 20)),
    ),
)
def test_bad_data_valid_or_named_error(key, value):
    arrays_ = _mnist_arrays()
    if value is None:
        del arrays_[key]
    else:
        arrays_[key] = value
    try:
        data = validate_mnist(arrays_, source="gen.npz")
    except ValueError as err:
        assert "gen.npz" in str(err) and "expected" in str(err)
        return
    assert data.x_train.shape[1:] == (28, 28) and data.x_train.dtype == np.uint8
    assert len(data.x_train) == len(data.y_train) and data.y_train.min() >= 0 and data.y_train.max() <= 9
