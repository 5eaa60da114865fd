"""Every widget of the book, pressed and moved: sliders, dropdowns, buttons and the text box.

Runs under both ipywidgets 8.x (JupyterLab 4; the main test environment) and 7.7 (what Colab
ships; `bash .ci/run colab` runs this file there), so it imports only the installed package and
the fixtures of conftest.py.
"""

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import bal_utils as bu
from bal_utils import get_preset
from bal_utils.oracle import OracleSession, oracle_widget


def _controls(widget):
    """The controls of an explorer, row by row: ``VBox([VBox(rows of HBox), output])``."""
    return [list(row.children) for row in widget.children[0].children]


def test_widgets_build_and_respond(trained_model, subset):
    x = bu.to_model_input(subset.x_test[:5])
    probs = trained_model.mc_predict(x, 4, seed=0)
    acq = bu.widgets.acquisition_explorer(probs, x, subset.y_test[:5], names=["bald", "random"])
    mc = bu.widgets.mc_dropout_explorer(trained_model, x, subset.y_test[:5])
    X, y = bu.toy.make_moons(40)
    toy = bu.widgets.toy_loop_explorer(X, y, {"uncertainty": bu.toy.run_toy_loop(X, y, n_steps=2)})

    # the MC explorer: digit and T in one row, the two dropout rates in a second
    rows = _controls(mc)
    assert [[c.description for c in row] for row in rows] == [["digit", "T"], ["p trunk", "p head"]]
    digit, t = rows[0]
    p_trunk, p_head = rows[1]
    assert (p_trunk.value, p_head.value) == trained_model.dropout_rates
    # each change redraws the figure with the new state
    t.value = 1
    assert plt.gcf().axes[1].get_title().startswith("T = 1, dropout 0.25/0.50")
    p_trunk.value, p_head.value = 0.0, 0.0
    bars = plt.gcf().axes[1]
    assert bars.get_title().startswith("T = 1, dropout 0.00/0.00")
    # dropout off: the bars are the deterministic prediction
    heights = np.array([patch.get_height() for patch in bars.patches])
    np.testing.assert_allclose(heights, trained_model.predict(x[:1])[0], atol=1e-5)

    (name, k), = _controls(acq)
    name.value, k.value = "random", 3
    assert plt.gcf()._suptitle.get_text() == "top 3 by Random (label: score)"
    assert sum(ax.has_data() for ax in plt.gcf().axes) == 3

    (step,), = _controls(toy)
    step.value = 2
    assert plt.gcf().axes[0].get_title().startswith("uncertainty: 4 labels")
    plt.close("all")
    with pytest.raises(ValueError, match="must name every control once"):
        bu.widgets._redrawing({"a": step}, lambda a: None, rows=[["a"], ["a"]])


def test_batch_explorer_sliders_redraw_the_choice():
    widget = bu.widgets.batch_explorer()
    copies, k, beta = widget.children[0].children[0].children
    copies.value, k.value = 1, 3
    rows = [t.get_text() for t in plt.gcf().axes[1].get_yticklabels()]
    assert rows == ["top-k BALD", "BatchBALD", "PowerBALD β=1"]
    beta.value = 4.0
    assert [t.get_text() for t in plt.gcf().axes[1].get_yticklabels()][-1] == "PowerBALD β=4"
    plt.close("all")


def test_pressing_buttons_changes_the_record_and_the_curve(subset, tmp_path):
    cfg = get_preset("smoke", n_steps=3)
    s = OracleSession(cfg, "bald", 0, out_dir=tmp_path, data=subset)
    box = oracle_widget(s, references={"random": (np.array([20, 25]), np.array([0.9, 0.8]))})
    first_curve = box.curve.value
    truth = [int(c) for c in subset.y_train[s.queries]]
    box.submit.click()  # nothing answered yet: refused, says so
    assert "Answer every image first" in box.header.value and s.step == 0
    for card, y in zip(box.grid.children, truth):
        card.children[2].value = y  # the digit buttons under the image
    box.submit.click()
    assert s.step == 1 and s.record["history"][0]["answers"] == truth and s.record["history"][0]["oracle"] == "person"
    saved = json.loads((tmp_path / "oracle-bald-seed0.json").read_text())
    assert saved["history"][0]["answers"] == truth and len(saved["history"]) == 2
    box.typed.value = "-" * cfg.acquire_per_step  # the keyboard path: skip all five
    assert s.step == 2 and s.record["history"][1]["answers"] == [None] * cfg.acquire_per_step
    box.typed.value = "12"  # wrong length: refused with a message
    assert "Type 5 characters" in box.header.value and s.step == 2
    assert box.curve.value[:4] == b"\x89PNG" and box.curve.value != first_curve  # the curve was redrawn
