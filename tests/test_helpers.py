"""The book's helpers: toy loop, rotation, cost counting and plots (the widgets: test_widgets.py)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import bal_utils as bu
from bal_utils.model import multiply_adds


def test_moons_and_toy_classifier_learn():
    X, y = bu.toy.make_moons(200, seed=0)
    assert X.shape == (200, 2) and np.bincount(y).tolist() == [100, 100]
    clf = bu.toy.ToyClassifier().fit(X, y)
    assert np.mean((clf.predict_proba(X) > 0.5) == y) > 0.95


def test_toy_loop_uncertainty_queries_unlabelled_and_beats_random_on_average():
    X, y = bu.toy.make_moons(300, seed=0)
    Xt, yt = bu.toy.make_moons(1000, seed=1)
    final = {}
    for strategy in ("uncertainty", "random"):
        accs = []
        for seed in range(6):
            steps = bu.toy.run_toy_loop(X, y, strategy, n_steps=10, seed=seed, X_test=Xt, y_test=yt)
            assert len(steps) == 11 and len(set(steps[-1].labelled.tolist())) == 12
            assert all(s.acquired not in s.labelled for s in steps[:-1])
            accs.append(steps[-1].accuracy)
        final[strategy] = np.mean(accs)
    assert final["uncertainty"] > final["random"]
    with pytest.raises(ValueError, match="strategy='greedy'"):
        bu.toy.run_toy_loop(X, y, "greedy")


def test_binary_entropy_edges():
    assert bu.toy.binary_entropy([0.0, 1.0]).tolist() == [0.0, 0.0]
    assert bu.toy.binary_entropy(0.5) == pytest.approx(np.log(2))


def test_rotate_images(subset):
    img = subset.x_test[0]
    rot = bu.rotate_images(img, [0, 90, 360])
    assert rot.shape == (3, 28, 28) and rot.dtype == np.uint8
    assert np.array_equal(rot[0], img) and np.abs(rot[2].astype(int) - img).max() <= 1
    # 90 degrees counter-clockwise equals numpy's rot90 up to interpolation at the centre
    assert np.mean(np.abs(rot[1].astype(int) - np.rot90(img).astype(int))) < 1.0
    with pytest.raises(ValueError, match="one \\(H, W\\) image"):
        bu.rotate_images(subset.x_test[:2], [0])


def test_multiply_adds_trunk_dominates():
    m = multiply_adds(bu.BayesianCNN())
    assert m["conv2"] == 20 * 20 * 32 * 3 * 3 * 32 and m["dense"] == 512 * 128
    assert (m["conv1"] + m["conv2"]) / sum(m.values()) > 0.95


def test_plots_draw_what_they_show(trained_model, subset):
    import matplotlib.pyplot as plt

    x = bu.to_model_input(subset.x_test[:30])
    probs = trained_model.mc_predict(x, 5, seed=0)
    scores = {"bald": bu.bald(probs), "max_entropy": bu.max_entropy(probs)}

    grid = bu.plots.image_grid(subset.x_test[:12], [str(i) for i in range(12)], ncols=5)
    assert len(grid.axes) == 15 and [ax.get_title() for ax in grid.axes[:12]] == [str(i) for i in range(12)]
    assert sum(bool(ax.images) for ax in grid.axes) == 12  # three empty cells in the last row

    image_ax, bars_ax = bu.plots.plot_mc_prediction(x[0], probs[:, 0], 3).axes
    np.testing.assert_allclose([b.get_height() for b in bars_ax.patches], probs[:, 0].mean(0), rtol=1e-6)
    assert image_ax.get_title() == "label 3"

    hist = bu.plots.plot_score_histograms(scores)
    assert [ax.get_title() for ax in hist.axes] == ["BALD", "Max entropy"]
    assert all(sum(b.get_height() for b in ax.patches) == 30 for ax in hist.axes)  # every pool image counted

    picks = {k: bu.select_top_k(v, 5) for k, v in scores.items()}
    matrix = bu.plots.plot_overlap(picks).axes[0].images[0].get_array()
    shared = len(np.intersect1d(picks["bald"], picks["max_entropy"]))
    assert np.array_equal(matrix, [[5, shared], [shared, 5]])

    X, y = bu.toy.make_moons(50)
    steps = bu.toy.run_toy_loop(X, y, n_steps=1)
    ax = bu.plots.plot_toy_step(X, y, steps[0]).axes[0]
    drawn = {c.get_label(): c.get_offsets() for c in ax.collections if c.get_label() in ("pool", "labelled", "next query")}
    assert len(drawn["pool"]) == 50
    np.testing.assert_allclose(drawn["labelled"], X[steps[0].labelled])
    np.testing.assert_allclose(drawn["next query"], X[[steps[0].acquired]])
    plt.close("all")


def test_learning_curves_band_over_seeds():
    from test_loop import _fake_run

    runs = [_fake_run("bald", 0, [0.5, 0.2, 0.1]), _fake_run("bald", 1, [0.4, 0.2, 0.05]), _fake_run("random", 0, [0.5, 0.4, 0.3])]
    fig = bu.plots.plot_learning_curves(runs)
    ax = fig.axes[0]
    assert [l.get_label() for l in ax.get_lines()] == ["BALD (2 seeds)", "Random (1 seed)"]
    assert np.allclose(ax.get_lines()[0].get_ydata(), [45, 20, 7.5])
    assert len(ax.collections) == 1  # one band: only BALD has more than one seed
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(band.max(), 45 + 100 * np.std([0.5, 0.4], ddof=1))  # the sample SD over seeds
    bu.plots.plot_reference_curves(ax, {"random": ([20, 30, 40], [0.5, 0.4, 0.3]), "bald": ([20, 30, 40], [0.4, 0.3, 0.2])})
    labels = [l.get_label() for l in ax.get_lines()]
    assert labels[2:] == ["BALD, authors' released curve", "Random, authors' released curve"]  # the learning curves' order
    matplotlib.pyplot.close("all")


def test_acquired_class_counts_and_heatmap():
    from test_loop import _fake_run

    a, b = _fake_run("bald", 0, [0.5, 0.4, 0.3]), _fake_run("bald", 1, [0.5, 0.4, 0.3])
    a["history"][0]["acquired_labels"] = [0] * 7 + [3] * 3
    a["history"][1]["acquired_labels"] = [9] * 10
    b["history"][0]["acquired_labels"] = [1] * 10
    assert bu.acquired_class_counts(a, steps=1).tolist() == [7, 0, 0, 3, 0, 0, 0, 0, 0, 0]
    assert bu.acquired_class_counts(a).tolist() == [7, 0, 0, 3, 0, 0, 0, 0, 0, 10]
    assert bu.acquired_class_counts(b, steps=5).sum() == 10
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="steps="):
            bu.acquired_class_counts(a, steps=bad)
    fig = bu.plots.plot_acquired_classes([a, b], steps=1)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (1, 10) and np.allclose(image[0], [3.5, 5, 0, 1.5, 0, 0, 0, 0, 0, 0])


def test_toy_loop_starts_from_n_initial_points_or_given_ones():
    X, y = bu.toy.make_moons(60, seed=0)
    one = bu.toy.run_toy_loop(X, y, n_initial=1, n_steps=3)
    assert len(one[0].labelled) == 1 and y[one[0].labelled[0]] == 0  # a single point of class 0
    assert [len(s.labelled) for s in one] == [1, 2, 3, 4]
    assert np.bincount(y[bu.toy.run_toy_loop(X, y, n_initial=5, n_steps=0)[0].labelled], minlength=2).tolist() == [3, 2]
    # the default still labels one point per class, drawn as before
    assert sorted(y[bu.toy.run_toy_loop(X, y, n_steps=0)[0].labelled].tolist()) == [0, 1]
    given = bu.toy.run_toy_loop(X, y, n_steps=2, initial=[7])
    assert given[0].labelled.tolist() == [7] and given[1].labelled.tolist() == [7, given[0].acquired]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n_initial="):
            bu.toy.run_toy_loop(X, y, n_initial=bad)
    with pytest.raises(ValueError, match="n_initial=61 needs"):
        bu.toy.run_toy_loop(X, y, n_initial=61)
    for bad in ([], [0, 0], [60], [1.5]):
        with pytest.raises(ValueError, match="initial="):
            bu.toy.run_toy_loop(X, y, initial=bad)
