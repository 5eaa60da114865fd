import numpy as np
import pytest

from bal_utils import BayesianCNN, to_model_input
from bal_utils.model import build_trunk


def test_trunk_and_head_shapes(trained_model, subset):
    x = to_model_input(subset.x_test[:7])
    assert trained_model.features(x).shape == (7, 512)
    assert trained_model.predict(x).shape == (7, 10)
    assert trained_model.mc_predict(x, 3).shape == (3, 7, 10)


def test_crop_is_exact(subset):
    """The 5x5 valid max pool never reads the last 4 rows/columns: cropping them changes nothing."""
    cropped, full = build_trunk(crop=True), build_trunk(crop=False)
    full.set_weights(cropped.get_weights())
    x = to_model_input(subset.x_test[:32])
    x[:, 24:, :] = 1.0  # even bright pixels there would not matter
    np.testing.assert_allclose(cropped.predict(x, verbose=0), full.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_cached_and_naive_agree_with_the_same_masks(trained_model, subset):
    x = to_model_input(subset.x_test[:64])
    cached = trained_model.mc_predict(x, 12, mode="cached", seed=5)
    naive = trained_model.mc_predict(x, 12, mode="naive", seed=5)
    np.testing.assert_allclose(cached, naive, atol=1e-5)
    # chunked products give the same answer as one big product
    np.testing.assert_allclose(trained_model.mc_predict(x, 12, seed=5, max_rows=50), cached, atol=1e-5)


def test_mc_samples_differ_and_are_probabilities(trained_model, subset):
    p = trained_model.mc_predict(to_model_input(subset.x_test[:50]), 10, seed=0)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    assert np.abs(p[0] - p[1]).max() > 1e-3
    assert np.array_equal(p, trained_model.mc_predict(to_model_input(subset.x_test[:50]), 10, seed=0))


def test_zero_dropout_mc_equals_deterministic(subset):
    model = BayesianCNN(dropout_trunk=0.0, dropout_head=0.0)
    model.reset(1)
    x = to_model_input(subset.x_test[:20])
    np.testing.assert_allclose(model.mc_predict(x, 4)[3], model.predict(x), atol=1e-6)


def test_mc_mean_is_close_to_deterministic_prediction(trained_model, subset):
    # Dropout with inverted scaling: the MC mean stays near the deterministic net (a loose check).
    x = to_model_input(subset.x_test[:200])
    mc_mean = trained_model.mc_predict(x, 200, seed=0).mean(0)
    agree = np.mean(mc_mean.argmax(1) == trained_model.predict(x).argmax(1))
    assert agree > 0.75


def test_deterministic_predict_is_repeatable(trained_model, subset):
    x = to_model_input(subset.x_test[:30])
    assert np.array_equal(trained_model.predict(x), trained_model.predict(x))


def test_reset_and_fit_reproducible_regardless_of_history(subset):
    x, y = to_model_input(subset.x_train[:150]), subset.y_train[:150]
    model = BayesianCNN()
    runs = []
    for noise_seed in (11, 12):
        model.reset(noise_seed)
        model.fit(x, y, 2, 64, noise_seed)  # different history before
        model.reset(3)
        model.fit(x, y, 3, 64, 3)
        runs.append(model.predict(x[:20]))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_weight_decay_is_c_over_n(subset):
    model = BayesianCNN(weight_decay_c=3.5)
    model.set_weight_decay(70)
    assert float(model.dense.decay.numpy()) == pytest.approx(0.05)


@pytest.mark.parametrize("t", [0, -2, 1.5, True])
def test_bad_mc_samples(trained_model, subset, t):
    with pytest.raises(ValueError, match="mc_samples"):
        trained_model.mc_predict(to_model_input(subset.x_test[:2]), t)


@pytest.mark.parametrize("batching, sizes", [("balanced", [65, 65]), ("keras", [128, 2])])
def test_schedule_cuts_each_epoch_once(batching, sizes):
    from bal_utils.model import BatchSchedule

    sched = BatchSchedule(np.zeros((130, 1)), np.zeros(130), 3, 128, np.random.default_rng(0), batching)
    assert [len(b) for b in sched.batches] == sizes * 3
    for e in range(3):
        epoch = np.concatenate(sched.batches[2 * e : 2 * e + 2])
        assert sorted(epoch.tolist()) == list(range(130))
    with pytest.raises(ValueError, match="batching='odd'"):
        BatchSchedule(np.zeros((4, 1)), np.zeros(4), 1, 2, np.random.default_rng(0), "odd")


@pytest.mark.parametrize("batching", ["balanced", "keras"])
def test_training_batch_by_batch_is_bit_identical_to_keras_fit(subset, batching):
    """Batch by batch (the TensorFlow default) only skips fit's input pipeline: same weights, bit for bit."""
    from bal_utils.model import BatchSchedule, predict_batched, train_on_schedule

    x, y = to_model_input(subset.x_train[:70]), subset.y_train[:70]
    weights = []
    for use_fit in (True, False):
        model = BayesianCNN(dense_units=16)
        model.reset(3)
        model.set_weight_decay(len(x))
        schedule = BatchSchedule(x, y, 3, 32, np.random.default_rng(0), batching)  # 3 batches an epoch, the last a remainder
        train_on_schedule(model.network, schedule, batch_by_batch=not use_fit)
        weights.append([np.asarray(w).copy() for w in model.network.get_weights()])
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    x_test = to_model_input(subset.x_test[:50])
    np.testing.assert_array_equal(predict_batched(model.network, x_test, 16), model.network.predict(x_test, batch_size=16, verbose=0))
    assert predict_batched(model.trunk, x_test[:0]).shape == (0, model.trunk.output_shape[-1])


def _dropout_states(model):
    return [layer.seed_generator.state.numpy().copy() for layer in model.head.layers if hasattr(layer, "seed_generator")]


def _set_dropout_states(model, states):
    generators = [layer.seed_generator for layer in model.head.layers if hasattr(layer, "seed_generator")]
    for generator, state in zip(generators, states):
        generator.state.assign(state)


def test_mc_head_is_the_trained_network_with_training_true_mask_for_mask(trained_model, subset):
    """mc_head under the masks that Keras' Dropout layers drew gives what the trained network gives.

    The network is run with ``training=True`` (its Dropout layers on); the same
    passes are replayed through a view of the head that also returns the dropout
    outputs, from which the masks are read back and handed to ``mc_head``.
    """
    import keras

    m = trained_model
    x = to_model_input(subset.x_test[:32])
    drop_trunk, drop_head = m.head.get_layer("dropout_trunk"), m.head.get_layer("dropout_head")
    tap = keras.Model(m.head.input, [drop_trunk.output, drop_head.output, m.head.output])
    saved = _dropout_states(m)
    try:
        trained = keras.ops.convert_to_numpy(m.network(x, training=True))  # (N, 10)
        _set_dropout_states(m, saved)  # replay the same masks
        f = m.features(x)
        d1, d2, replay = (keras.ops.convert_to_numpy(a) for a in tap(f, training=True))
    finally:
        _set_dropout_states(m, saved)
    np.testing.assert_allclose(replay, trained, atol=1e-6)
    h = keras.ops.convert_to_numpy(m.dense(d1))  # dense + relu of the dropped-out features
    m1 = np.where(f > 0, d1 / np.where(f > 0, f, 1), 0).astype(np.float32)  # where f = 0 any mask gives 0
    m2 = np.where(h > 0, d2 / np.where(h > 0, h, 1), 0).astype(np.float32)
    # the masks are Bernoulli(keep) / keep, with the layers' own rates
    for mask, live, rate in ((m1, f > 0, m.dropout_rates[0]), (m2, h > 0, m.dropout_rates[1])):
        values = mask[live]
        assert np.all(np.isclose(values, 0) | np.isclose(values, 1 / (1 - rate), rtol=1e-4))
        assert abs(np.mean(values == 0) - rate) < 0.05
    head = keras.ops.convert_to_numpy(m.mc_head(keras.ops.convert_to_tensor(f), m1[None], m2[None]))[0]
    np.testing.assert_allclose(head, trained, atol=1e-5)


def test_mc_predict_matches_the_trained_network_with_training_true_in_distribution(trained_model, subset):
    """Many passes of mc_predict (shared masks, cached trunk) have the mean and spread of the Keras network's passes."""
    import keras

    m = trained_model
    n_img, t = 6, 3000
    x = to_model_input(subset.x_test[:n_img])
    saved = _dropout_states(m)
    try:  # each copy of an image gets its own masks: t passes in one call
        keras_passes = keras.ops.convert_to_numpy(m.network(np.repeat(x, t, axis=0), training=True)).reshape(n_img, t, 10)
    finally:
        _set_dropout_states(m, saved)
    keras_passes = keras_passes.transpose(1, 0, 2)  # (t, N, 10)
    ours = m.mc_predict(x, t, seed=0)
    for passes in (keras_passes, ours):
        assert passes.std(0).max() > 0.02  # the passes really differ
    se = np.sqrt((keras_passes.var(0) + ours.var(0)) / t)
    assert np.all(np.abs(keras_passes.mean(0) - ours.mean(0)) <= 5 * se + 1e-3)
    spread = keras_passes.std(0)
    np.testing.assert_allclose(ours.std(0), spread, rtol=0.1, atol=1e-3)
    # the same check tells apart a head with the two dropout rates swapped (its spread is about 10% smaller)
    swapped = m.mc_predict(x, t, seed=0, rates=m.dropout_rates[::-1])
    assert abs(np.mean(ours.std(0) / spread) - 1) < 0.03
    assert abs(np.mean(swapped.std(0) / spread) - 1) > 0.06


def test_weight_decay_penalty_is_in_the_training_loss(subset):
    """The c/N penalty on the dense kernel is part of the loss Keras minimises (and scales as 1/N)."""
    import keras

    model = BayesianCNN(weight_decay_c=3.5)
    model.reset(0)
    x, y = to_model_input(subset.x_test[:16]), subset.y_test[:16]
    kernel_sq = float(np.sum(np.asarray(model.dense.kernel, dtype=np.float64) ** 2))
    cross_entropy = float(-np.mean(np.log(model.predict(x)[np.arange(16), y])))
    for n in (70, 140):
        model.set_weight_decay(n)
        model.network(x, training=False)  # the layer adds its penalty on each call
        penalty = sum(float(keras.ops.convert_to_numpy(v)) for v in model.network.losses)
        assert penalty == pytest.approx(3.5 / n * kernel_sq, rel=1e-4)
        total = model.network.evaluate(x, y, batch_size=16, verbose=0)
        assert total == pytest.approx(cross_entropy + penalty, rel=1e-4)
