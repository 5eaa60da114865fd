import pytest

from bal_utils import PRESETS, Config, get_preset, preset_from_env


def test_paper_preset_is_the_protocol():
    p = get_preset("paper")
    assert (p.n_initial, p.n_steps, p.acquire_per_step, p.final_labelled) == (20, 98, 10, 1000)
    assert (p.mc_samples, p.pool_subset, p.epochs, p.batch_size, len(p.seeds)) == (100, 2000, 50, 128, 3)
    assert p.dataset == "mnist" and p.weight_decay_c == 3.5
    assert set(p.acquisitions) == {"max_entropy", "bald", "variation_ratios", "mean_std", "random"}


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("epochs", 0, "epochs=0"),
        ("epochs", 2.5, "epochs=2.5"),
        ("mc_samples", True, "mc_samples=True"),
        ("dropout_head", 1.0, "dropout_head=1.0"),
        ("dropout_trunk", float("nan"), "dropout_trunk=nan"),
        ("learning_rate", 0.0, "learning_rate=0.0"),
        ("dataset", "cifar", "dataset='cifar'"),
        ("pool_subset", 5, "pool_subset=5"),
        ("seeds", (1, 1), "distinct"),
        ("seeds", (), "non-empty"),
        ("acquisitions", ("bald", "nope"), "known: "),
        ("n_pool", 100, "n_pool=100"),
    ],
)
def test_bad_values_name_field_value_and_allowed(field, value, match):
    with pytest.raises(ValueError, match=match) as err:
        get_preset("paper", **{field: value})
    assert "expected" in str(err.value) or "known" in str(err.value)


def test_config_is_frozen_and_round_trips():
    cfg = get_preset("teaching")
    with pytest.raises(Exception):
        cfg.epochs = 3
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_unknown_field_and_preset():
    with pytest.raises(ValueError, match="unknown field"):
        Config.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="expected one of"):
        get_preset("fast")


def test_env_selects_smoke(monkeypatch):
    monkeypatch.setenv("BAL_SMOKE", "1")
    assert preset_from_env().name == "smoke"
    monkeypatch.setenv("BAL_SMOKE", "0")
    monkeypatch.setenv("BAL_PRESET", "paper")
    assert preset_from_env().name == "paper"


def test_all_presets_valid():
    for name, cfg in PRESETS.items():
        assert cfg.name == name and cfg.final_labelled > cfg.n_initial


def test_cli_set_overrides_are_typed_like_the_field():
    from argparse import Namespace

    from bal_utils.cli import _config, parse_override

    assert parse_override("epochs=150") == ("epochs", 150)
    assert parse_override(" learning_rate = 3e-4 ") == ("learning_rate", 3e-4)
    assert parse_override("n_pool=none") == ("n_pool", None)
    assert parse_override("seeds=0,1") == ("seeds", (0, 1))
    assert parse_override("acquisitions=bald,random") == ("acquisitions", ("bald", "random"))
    assert parse_override("batching=keras") == ("batching", "keras")
    cfg = _config(Namespace(preset="paper", steps=25, overrides=["epochs=150", "name=paper-150"]))
    assert (cfg.epochs, cfg.n_steps, cfg.name, cfg.mc_samples) == (150, 25, "paper-150", 100)
    for text, match in [("epochs", "expected FIELD=VALUE"), ("=3", "expected FIELD=VALUE"), ("epoch=3", "unknown config field 'epoch'; allowed: \\['acquire_per_step'"),
                        ("epochs=many", "epochs='many' is not allowed: expected an integer"),
                        ("seeds=a,b", "expected comma-separated integers"), ("warm_start=maybe", "expected true or false"),
                        ("per_acquisition=3", "expected a JSON mapping")]:
        with pytest.raises(ValueError, match=match):
            parse_override(text)
    with pytest.raises(ValueError, match="epochs"):  # a typed but invalid value is caught by Config itself
        _config(Namespace(preset="paper", steps=None, overrides=["epochs=0"]))


def test_get_preset_can_rename_the_copy():
    cfg = get_preset("paper", name="paper-150-epochs", epochs=150)
    assert (cfg.name, cfg.epochs, get_preset("paper").name) == ("paper-150-epochs", 150, "paper")


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_field_of_every_preset_can_be_set_from_text(preset):
    import json

    from bal_utils.cli import parse_override

    cfg = get_preset(preset)
    for name, value in cfg.to_dict().items():
        if isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, list):
            text = ",".join(map(str, value))
        elif isinstance(value, dict):
            text = json.dumps(value)
        else:
            text = "none" if value is None else str(value)
        field, parsed = parse_override(f"{name}={text}")
        assert cfg.replace(**{field: parsed}) == cfg, (name, text)
    assert parse_override("warm_start=True") == ("warm_start", True)
    assert parse_override('per_acquisition={"bald": {"dense_units": 256}}')[1] == {"bald": {"dense_units": 256}}


def test_unknown_override_lists_the_fields():
    with pytest.raises(ValueError, match=r"unknown config field\(s\) \['nosuch'\]; allowed: \['acquire_per_step'"):
        get_preset("paper", nosuch=1)


def test_argument_checks_name_the_field_the_value_and_what_is_allowed():
    import numpy as np

    from bal_utils import checks

    checks.integer("k", np.int64(3), 1, 5)  # numpy integers are integers
    checks.integer("n", None, 1, none=True)
    checks.number("rate", 0.5, 0, 1, high_open=True)
    for call, message in [
        (lambda: checks.integer("k", True, 1), "k=True is not allowed: expected an integer >= 1"),
        (lambda: checks.integer("k", 2.0, 1), "k=2.0 is not allowed: expected an integer >= 1"),
        (lambda: checks.integer("k", 0, 1, 5), "k=0 is not allowed: expected an integer in [1, 5]"),
        (lambda: checks.integer("n", -1, 0, none=True), "n=-1 is not allowed: expected an integer >= 0 or None"),
        (lambda: checks.number("rate", 1.0, 0, 1, high_open=True), "rate=1.0 is not allowed: expected a finite number in [0, 1)"),
        (lambda: checks.number("rate", float("nan"), 0), "rate=nan is not allowed: expected a finite number >= 0"),
        (lambda: checks.choice("mode", "x", ("a", "b")), "mode='x' is not allowed: expected one of ['a', 'b']"),
    ]:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == message
