"""`inspect_bundle` for a sequence classifier, and its input errors (in process, fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnkit.errors import DataError
from rnnkit.inspect.views import inspect_bundle, read_sequence, read_texts
from rnnkit.tasks import SequenceClassifier


@pytest.fixture(scope="module")
def seq_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(4, 9)), 2)).astype(np.float32) + (i % 2)
         for i in range(40)]
    y = ["a" if i % 2 == 0 else "b" for i in range(40)]
    clf = SequenceClassifier(epochs=1, hidden_size=4, cell="gru", bidirectional=False, verbose=0)
    path = tmp_path_factory.mktemp("seq") / "bundle"
    clf.fit(X, y).save(path)
    return path


def test_inspect_sequence_bundle_writes_gru_heatmaps(seq_bundle: Path, tmp_path: Path) -> None:
    seq = tmp_path / "one.csv"
    seq.write_text("0.1,0.2\n1.0,-1.0\n0.5,0.5\n", encoding="utf-8")
    files = inspect_bundle(seq_bundle, str(seq), tmp_path / "out")
    assert [f.name for f in files] == ["states_l0.png"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sequence_input_errors(seq_bundle: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((5, 3)))
    with pytest.raises(DataError, match=r"\(T, 2\)"):
        read_sequence(str(bad), 2)
    with pytest.raises(DataError, match="not a file"):
        inspect_bundle(seq_bundle, "no such file", tmp_path / "out")


def test_read_texts_file_or_literal(tmp_path: Path) -> None:
    file = tmp_path / "t.txt"
    file.write_text("one\n\ntwo\n", encoding="utf-8")
    assert read_texts(str(file)) == ["one", "two"]
    assert read_texts("just a sentence") == ["just a sentence"]
    with pytest.raises(DataError, match="INPUT"):
        read_texts("   ")


def test_inspect_forecaster_records_the_predict_window(tmp_path: Path) -> None:
    from rnnkit.inspect.views import record_forecaster
    from rnnkit.tasks import Forecaster

    t = np.arange(80)
    y = 10 + 3 * np.sin(t / 12 * 2 * np.pi)
    model = Forecaster(epochs=1, verbose=0, ensemble=1).fit(y)
    rec = record_forecaster(model, y[:, None])
    lookback = model.resolved_["lookback"]
    assert rec.states["l0"]["hidden"].shape[:2] == (1, lookback)
    path = tmp_path / "fc"
    model.save(path)
    history = tmp_path / "history.txt"
    np.savetxt(history, y)
    files = inspect_bundle(path, str(history), tmp_path / "out")
    assert [f.name for f in files] == ["states_l0.png"]
