"""The reader as the oracle: sessions, restarts, scripted oracles (the widget's buttons: test_widgets.py)."""

import json

import pytest

from bal_utils import get_preset
from bal_utils.oracle import OracleSession, scripted_oracle


@pytest.fixture()
def cfg():
    return get_preset("smoke", n_steps=3)


def test_scripted_true_labels_record_everything(cfg, subset, tmp_path):
    s = OracleSession(cfg, "bald", 0, out_dir=tmp_path, data=subset)
    assert len(s.queries) == cfg.acquire_per_step
    record = s.run(scripted_oracle(), progress=False)
    n, err = s.curve()
    assert list(n) == [20, 25, 30, 35] and s.finished and not len(s.queries)
    assert all(h["answers"] == h["true_labels"] for h in record["history"][:-1])
    assert s.disagreements() == 0 and record["history"][0]["oracle"] == "scripted, true labels"
    on_disk = json.loads((tmp_path / "oracle-bald-seed0.json").read_text())
    assert on_disk["history"] == record["history"]
    with pytest.raises(ValueError, match="finished"):
        s.answer([1] * cfg.acquire_per_step)


def test_a_restart_loses_nothing(cfg, subset, tmp_path):
    whole = OracleSession(cfg, "bald", 1, data=subset)
    whole.run(scripted_oracle(), progress=False)
    first = OracleSession(cfg, "bald", 1, out_dir=tmp_path, data=subset)
    first.answer_with(scripted_oracle())
    pending = list(first.queries)
    again = OracleSession(cfg, "bald", 1, out_dir=tmp_path, data=subset)  # a kernel restart
    assert list(again.queries) == pending and again.step == 1
    again.run(scripted_oracle(), progress=False)
    assert [h["queried"] for h in again.record["history"]] == [h["queried"] for h in whole.record["history"]]
    assert [h["test_error"] for h in again.record["history"]] == [h["test_error"] for h in whole.record["history"]]


def test_wrong_answers_and_skips(cfg, subset):
    s = OracleSession(cfg, "random", 0, data=subset)
    s.answer_with(scripted_oracle(error_rate=1.0))
    assert s.disagreements() == cfg.acquire_per_step and s.record["history"][0]["oracle"] == "scripted, error rate 1"
    s.answer([None] * cfg.acquire_per_step)  # skip the whole batch: nothing labelled, the images leave the pool
    assert s.record["history"][-1]["n_labelled"] == 20 + cfg.acquire_per_step
    assert not set(s.record["history"][1]["queried"]) & set(s.pool.tolist())
    with pytest.raises(ValueError, match="expected 5"):
        s.answer([1, 2])
    with pytest.raises(ValueError, match="12 is not allowed"):
        s.answer([12] * cfg.acquire_per_step)


def test_a_damaged_session_file_is_named_with_what_is_wrong(cfg, subset, tmp_path):
    from bal_utils.oracle import load_session

    session = OracleSession(cfg, "random", seed=0, out_dir=tmp_path, data=subset)
    record = load_session(session.path)
    record["history"][0]["answers"] = [1]  # one answer for several queries
    session.path.write_text(json.dumps(record))
    n = len(record["history"][0]["queried"])
    with pytest.raises(ValueError, match=rf"history\[0\] has 1 answers for {n} queries; delete it to start again"):
        OracleSession(cfg, "random", seed=0, out_dir=tmp_path, data=subset)
    session.path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read as JSON"):
        OracleSession(cfg, "random", seed=0, out_dir=tmp_path, data=subset)


def test_a_session_from_before_a_config_field_existed_resumes(cfg, subset, tmp_path):
    """A reader's session file outlives package updates that add config fields (with defaults)."""
    from bal_utils.oracle import load_session

    session = OracleSession(cfg, "bald", seed=0, out_dir=tmp_path, data=subset)
    session.answer([1] * len(session.queries))
    record = load_session(session.path)
    for field in ("posterior", "ensemble_size", "target_classes"):  # as written before these fields existed
        record["config"].pop(field)
    session.path.write_text(json.dumps(record))
    again = OracleSession(cfg, "bald", seed=0, out_dir=tmp_path, data=subset)
    assert again.step == session.step == 1
    with pytest.raises(ValueError, match="holds another session"):
        OracleSession(cfg.replace(epochs=cfg.epochs + 1), "bald", seed=0, out_dir=tmp_path, data=subset)
