"""One contract for every registered acquisition function, and a package without import cycles."""

import ast
import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bal_utils import acquisition, plots
from bal_utils.acquisition import REGISTRY, CandidateBatch, select

PACKAGE = Path(acquisition.__file__).resolve().parent


def _probs(t=8, n=30, c=10, seed=0):
    rng = np.random.default_rng(seed)
    logits = 2 * rng.normal(size=(t, n, c)) + rng.normal(size=(1, n, c))
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_acquisition_keeps_the_contract(name):
    entry = REGISTRY[name]
    probs = _probs()
    targets = _probs(n=12, seed=1) if entry.needs_targets else None
    picked = select(name, probs, 5, rng=0, targets=targets)
    assert isinstance(picked, CandidateBatch)
    assert picked.indices.shape == (5,) and len(set(picked.indices.tolist())) == 5
    assert picked.indices.min() >= 0 and picked.indices.max() < probs.shape[1]
    assert np.array_equal(picked.indices, select(name, probs, 5, rng=0, targets=targets).indices)  # reproducible
    if entry.is_batch:
        assert picked.scores is None
        assert list(inspect.signature(entry.function).parameters)[:3] == ["probs", "k", "rng"]
    else:
        assert picked.scores.shape == (probs.shape[1],) and np.all(np.isfinite(picked.scores))
        assert np.array_equal(picked.indices, acquisition.select_top_k(picked.scores, 5))
        names = ["probs", "targets", "rng"] if entry.needs_targets else ["probs", "rng"]
        assert list(inspect.signature(entry.function).parameters)[: len(names)] == names
    if entry.needs_targets:
        with pytest.raises(ValueError, match=f"acquisition '{name}' needs targets="):
            select(name, probs, 5)
    if not entry.needs_predictions:  # reads only N: a placeholder does
        assert select(name, np.ones((1, 30, 1)), 5, rng=0).indices.shape == (5,)
    # how the book shows it: one display name and one colour, from this entry alone
    assert acquisition.DISPLAY_NAMES[name] == entry.display_name and plots.COLORS[name] == entry.color
    assert acquisition.get_acquisition(name) is entry.function
    with pytest.raises(ValueError, match="k="):
        select(name, probs, probs.shape[1] + 1, targets=targets)


def test_names_colours_and_kinds_come_from_the_registry_alone():
    assert len(set(acquisition.COLORS.values())) == len(REGISTRY)
    assert set(acquisition.ACQUISITIONS) == {n for n, a in REGISTRY.items() if not a.is_batch and not a.needs_targets}
    assert [n for n, a in REGISTRY.items() if a.is_batch] == ["batchbald", "power_bald"]
    assert acquisition.known_acquisitions() == sorted(REGISTRY)
    with pytest.raises(ValueError, match="give exactly one of score= and select_batch="):
        acquisition.Acquisition("x", "X", "k")
    with pytest.raises(ValueError, match="acquisition='entropyy' is not known; known: \\['bald'"):
        select("entropyy", _probs(), 3)


def _imports(path: Path):
    """The package modules ``path`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bal_utils."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("bal_utils."))
    return found


def _graph():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    return {m: sorted(_imports(PACKAGE / f"{m}.py") & modules - {m}) for m in sorted(modules)}


def test_the_import_graph_is_acyclic():
    graph = _graph()
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
    # the cuts: scores and selectors below the registry, analysis below results and references,
    # executors below the grid
    assert "acquisition" not in graph["batch"] + graph["scores"]
    assert not {"results", "reference"} & set(graph["analysis"])
    assert "grid" not in graph["_dask"] + graph["runtime"]


def test_every_module_imports_in_either_order_in_a_fresh_interpreter():
    modules = [m for m in sorted(_graph()) if m != "_dask" or importlib.util.find_spec("distributed")]
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module('bal_utils.' + m)\n"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for order in (modules, modules[::-1]):
        out = subprocess.run([sys.executable, "-c", code, *order], capture_output=True, text=True, timeout=300, env=env)
        assert out.returncode == 0, f"importing {order}: {out.stderr[-2000:]}"
