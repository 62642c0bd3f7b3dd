"""Saliency on a planted-keyword classifier; `rnnkit inspect/report/memory` end to end."""

from __future__ import annotations

import json
import random
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.inspect.saliency import (
    Explanation,
    _log_probs_from_embeddings,
    _token_view,
    explain_text,
    explanation_html,
)
from rnnkit.tasks import TextClassifier
from warm_cli import run_rnnkit

FILLER = "the a movie plot was film story actor scene it is this and of".split()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _dataset(n: int = 300, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(4, 9))]
        if i % 2:
            words.insert(rng.randrange(len(words) + 1), "zebra")
        texts.append(" ".join(words))
        labels.append("yes" if i % 2 else "no")
    return texts, labels


@pytest.fixture(scope="module")
def clf() -> TextClassifier:
    texts, labels = _dataset()
    model = TextClassifier(epochs=15, hidden_size=8, embedding_dim=8, lr=0.01, min_freq=1,
                           patience=0, verbose=0, seed=0)
    return model.fit(texts, labels)


@pytest.fixture(scope="module")
def bundle(clf: TextClassifier, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inspect") / "bundle"
    clf.save(path)
    return path


KEYWORD_TEXTS = ["the movie zebra was a film of this story", "zebra plot", "it is this and zebra"]


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion"])
def test_planted_keyword_dominates(clf: TextClassifier, method: str) -> None:
    for text in KEYWORD_TEXTS:
        e = clf.explain(text, method=method)
        assert e.label == "yes" and e.method == method
        assert e.tokens == text.split() and e.scores.shape == (len(e.tokens),)
        assert e.top(1)[0][0] == "zebra", e.pairs()
        others = np.delete(e.scores, e.tokens.index("zebra"))
        assert e.scores[e.tokens.index("zebra")] > 2 * np.abs(others).max()


def test_integrated_gradients_completeness(clf: TextClassifier) -> None:
    text = KEYWORD_TEXTS[0]
    # Enough midpoint steps that the Riemann error is well inside the tolerance.
    e = explain_text(clf, text, steps=128)
    model = clf.model_
    _, ids = _token_view(clf, text)
    emb = model.embedding(torch.from_numpy(ids).unsqueeze(0)).detach()
    lengths = torch.tensor([len(ids)])
    with torch.no_grad():
        full = _log_probs_from_embeddings(model, emb, lengths)[0, 1]
        base = _log_probs_from_embeddings(model, torch.zeros_like(emb), lengths)[0, 1]
    assert clf.classes_[1] == "yes"
    assert e.scores.sum() == pytest.approx(float(full - base), rel=0.05, abs=1e-3)


def test_explanation_html_escapes_and_colours() -> None:
    e = Explanation("x", ["<b>", "good", "bad"], np.array([0.0, 1.0, -0.5]), "pos", 0.9,
                    "occlusion")
    html = explanation_html(e)
    assert "<b>" not in html.replace("<b>pos</b>", "") and "&lt;b&gt;" in html
    assert html.count('class="tok"') == 3
    # one scale everywhere (as on the web page): green supports the label, red is against it
    assert "rgba(47,158,91,0.850)" in html and "rgba(220,60,50,0.425)" in html
    assert "supports the label" in html and "against it" in html
    assert e.top(1) == [("good", 1.0)]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_rnnkit(args, cwd=cwd, timeout=240)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.urls: list[str] = []
        self.errors = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)
        if tag not in ("meta", "img", "br", "link", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors += 1


def test_cli_inspect_and_report(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "inside"
    done = _run("inspect", str(bundle), "the zebra movie", "--out", str(out))
    assert done.returncode == 0, done.stderr
    for name in ("states_l0.png", "states_l0_reverse.png", "saliency.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    assert "zebra" in (out / "saliency.html").read_text(encoding="utf-8")

    report = tmp_path / "report.html"
    done = _run("report", str(bundle), "--example", "the zebra movie", "--example", "a plot",
                "--out", str(report))
    assert done.returncode == 0, done.stderr
    text = report.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?://", text)
    assert "http://" not in text and "https://" not in text
    parser = _Collector()
    parser.feed(text)
    assert parser.errors == 0 and not parser.stack
    assert parser.urls and all(u.startswith("data:image/png;base64,") for u in parser.urls)
    assert len(parser.urls) >= 4  # curves, confusion matrix, two heat maps
    assert "Configuration" in text and "accuracy" in text and "zebra" in text


def test_cli_memory_writes_plot(tmp_path: Path) -> None:
    done = _run("memory", "--cells", "rnn,gru", "--lengths", "5,10", "--time-budget", "0.3",
                "--hidden-size", "8", "--out", str(tmp_path / "mem"), "--json")
    assert done.returncode == 0, done.stderr
    for name in ("memory.png", "gradient_flow_adding_T5.png", "gradient_flow_adding_T10.png"):
        assert (tmp_path / "mem" / name).read_bytes()[:8] == PNG_MAGIC
    assert "| adding (MSE) | gru |" in (tmp_path / "mem" / "memory.md").read_text()
    assert '"results"' in done.stdout.strip().splitlines()[-1]


def test_cli_memory_chrono_init(tmp_path: Path) -> None:
    done = _run("memory", "--cells", "rnn,mingru", "--lengths", "8", "--tasks", "adding,copy",
                "--time-budget", "0.2", "--hidden-size", "8", "--init", "chrono", "--lr", "0.01",
                "--out", str(tmp_path / "mem"), "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])["results"]
    assert {(r["task"], r["cell"], r["init"]) for r in results} == {
        (task, cell, "chrono") for task in ("adding", "copy") for cell in ("rnn", "mingru")}


@pytest.mark.parametrize(
    "args",
    [
        ("memory", "--cells", "lstm,banana", "--out", "x"),
        ("memory", "--lengths", "10,abc", "--out", "x"),
        ("memory", "--init", "warm", "--out", "x"),
        ("memory", "--lr", "0", "--out", "x"),
        ("inspect", "no_such_bundle", "text", "--out", "x"),
        ("report", "no_such_bundle"),
    ],
)
def test_cli_user_errors_exit_2_with_one_line(
    args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rnnkit.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
