"""Translator: the reversal toy reaches 99% quickly, bundles round-trip, options work, errors are
clear.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import Translator
from rnnkit.tasks.translation_model import Seq2Seq
from rnnkit.tasks.translation_toys import addition_pairs, date_pairs, reversal_pairs


@pytest.fixture(scope="module")
def reversal_model() -> tuple[Translator, list[str], list[str]]:
    src, tgt = reversal_pairs(3000, 3, 8, vocab=8, seed=0)
    model = Translator(hidden_size=64, embedding_dim=16, epochs=6, lr=5e-3, batch_size=32,
                       dropout=0.0,
                       min_freq=1, valid_fraction=0.05, patience=0, verbose=0).fit(src, tgt)
    test_src, test_tgt = reversal_pairs(200, 3, 8, vocab=8, seed=1)
    return model, test_src, test_tgt


def test_reversal_toy_reaches_99_percent_exact_match(reversal_model) -> None:
    model, test_src, test_tgt = reversal_model
    hyp = model.translate(test_src, beam_size=1)
    assert np.mean([h == r for h, r in zip(hyp, test_tgt, strict=True)]) >= 0.99
    report = model.evaluate(test_src[:50], test_tgt[:50], beam_size=3)
    assert report["exact_match"] >= 0.98 and report["token_accuracy"] >= 0.98
    assert report["signature"].startswith("nrefs:1|case:lc|eff:no|tok:13a")
    assert report["bleu"] > 90 and report["loss"] < 0.2
    assert model.metrics_["source_level"] == "word" and "validation" in model.metrics_
    assert model.metrics_["steps"] == 6 * 90  # 2850 training pairs in batches of 32, 6 epochs


def test_attention_map_aligns_reversed_positions(reversal_model) -> None:
    model, _, _ = reversal_model
    t = model.translate_with_attention(["a b c d e f"], beam_size=2)[0]
    assert t.text == "f e d c b a" and t.target_tokens == list("fedcba")
    assert t.weights.shape == (7, 6)  # six tokens + <eos>, over six source tokens
    np.testing.assert_allclose(t.weights.sum(1), 1.0, rtol=1e-5)
    # Output i copies source position 5 - i: the weight peaks there for most steps.
    peaks = t.weights[:6].argmax(1)
    assert np.mean(peaks == np.arange(5, -1, -1)) >= 0.5


def test_bundle_round_trip_and_rnnkit_load(reversal_model, tmp_path: Path) -> None:
    model, test_src, _ = reversal_model
    path = model.save(tmp_path / "rev", example="a b c")
    assert (path / "attention.png").is_file() and (path / "curves.png").is_file()
    again = rnnkit.load(path)
    assert isinstance(again, Translator)
    assert again.translate(test_src[:20], beam_size=2) == model.translate(
        test_src[:20], beam_size=2
    )
    assert (
        again.source_level_ == "word"
        and again.metrics_["epochs_run"] == model.metrics_["epochs_run"]
    )


@pytest.mark.parametrize("attention", ["luong", "none"])
def test_parallel_teacher_forcing_equals_stepwise(attention: str) -> None:
    torch.manual_seed(0)
    net = (
        Seq2Seq(
            12, 15, attention=attention, hidden_size=8, embedding_dim=5, num_layers=2, cell="lstm"
        )
        .double()
        .eval()
    )
    x, lengths, y_in = (
        torch.randint(4, 12, (3, 6)),
        torch.tensor([6, 2, 4]),
        torch.randint(4, 15, (3, 5)),
    )
    with torch.no_grad():
        full = net(x, lengths, y_in)
        carry, steps = net.start(x, lengths), []
        for t in range(5):
            logits, carry, _ = net.step(y_in[:, t], carry)
            steps.append(logits)
    torch.testing.assert_close(full, torch.stack(steps, 1), rtol=1e-10, atol=1e-10)


def test_other_options_train_a_few_steps() -> None:
    src, tgt = addition_pairs(200, digits=2, seed=0)
    model = Translator(attention="luong", attention_score="dot", cell="lstm", hidden_size=16,
                       embedding_dim=8, bidirectional=False, num_layers=2, teacher_forcing=0.5,
                       label_smoothing=0.1,
                       epochs=2, min_freq=1, verbose=0, lr_decay="time", beam_size=2).fit(src, tgt)
    assert model.source_level_ == "char" and model.target_level_ == "char"
    out = model.translate(["12+34", ""])
    assert len(out) == 2 and all(isinstance(o, str) for o in out)
    empty = model.translate_with_attention([""])[0]
    assert empty.source_tokens == [] and empty.weights.shape[1] == 0
    d_src, d_tgt = date_pairs(3, seed=0)
    assert len(d_src) == 3 and all(len(t) == 10 for t in d_tgt)


def test_user_errors_are_clear() -> None:
    with pytest.raises(ConfigError, match="attention"):
        Translator(attention="transformer").fit(["a b"], ["b a"])
    with pytest.raises(TypeError, match="beam"):
        Translator(beam=3)
    with pytest.raises(DataError, match="one per pair"):
        Translator(verbose=0).fit(["a"], ["b", "c"])
    with pytest.raises(ConfigError, match="not fitted"):
        Translator().translate(["a"])
    with pytest.raises(DataError, match="wrap it in a list"):
        Translator(verbose=0).fit("a b", "b a")


def test_inspect_writes_one_attention_map_per_text(reversal_model, tmp_path: Path) -> None:
    from rnnkit.inspect.views import inspect_bundle

    model, _, _ = reversal_model
    bundle = model.save(tmp_path / "rev")
    texts = tmp_path / "texts.txt"
    texts.write_text("a b c\nd e f g\n", encoding="utf-8")
    written = inspect_bundle(bundle, str(texts), tmp_path / "inside")
    assert [p.name for p in written] == ["attention_1.png", "attention_2.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_bundle_of_the_old_score_option_loads(reversal_model, tmp_path: Path) -> None:
    """Bundles written before the estimator contract call ``attention_score`` ``score``."""
    import json

    from rnnkit.io import bundle as bundle_module

    model, _, _ = reversal_model
    path = model.save(tmp_path / "old", plots=False)
    config = json.loads((path / "config.json").read_text())
    config["params"]["score"] = config["params"].pop("attention_score")
    config["config_sha256"] = bundle_module._config_digest(config)  # as such a bundle was signed
    (path / "config.json").write_text(json.dumps(config))
    loaded = Translator.load(path)
    assert loaded.attention_score is None and "score" not in loaded.get_params()
