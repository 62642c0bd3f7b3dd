"""ONNX and TorchScript export: the graphs match PyTorch for any batch size and length."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.io.export import ProbabilityHead, export_bundle


def random_batches(vocab: int, seed: int = 0):
    """Padded id batches of several sizes and lengths, some rows full, some short."""
    rng = np.random.default_rng(seed)
    for batch, steps in [(1, 1), (1, 9), (2, 3), (5, 12), (8, 30), (3, 4)]:
        lengths = rng.integers(1, steps + 1, size=batch)
        lengths[0] = steps
        ids = rng.integers(2, vocab, size=(batch, steps))
        ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
        yield ids.astype(np.int64), lengths.astype(np.int64)


def reference(clf, ids, lengths):
    head = ProbabilityHead(clf.model_).eval()
    with torch.no_grad():
        return head(torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()


def test_onnx_matches_pytorch_on_random_batches(loaded, tmp_path):
    import onnxruntime

    clf = loaded["reviews"]
    paths = export_bundle(clf, tmp_path / "reviews.onnx", "onnx")
    session = onnxruntime.InferenceSession(str(paths["model"]), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["ids", "lengths"]
    vocab = clf.vectorizer_.vocabulary_size
    for ids, lengths in random_batches(vocab):
        got = session.run(None, {"ids": ids, "lengths": lengths})[0]
        np.testing.assert_allclose(got, reference(clf, ids, lengths), atol=1e-5, rtol=0)
    # The documented pre-processing: vectorize with the side file, then run the graph.
    from rnnkit.data import TextVectorizer

    spec = json.loads(paths["preprocess"].read_text(encoding="utf-8"))
    assert spec["classes"] == ["neg", "pos"] and spec["task"] == "text_classifier"
    vec = TextVectorizer.from_json(json.dumps(spec["vectorizer"]))
    texts = ["a wonderful film", "boring plot and poor acting"]
    ids = vec(texts)
    lengths = np.array([len(x) for x in vec.transform(texts)], dtype=np.int64)
    got = session.run(None, {"ids": ids, "lengths": lengths})[0]
    np.testing.assert_allclose(got, clf.predict_proba(texts), atol=1e-5)


def test_torchscript_matches_pytorch(loaded, tmp_path):
    clf = loaded["reviews"]
    path = export_bundle(clf, tmp_path / "reviews.pt", "torchscript")["model"]
    scripted = torch.jit.load(str(path))
    for ids, lengths in random_batches(clf.vectorizer_.vocabulary_size, seed=1):
        with torch.no_grad():
            got = scripted(torch.from_numpy(ids), torch.from_numpy(lengths)).numpy()
        np.testing.assert_allclose(got, reference(clf, ids, lengths), atol=1e-5, rtol=0)


def test_export_refuses_other_tasks_and_formats(loaded, tmp_path):
    with pytest.raises(ConfigError, match="cannot be exported"):
        export_bundle(loaded["wave"], tmp_path / "wave.onnx")
    with pytest.raises(ConfigError, match="onnx or torchscript"):
        export_bundle(loaded["reviews"], tmp_path / "x.bin", "tflite")


def test_export_command(bundles, tmp_path):
    out = tmp_path / "cli.onnx"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "rnnkit", "export", str(bundles["reviews"]), "--format", "onnx",
         "--out", str(out), "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["model"] == str(out)
    assert out.stat().st_size > 1000 and (tmp_path / "cli.preprocess.json").exists()
