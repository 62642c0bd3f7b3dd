"""Every registered cell (rnnkit.cells) in every task: trains, predicts, saves and loads.

Parametrized over ``CELL_NAMES``, so a cell added to the registry is tested here without a new
line. Tiny data, hidden size 8, one or two epochs: these check the wiring (state shapes, the
step form, option refusals), not learning.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.cells import CELL_NAMES, CELLS, EXPORTABLE, check_cell
from rnnkit.errors import ConfigError
from rnnkit.inspect.memory import MemoryNet, memory_benchmark
from rnnkit.inspect.record import record_layer
from rnnkit.nn.registry import cell_name, make_layer, state_is_memory, state_parts, state_size
from rnnkit.tasks import (
    Forecaster,
    LanguageModel,
    SequenceClassifier,
    TextClassifier,
    Translator,
)
from rnnkit.tasks.lm_model import RecurrentLanguageModel
from rnnkit.tasks.translation_model import Seq2Seq
from rnnkit.tasks.translation_toys import reversal_pairs

#: The cells beyond the classic three: the recurrences linear in their state (and any later).
NEW_CELLS = tuple(c for c in CELL_NAMES if c not in ("rnn", "lstm", "gru"))
TINY = {"hidden_size": 8, "verbose": 0}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reviews(make_negation_pairs) -> tuple[list[str], list[str]]:
    return make_negation_pairs(24)


# ------------------------------------------------------------------ the registry itself
def test_registry_names_every_layer_and_refuses_unknown_names_in_one_line() -> None:
    assert CELL_NAMES[:6] == ("rnn", "lstm", "gru", "mingru", "minlstm", "lru")
    for cell in CELL_NAMES:
        layer = make_layer(cell, 3, 4)
        assert type(layer).__name__ == CELLS[cell] and cell_name(layer.cell(0, 0)) == cell
    with pytest.raises(ConfigError) as error:
        check_cell("transformer")
    assert str(error.value) == (f"cell: 'transformer' is unknown; use one of "
                                f"{', '.join(CELL_NAMES)}")
    with pytest.raises(ConfigError, match=r"^TextClassifier: cell='xlstm' is unknown; use one of "
                                          r"'rnn', 'lstm', 'gru', 'mingru'"):
        TextClassifier(cell="xlstm").fit(["a b"] * 4, [0, 1] * 2)


@pytest.mark.parametrize("cell", NEW_CELLS)
def test_options_a_scan_cell_has_no_use_for_are_refused_naming_them(cell: str) -> None:
    with pytest.raises(ConfigError, match=rf"^recurrent_activation: the {cell} cell does not "
                                          r"take it; .*\(lstm, gru"):
        make_layer(cell, 3, 4, recurrent_activation="tanh")
    with pytest.raises(ConfigError, match=r"^weight_drop: .* has no recurrent weights"):
        LanguageModel(cell=cell, weight_drop=0.5, **TINY, epochs=1).fit("abcabc" * 10)


# ------------------------------------------------------------------ the five tasks
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_text_classifier_trains_predicts_and_round_trips(cell: str, reviews, tmp_path) -> None:
    texts, labels = reviews
    clf = TextClassifier(cell=cell, embedding_dim=8, epochs=1, batch_size=8, pooling="last",
                         **TINY).fit(texts, labels)
    proba = clf.predict_proba(texts[:5])
    path = clf.save(tmp_path / "bundle", plots=False)
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    assert config["params"]["cell"] == cell
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.pt"))
    loaded = rnnkit.load(path)
    np.testing.assert_allclose(loaded.predict_proba(texts[:5]), proba, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_sequence_classifier_trains_and_predicts(cell: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6, 2)).astype(np.float32)
    labels = ["a", "b"] * 8
    clf = SequenceClassifier(cell=cell, epochs=1, batch_size=8, **TINY).fit(x, labels)
    assert set(clf.predict(x[:4])) <= {"a", "b"}


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_forecaster_trains_and_forecasts(cell: str) -> None:
    y = np.sin(np.arange(48) / 3.0) + 2.0
    model = Forecaster(cell=cell, epochs=2, ensemble=1, lookback=6, season=1, **TINY)
    model.fit(y, test_size=0.25)
    assert np.isfinite(model.predict(y)).all()


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_language_model_trains_and_generates(cell: str) -> None:
    lm = LanguageModel(cell=cell, embedding_dim=8, epochs=1, bptt=8, batch_size=4,
                       valid_fraction=0, **TINY).fit("the cat sat on the mat.\n" * 8)
    assert len(lm.generate("the", length=6, seed=0, include_prime=False)) == 6


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_translator_trains_and_translates(cell: str, attention: str) -> None:
    src, tgt = reversal_pairs(32, 2, 4, vocab=5, seed=0)
    model = Translator(cell=cell, attention=attention, embedding_dim=8, epochs=1, min_freq=1,
                       batch_size=16, valid_fraction=0.1, num_layers=2, **TINY).fit(src, tgt)
    assert all(isinstance(t, str) for t in model.translate(src[:3], beam_size=2))


# ------------------------------------------------------------------ the state, read right
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_generating_step_by_step_equals_scoring_the_whole_sequence(cell: str) -> None:
    torch.manual_seed(0)
    net = RecurrentLanguageModel(12, embedding_dim=5, hidden_size=6, num_layers=2, cell=cell)
    net = net.double().eval()
    ids = torch.randint(2, 12, (3, 9))
    with torch.no_grad():
        whole, whole_state = net.run(ids)
        state, steps = None, []
        for t in range(ids.shape[1]):  # one token per call: the cells' step form
            logits, state = net.run(ids[:, t:t + 1], state)
            steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, 1), whole, rtol=0, atol=1e-10)
    parts = state if isinstance(state, tuple) else (state,)
    assert len(parts) == state_parts(net.rnn)
    assert all(p.shape == (2, 3, state_size(net.rnn)) for p in parts)
    torch.testing.assert_close(parts[0], (whole_state if len(parts) == 1 else whole_state[0]),
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize("attention", ["luong", "none"])
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_translation_decoder_steps_as_it_trains(cell: str, attention: str) -> None:
    torch.manual_seed(0)
    net = Seq2Seq(9, 11, attention=attention, cell=cell, hidden_size=6, embedding_dim=4,
                  num_layers=2).double().eval()
    x, lengths = torch.randint(4, 9, (2, 5)), torch.tensor([5, 3])
    y_in = torch.randint(4, 11, (2, 4))
    with torch.no_grad():
        parallel = net(x, lengths, y_in)
        carry, steps = net.start(x, lengths), []
        for t in range(y_in.shape[1]):
            logits, carry, _ = net.step(y_in[:, t], carry)
            steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), parallel, rtol=0, atol=1e-10)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_a_translation_decoder_never_maps_a_memory_state_square(cell: str) -> None:
    """ssm/mlstm states are O(H * N) wide: bridged through H, and the Bahdanau query is the
    decoder's output; the sizes stay those of a GRU's model (a square bridge of an mlstm's state
    at H = 64 held 2.4M weights)."""
    net = Seq2Seq(9, 11, cell=cell, bidirectional=True, hidden_size=64, embedding_dim=8)
    S = state_size(net.encoder)
    bridge = sum(p.numel() for p in net.bridge.parameters())
    memory = state_is_memory(net.encoder)
    assert memory == (cell in ("ssm", "mlstm")) and net.memory_state == memory
    assert bridge == ((2 * S + 1) * 64 + (64 + 1) * S if memory else (2 * S + 1) * S)
    assert net.attention.query_proj.in_features == (64 if memory else state_size(net.encoder))
    carry = net.start(torch.randint(4, 9, (2, 5)))
    assert ("out" in carry) == memory
    _, stepped, weights = net.step(torch.tensor([2, 2]), carry)
    assert weights.shape == (2, 5) and stepped["h"].shape == (2, 1, state_size(net.encoder))


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_recording_and_memory_net_run_every_cell(cell: str) -> None:
    layer = make_layer(cell, 3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    x, lengths = torch.randn(2, 5, 3, dtype=torch.float64), torch.tensor([5, 3])
    rec = record_layer(layer, x, lengths)
    torch.testing.assert_close(rec.output, layer(x, lengths=lengths)[0], rtol=0, atol=1e-10)
    assert rec.cell_type == cell and rec.states["l1_reverse"]["hidden"].shape == (2, 5, 4)
    assert MemoryNet(cell, "adding", hidden_size=4)(torch.rand(3, 7, 2)).shape == (3,)


MEMORY_CELLS = tuple(c for c in CELL_NAMES if state_is_memory(make_layer(c, 1, 4)))


@pytest.mark.parametrize("cell", MEMORY_CELLS)
def test_inspect_and_report_draw_a_memory_cell_from_its_outputs(cell: str, reviews,
                                                                tmp_path) -> None:
    """``rnnkit inspect`` / ``text report`` of an ssm or mlstm model: the heat maps read the
    outputs h_t (H wide) and the gates the cell names (an mLSTM's i, f per head), not the state."""
    from rnnkit.inspect.report import write_report
    from rnnkit.inspect.views import inspect_bundle, record_text

    texts, labels = reviews
    clf = TextClassifier(cell=cell, embedding_dim=8, epochs=1, batch_size=8, bidirectional=False,
                         **TINY).fit(texts[:8], labels[:8])
    path = clf.save(tmp_path / "bundle", plots=False)
    _, rec = record_text(clf, texts[0])
    assert rec.cell_type == cell and rec.states["l0"]["hidden"].shape[-1] == 8
    written = inspect_bundle(path, texts[0], tmp_path / "views")
    assert {p.name for p in written} >= {"states_l0.png", "saliency.png"}
    html = write_report(path, tmp_path / "report.html", examples=[texts[0]]).read_text("utf-8")
    assert "<img" in html and "Traceback" not in html


def test_memory_benchmark_runs_the_new_cells_and_names_unknown_ones() -> None:
    results = memory_benchmark(NEW_CELLS, [4], time_budget=0.05, hidden_size=4)
    assert [r.cell for r in results] == list(NEW_CELLS)
    with pytest.raises(ConfigError, match=r"^cells: 'xlstm' is unknown; use one of rnn, lstm"):
        memory_benchmark(["xlstm"], [4], time_budget=0.05)


def test_export_refuses_the_scan_cells_in_one_line(reviews, tmp_path) -> None:
    from rnnkit.io.export import export_bundle

    texts, labels = reviews
    cell = NEW_CELLS[0]
    clf = TextClassifier(cell=cell, embedding_dim=8, epochs=1, **TINY).fit(texts, labels)
    for fmt in ("onnx", "torchscript"):
        with pytest.raises(ConfigError, match=rf"^export: a {cell} network cannot be exported"):
            export_bundle(clf, tmp_path / f"model.{fmt}", fmt)
    assert not list(tmp_path.iterdir()) and set(EXPORTABLE) == {"rnn", "lstm", "gru"}
