"""You are the oracle: an active-learning session in which a person labels what the model asks for.

:class:`OracleSession` is a resumable run like any other, except that the
labels of the acquired images come from an *oracle*: a person answering in
:func:`oracle_widget`, or a scripted oracle (:func:`scripted_oracle`: MNIST's
true labels, optionally wrong at a set rate) for tests and for the book's
static figures. After every answered batch the model retrains from scratch
on the labels the oracle gave, is evaluated on the test set, picks the next
batch, and the session file is rewritten atomically: a kernel restart loses
nothing, and the file says which labels came from a person and where they
disagree with MNIST's label.

Session file (``<out>/oracle-<acquisition>-seed<seed>.json``)::

    {"schema": "bal_utils.oracle/1", "acquisition": ..., "seed": ..., "config": {...},
     "provenance": {...},
     "history": [{"step": 0, "n_labelled": 20, "test_error": 0.41,
                  "queried": [...k training indices...], "answers": [3, null, ...],
                  "true_labels": [3, 7, ...], "oracle": "person" | "scripted, error rate 0.1",
                  "seconds": {...}}, ...]}

Record ``s`` is the model trained after ``s`` answered batches and the batch
it then asked about; its ``answers`` are empty until the oracle answers. An
answer of ``None`` means "skip / not a digit": the image leaves the pool
unlabelled.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import checks
from .options import N_CLASSES
from .config import Config
from .data import load_mnist, make_splits, to_model_input
from .provenance import now_iso, stamp
from .results import atomic_write_json

SCHEMA = "bal_utils.oracle/1"


def scripted_oracle(error_rate: float = 0.0, seed: int = 0):
    """An oracle that answers MNIST's true label, or with probability ``error_rate`` another digit.

    Returns ``answer(true_labels) -> list of int`` with a ``name`` attribute
    recorded in the session file.
    """
    checks.number("error_rate", error_rate, 0, 1)
    rng = np.random.default_rng([int(seed), 0x0AC1E])

    def answer(true_labels):
        out = []
        for y in true_labels:
            wrong = rng.random() < error_rate
            out.append(int((y + rng.integers(1, N_CLASSES)) % N_CLASSES) if wrong else int(y))
        return out

    answer.name = "scripted, true labels" if error_rate == 0 else f"scripted, error rate {error_rate:g}"
    return answer


#: What every record of a session's history holds.
HISTORY_KEYS = ("step", "n_labelled", "test_error", "queried", "answers", "true_labels", "oracle", "seconds")


def load_session(path) -> dict:
    """Read and check a session file; ``ValueError`` naming the file and what is wrong with it."""
    import json

    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"session file {path}: cannot be read as JSON ({err}); delete it to start again") from None
    problem = None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        problem = f"schema is not {SCHEMA!r}"
    elif not isinstance(record.get("history"), list):
        problem = "history is not a list"
    else:
        for i, h in enumerate(record["history"]):
            missing = [k for k in HISTORY_KEYS if not isinstance(h, dict) or k not in h]
            if missing:
                problem = f"history[{i}] lacks {missing}"
                break
            if len(h["answers"]) not in (0, len(h["queried"])):
                problem = f"history[{i}] has {len(h['answers'])} answers for {len(h['queried'])} queries"
                break
    if problem:
        raise ValueError(f"session file {path}: {problem}; delete it to start again")
    return record


class OracleSession:
    """A resumable active-learning session whose labels come from an oracle.

    Parameters
    ----------
    config : Config
        Sizes and protocol (``teaching`` is meant for a person: 10 images per batch).
    acquisition : str
        Which function picks the queries (``"bald"``, ``"random"``, ...).
    seed : int
    out_dir : path or None
        Folder of the session file; an existing session there is resumed.
        ``None`` keeps it in memory.
    data : MNIST, optional

    Attributes
    ----------
    queries : array of int
        The training indices the model asks about now (empty when finished).
    record : dict
        The session record (see the module docstring).
    """

    def __init__(self, config: Config, acquisition: str, seed: int = 0, out_dir=None, data=None):
        from .acquisition import get_acquisition
        from .model import BayesianCNN

        if not isinstance(config, Config):
            raise ValueError(f"config must be a bal_utils.Config, got {type(config).__name__}")
        get_acquisition(acquisition)
        self.config, self.acquisition, self.seed = config.for_acquisition(acquisition), acquisition, int(seed)
        self.data = data if data is not None else load_mnist(config.dataset)
        self.splits = make_splits(self.data, config, self.seed)
        self.path = Path(out_dir) / f"oracle-{acquisition}-seed{self.seed}.json" if out_dir is not None else None
        if self.path is not None and self.path.exists():
            self.record = load_session(self.path)
            if self.record.get("schema") != SCHEMA or not _same_config(self.record.get("config"), config) or self.record.get("acquisition") != acquisition:
                raise ValueError(f"session file {self.path} holds another session (schema, config or acquisition differ); use another folder")
        else:
            self.record = {
                "schema": SCHEMA, "acquisition": acquisition, "seed": self.seed, "config": config.to_dict(),
                "data": {"source": self.data.source, "sha256": self.data.sha256},
                "provenance": stamp(),
                "history": [],
            }
        self.model = BayesianCNN.from_config(self.config)
        self._rebuild()
        if not self.record["history"] or self.record["history"][-1]["answers"]:
            self._train_and_ask()  # a new session, or one whose last batch was answered before a restart
        else:
            self._retrain()  # the model that asked the pending batch (same weights: deterministic)

    # -- state ------------------------------------------------------------
    def _rebuild(self):
        labelled, labels = list(self.splits.initial), list(self.data.y_train[self.splits.initial])
        seen = []
        for h in self.record["history"]:
            for idx, answer in zip(h["queried"], h["answers"]):
                seen.append(idx)
                if answer is not None:
                    labelled.append(idx)
                    labels.append(answer)
        self.labelled = np.asarray(labelled, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.pool = np.setdiff1d(self.splits.pool, seen)

    @property
    def step(self) -> int:
        """Answered batches so far."""
        return sum(1 for h in self.record["history"] if h["answers"])

    @property
    def finished(self) -> bool:
        return self.step >= self.config.n_steps

    @property
    def queries(self) -> np.ndarray:
        last = self.record["history"][-1] if self.record["history"] else None
        return np.asarray(last["queried"] if last and not last["answers"] else [], dtype=np.int64)

    def _retrain(self):
        from .loop import train_step

        train_step(self.model, self.config, self.data.x_train[self.labelled], self.labels, self.seed, self.step, warm=False)

    def _train_and_ask(self):
        from .loop import accuracy_on, acquire

        t0 = time.perf_counter()
        self._retrain()
        t1 = time.perf_counter()
        x_test, y_test = to_model_input(self.data.x_test[self.splits.test]), self.data.y_test[self.splits.test]
        error = 1.0 - accuracy_on(self.model, x_test, y_test)
        t2 = time.perf_counter()
        queried = np.zeros(0, dtype=np.int64)
        if not self.finished:
            queried, _, _ = acquire(self.model, self.data.x_train, self.pool, self.config, self.acquisition, self.seed, self.step)
        self.record["history"].append({
            "step": self.step, "n_labelled": int(len(self.labelled)), "test_error": error,
            "queried": [int(i) for i in queried], "answers": [], "true_labels": [int(c) for c in self.data.y_train[queried]],
            "oracle": None, "seconds": {"train": round(t1 - t0, 3), "evaluate": round(t2 - t1, 3), "score": round(time.perf_counter() - t2, 3)},
        })
        self._save()

    def _save(self):
        self.record["provenance"]["updated"] = now_iso()
        if self.path is not None:
            atomic_write_json(self.path, self.record)

    # -- what the reader sees and does -------------------------------------
    def uncertain_between(self, n_samples: int = 20):
        """For each query, the model's two most likely digits and their MC-dropout mean probabilities."""
        if not len(self.queries):
            return []
        probs = self.model.mc_predict(to_model_input(self.data.x_train[self.queries]), n_samples, seed=0).mean(0)
        top = np.argsort(-probs, axis=1)[:, :2]
        return [((int(a), float(p[a])), (int(b), float(p[b]))) for (a, b), p in zip(top, probs)]

    def answer(self, labels, oracle: str = "person") -> dict:
        """Give the labels of the current queries (``None`` = skip / not a digit), retrain, and ask again.

        Returns the new last record. Labels are digits 0-9; a wrong label is
        allowed (it is label noise, and the record keeps MNIST's label beside it).
        """
        queries = self.queries
        if self.finished or not len(queries):
            raise ValueError("the session is finished: no queries to answer")
        labels = list(labels)
        if len(labels) != len(queries):
            raise ValueError(f"labels has {len(labels)} answers: expected {len(queries)}, one per query (None to skip)")
        for y in labels:
            if y is not None and (isinstance(y, bool) or not isinstance(y, (int, np.integer)) or not 0 <= y < N_CLASSES):
                raise ValueError(f"labels: {y!r} is not allowed: expected a digit 0-9, or None to skip")
        last = self.record["history"][-1]
        last["answers"] = [None if y is None else int(y) for y in labels]
        last["oracle"] = oracle
        self._save()  # the answers are safe before the (slow) retraining
        self._rebuild()
        self._train_and_ask()
        return self.record["history"][-1]

    def answer_with(self, oracle) -> dict:
        """Answer the current queries with a scripted oracle (see :func:`scripted_oracle`)."""
        return self.answer(oracle([int(c) for c in self.data.y_train[self.queries]]), oracle=getattr(oracle, "name", "scripted"))

    def run(self, oracle, progress: bool = True):
        """Answer every remaining batch with a scripted oracle; returns the record."""
        from tqdm.auto import tqdm

        for _ in tqdm(range(self.config.n_steps - self.step), desc=f"oracle {self.acquisition}", disable=not progress, leave=False):
            self.answer_with(oracle)
        return self.record

    def curve(self):
        """``(n_labelled, test_error)`` arrays of the session so far."""
        h = self.record["history"]
        return np.array([r["n_labelled"] for r in h]), np.array([r["test_error"] for r in h])

    def disagreements(self) -> int:
        """Answers that differ from MNIST's label (skips not counted)."""
        return sum(a is not None and a != t for h in self.record["history"] for a, t in zip(h["answers"], h["true_labels"]))


def reference_color(label: str):
    """The book's colour of the acquisition function a reference curve's label names (``"BALD, true labels"``)."""
    from .acquisition import COLORS, DISPLAY_NAMES

    for name, display in DISPLAY_NAMES.items():
        if label.lower().startswith(display.lower()) and name in COLORS:
            return COLORS[name]
    return None


def _same_config(stored, config: Config) -> bool:
    """Whether a session file's config is ``config`` (a file from before a field existed has its default)."""
    try:
        return Config.from_dict(stored).to_dict() == config.to_dict()
    except (TypeError, ValueError):
        return False


def plot_session(session, references=None, ax=None):
    """The session's learning curve beside reference curves ``{label: (n_labelled, test_error)}``.

    Each function keeps its colour of the whole book: the references dotted, your session
    solid with large markers."""
    import matplotlib.pyplot as plt

    from .acquisition import COLORS

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5.5, 3.4))
    for label, (n, err) in (references or {}).items():
        ax.plot(n, 100 * np.asarray(err), ":", marker=".", color=reference_color(label), label=label)
    n, err = session.curve()
    ax.plot(n, 100 * err, "-o", color=COLORS.get(session.acquisition, "k"), ms=6, label=f"you ({session.acquisition})")
    ax.set(xlabel="labelled images", ylabel="test error (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def oracle_widget(session: OracleSession, references=None, image_size: float = 1.6):
    """The labelling widget: the model's queries, a row of digit buttons under each, a live learning curve.

    Click a digit under each image (or "–" to skip it), then "label and retrain". The
    text box takes the whole batch from the keyboard: type the digits in
    order (``-`` to skip) and press Enter. Keyboard shortcuts on the images
    themselves would need custom JavaScript, which core ipywidgets do not
    allow, so the text box is the keyboard path.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    state = {"answers": []}
    header = w.HTML()
    grid = w.HBox(layout=w.Layout(flex_flow="row wrap"))
    typed = w.Text(placeholder="or type the digits in order, - to skip, then Enter", continuous_update=False, layout=w.Layout(width="28em"))
    submit = w.Button(description="label and retrain", button_style="primary")
    curve = w.Image(format="png", width=520)  # an image, not an Output: it redraws in any front end and is saved with the page

    def png(fig):
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", dpi=72)
        plt.close(fig)
        return buf.getvalue()

    def draw_curve():
        curve.value = png(plot_session(session, references))

    def image_widget(idx):
        # the 28x28 digit enlarged 4x as a small PNG (a few hundred bytes: the page stays light)
        big = np.kron(255 - session.data.x_train[idx], np.ones((4, 4), dtype=np.uint8))
        buf = __import__("io").BytesIO()
        plt.imsave(buf, big, cmap="gray", vmin=0, vmax=255, format="png")
        return w.Image(value=buf.getvalue(), format="png", width=int(image_size * 60))

    def build():
        queries = session.queries
        state["answers"] = [None] * len(queries)
        state["chosen"] = [False] * len(queries)
        if session.finished:
            header.value = f"<b>Done</b>: {session.step} batches labelled; {session.disagreements()} of your answers differ from MNIST's label."
            grid.children, submit.disabled, typed.disabled = (), True, True
            return
        header.value = (f"<b>Batch {session.step + 1} of {session.config.n_steps}</b>: the model ({session.acquisition}) asks about "
                        f"these {len(queries)} images. Under each: what it was unsure between.")
        cards = []
        for j, (idx, ((a, pa), (b, pb))) in enumerate(zip(queries, session.uncertain_between())):
            choice = w.ToggleButtons(options=[(str(d), d) for d in range(N_CLASSES)] + [("–", "skip")], value=None,
                                     tooltips=[f"label {d}" for d in range(N_CLASSES)] + ["skip: not a digit I can read"],
                                     style={"button_width": "2.1em"}, layout=w.Layout(width="12.5em"))

            def on_choice(change, j=j):
                if change["new"] is None:
                    return
                state["answers"][j] = None if change["new"] == "skip" else int(change["new"])
                state["chosen"][j] = True

            choice.observe(on_choice, "value")
            cards.append(w.VBox([image_widget(idx), w.HTML(f"<small>{a} ({pa:.0%}) or {b} ({pb:.0%})?</small>"), choice],
                                layout=w.Layout(margin="4px", border="1px solid #ddd", padding="4px")))
        grid.children = cards
        submit.disabled, typed.disabled = False, False

    def press(cards_answers):
        submit.disabled = True
        header.value = "<i>retraining on your labels...</i>"
        session.answer(cards_answers)
        build()
        draw_curve()

    def on_submit(_):
        if not all(state["chosen"]):
            header.value = f"<b>Answer every image first</b> ({sum(state['chosen'])} of {len(state['chosen'])} done), or use skip."
            return
        press(state["answers"])

    def on_typed(change):
        text = change["new"].replace(" ", "").replace(",", "")
        if not text:
            return
        if len(text) != len(session.queries) or any(ch not in "0123456789-" for ch in text):
            header.value = f"<b>Type {len(session.queries)} characters</b>: a digit per image in order, - to skip (got {text!r})."
            return
        typed.value = ""
        press([None if ch == "-" else int(ch) for ch in text])

    submit.on_click(on_submit)
    typed.observe(on_typed, "value")
    build()
    draw_curve()
    box = w.VBox([header, grid, w.HBox([submit, typed]), curve])
    box.session, box.submit, box.typed, box.grid, box.header, box.curve = session, submit, typed, grid, header, curve  # for tests
    return box
