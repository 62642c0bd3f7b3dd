"""Sequence classifiers over HTTP and in export: numeric sequences in, labels out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from rnnkit.io.export import ProbabilityHead, export_bundle
from rnnkit.serve import create_app


@pytest.fixture(scope="module")
def seq_clf():
    from rnnkit.tasks import SequenceClassifier

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(3, 9)), 2)) + (i % 2) for i in range(80)]
    y = ["up" if i % 2 else "down" for i in range(80)]
    return SequenceClassifier(hidden_size=4, epochs=3, verbose=0).fit(X, y)


def test_predict_sequences_matches_the_classifier(seq_clf):
    seqs = [[[1.2, 0.9], [1.1, 1.3], [0.8, 1.0]], [[-0.1, 0.2]]]
    with TestClient(create_app({"sensors": seq_clf})) as client:
        body = client.post("/models/sensors/predict", json={"sequences": seqs}).json()
        expected = seq_clf.predict_proba([np.array(s) for s in seqs])
        got = [[p["probabilities"][c] for c in ("down", "up")] for p in body["predictions"]]
        np.testing.assert_allclose(got, expected, atol=1e-6)
        wrong = client.post("/models/sensors/predict", json={"sequences": [[[1.0, 2.0, 3.0]]]})
        assert wrong.status_code == 422 and "2 features" in wrong.json()["error"]
        texts = client.post("/models/sensors/predict", json={"texts": ["x"]})
        assert texts.status_code == 422 and "sequences" in texts.json()["error"]


def test_sequence_onnx_matches_pytorch(seq_clf, tmp_path):
    import onnxruntime

    path = export_bundle(seq_clf, tmp_path / "seq.onnx")["model"]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    for batch, steps in [(1, 1), (4, 6), (3, 15)]:
        x = rng.normal(size=(batch, steps, 2)).astype(np.float32)
        lengths = rng.integers(1, steps + 1, size=batch).astype(np.int64)
        lengths[0] = steps
        x[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
        with torch.no_grad():
            ref = (
                ProbabilityHead(seq_clf.model_)
                .eval()(torch.from_numpy(x), torch.from_numpy(lengths))
                .numpy()
            )
        got = session.run(None, {"features": x, "lengths": lengths})[0]
        np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)
