"""The protocol options: initialisation, widths, networks, masks, warm start, scoring."""

import json

import numpy as np
import pytest

from bal_utils import BayesianCNN, Config, get_preset, run_active_learning, to_model_input
from bal_utils.model import build_trunk, init_limits, read_pixels


@pytest.mark.parametrize(
    "shape, keras3, keras0",
    [
        ((3, 3, 1, 32), 0.142, 0.383),  # conv1: Keras 0.x took fan_out = 32 filters
        ((3, 3, 32, 32), 0.102, 0.137),
        ((512, 128), 0.0968, 0.0968),  # dense layers: the same fans in both
    ],
)
def test_init_limits_follow_each_keras(shape, keras3, keras0):
    assert init_limits(shape, "keras3") == pytest.approx(keras3, abs=5e-4)
    assert init_limits(shape, "keras0") == pytest.approx(keras0, abs=5e-4)


def test_keras3_init_draws_what_glorot_uniform_draws():
    from bal_utils._backend import keras

    shape = (3, 3, 32, 32)
    limit = init_limits(shape, "keras3")
    a = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=7)(shape))
    b = keras.ops.convert_to_numpy(keras.initializers.RandomUniform(-limit, limit, seed=7)(shape))
    np.testing.assert_array_equal(a, b)


def test_reset_uses_the_chosen_init():
    spread = {}
    for init in ("keras3", "keras0"):
        model = BayesianCNN(init=init)
        model.reset(0)
        conv1 = model.trunk.get_layer("conv1").kernel.numpy()
        spread[init] = np.abs(conv1).max()
        assert spread[init] <= init_limits(conv1.shape, init)
    assert spread["keras0"] > 2 * spread["keras3"]


def test_paper_text_network_reads_every_pixel(subset):
    assert read_pixels("seed") == 24 and read_pixels("paper_text") == 28
    trunk = build_trunk(architecture="paper_text")
    assert trunk.output_shape[-1] == 11 * 11 * 32
    assert not any(layer.name == "crop_to_read_pixels" for layer in trunk.layers)
    model = BayesianCNN(architecture="paper_text", dense_units=256)
    model.reset(0)
    x = to_model_input(subset.x_test[:9])
    assert model.features(x).shape == (9, 3872) and model.dense.kernel.shape == (3872, 256)
    assert model.mc_predict(x, 4, seed=0).shape == (4, 9, 10)


def test_per_image_masks_cached_equal_naive_and_differ_between_images(trained_model, subset):
    x = to_model_input(np.repeat(subset.x_test[:1], 40, axis=0))  # 40 copies of one image
    cached = trained_model.mc_predict(x, 6, seed=3, masks="per_image")
    naive = trained_model.mc_predict(x, 6, seed=3, masks="per_image", mode="naive")
    np.testing.assert_allclose(cached, naive, atol=1e-5)
    assert np.abs(cached[:, 0] - cached[:, 1]).max() > 1e-3  # copies get their own masks
    shared = trained_model.mc_predict(x, 6, seed=3)
    assert np.abs(shared[:, 0] - shared[:, 1]).max() < 1e-6  # shared masks: copies agree
    small = trained_model.mc_predict(x, 6, seed=3, masks="per_image", max_rows=20)  # other chunks, same law
    np.testing.assert_allclose(small.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="masks='odd'"):
        trained_model.mc_predict(x, 2, masks="odd")


def test_per_acquisition_changes_one_function_and_round_trips():
    cfg = get_preset("authors")
    assert cfg.for_acquisition("bald").dense_units == 256
    assert cfg.for_acquisition("mean_std").weight_decay_c == 2.5
    assert cfg.for_acquisition("random") == cfg
    assert Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert hash(cfg) == hash(Config.from_dict(cfg.to_dict()))


@pytest.mark.parametrize(
    "value, match",
    [
        ({"nope": {"epochs": 3}}, "'nope' is not a known acquisition"),
        ({"bald": {"n_steps": 3}}, "field 'n_steps' cannot be set per function"),
        ({"bald": {"dense_units": 0}}, r"per_acquisition\['bald'\]: dense_units=0"),
        ("bald=256", "expected a mapping"),
    ],
)
def test_bad_per_acquisition(value, match):
    with pytest.raises(ValueError, match=match):
        get_preset("paper", per_acquisition=value)


@pytest.mark.parametrize(
    "field, value", [("init", "he"), ("architecture", "resnet"), ("mc_masks", "none"), ("scoring", "mc"), ("warm_start", "yes"), ("dense_units", 0)]
)
def test_bad_protocol_fields_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"{field}="):
        get_preset("paper", **{field: value})


def test_old_results_files_resume_with_the_new_fields(tmp_path):
    """Files written before a field existed load with its default and resume."""
    cfg = get_preset("smoke", n_steps=2)
    run_active_learning(cfg, "random", 0, out_dir=tmp_path, until_step=1, progress=False)
    path = tmp_path / "random-seed0.json"
    record = json.loads(path.read_text())
    for name in ("dense_units", "init", "architecture", "mc_masks", "warm_start", "scoring", "per_acquisition"):
        del record["config"][name]
    path.write_text(json.dumps(record))
    done = run_active_learning(cfg, "random", 0, out_dir=tmp_path, progress=False)
    assert done["status"] == "complete" and len(done["history"]) == 3


def test_warm_start_resumes_exactly_and_differs_from_scratch(tmp_path):
    cfg = get_preset("smoke", warm_start=True, n_steps=3)
    whole = run_active_learning(cfg, "bald", 0, progress=False)
    run_active_learning(cfg, "bald", 0, out_dir=tmp_path, until_step=2, progress=False)
    resumed = run_active_learning(cfg, "bald", 0, out_dir=tmp_path, progress=False)  # replays steps 0-1
    for a, b in zip(whole["history"], resumed["history"]):
        assert a["acquired_indices"] == b["acquired_indices"] and a["test_error"] == b["test_error"]
    scratch = run_active_learning(cfg.replace(warm_start=False), "bald", 0, progress=False)
    assert whole["history"][0]["test_error"] == scratch["history"][0]["test_error"]  # step 0 is the same training
    assert [h["test_error"] for h in whole["history"][1:]] != [h["test_error"] for h in scratch["history"][1:]]


def test_deterministic_scoring_uses_the_dropout_off_softmax(subset):
    from bal_utils import acquire, max_entropy
    from bal_utils.data import make_splits

    cfg = get_preset("smoke", scoring="deterministic", pool_subset=None)
    model = BayesianCNN()
    model.reset(0)
    splits = make_splits(subset, cfg, 0)
    pool = splits.pool[:80]
    chosen, scores, candidates = acquire(model, subset.x_train, pool, cfg, "max_entropy", 0, 0)
    expected = max_entropy(model.predict(to_model_input(subset.x_train[candidates]))[None])
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    # BALD of one deterministic pass is 0 for every image: the top k are the first k by position
    chosen, scores, candidates = acquire(model, subset.x_train, pool, cfg, "bald", 0, 0)
    assert np.all(scores == 0) and list(chosen) == list(candidates[: cfg.acquire_per_step])


def test_teaching_preset_learns():
    """The teaching size must show a student that the model learns: BALD, 5 steps, one seed."""
    cfg = get_preset("teaching", n_steps=5)
    errors = [h["test_error"] for h in run_active_learning(cfg, "bald", 0, progress=False)["history"]]
    assert errors[-1] < 0.25 and errors[-1] < errors[0] - 0.1, errors
