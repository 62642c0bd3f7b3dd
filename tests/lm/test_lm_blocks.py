"""LanguageModel(block="residual"): the scan cells in pre-norm residual blocks with a causal
convolution -- trained, carried across windows, generated token by token, saved and loaded,
continued with ``init``, refused where it cannot apply; and ``rnnkit lm train --block``."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.nn import ResidualBlocks
from rnnkit.tasks import LanguageModel, TextClassifier
from rnnkit.tasks.lm_model import RecurrentLanguageModel
from warm_cli import run_rnnkit

TEXT = "the quick brown fox jumps over the lazy dog\nhello world\n" * 20
TINY = dict(cell="mingru", block="residual", hidden_size=12, num_layers=2, embedding_dim=8,
            bptt=16, batch_size=4, epochs=2, verbose=0)


def test_stateful_windows_equal_one_run_over_the_text() -> None:
    """The carried state holds each block's conv window: windows fed one after another give the
    logits of one call over the whole sequence (what truncated BPTT and generation rely on)."""
    torch.manual_seed(0)
    net = RecurrentLanguageModel(20, embedding_dim=4, cell="mingru", hidden_size=8, num_layers=2,
                                 block="residual", conv_kernel=3).double().eval()
    assert isinstance(net.rnn, ResidualBlocks)
    x = torch.randint(2, 20, (3, 12))
    full, _ = net.run(x)
    parts = [net(x[:, :5], reset=torch.ones(3, dtype=torch.bool)), net(x[:, 5:6]), net(x[:, 6:])]
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-10)


def test_layer_groups_are_embedding_blocks_output() -> None:
    net = RecurrentLanguageModel(20, embedding_dim=4, cell="mingru", hidden_size=8, num_layers=3,
                                 block="residual")
    groups = net.layer_groups()
    assert len(groups) == 1 + 3 + 1
    assert sorted(id(p) for g in groups for p in g) == sorted(id(p) for p in net.parameters())


def test_fit_generate_save_load_round_trip(tmp_path) -> None:
    lm = LanguageModel(**{**TINY, "epochs": 8, "lr": 0.01}).fit(TEXT)
    assert isinstance(lm.model_.rnn, ResidualBlocks)
    uniform = math.log(lm.vectorizer_.vocabulary_size)
    assert lm.metrics_["validation"]["loss"] < uniform - 0.5  # it learned the text
    sample = lm.generate("the ", length=30, seed=2)
    bundle = lm.save(tmp_path / "lm", plots=False)
    config = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
    assert config["params"]["block"] == "residual" and config["params"]["conv_kernel"] == 4
    back = LanguageModel.load(bundle)
    assert isinstance(back.model_.rnn, ResidualBlocks)
    assert back.generate("the ", length=30, seed=2) == sample
    assert back.score(TEXT[:200]) == pytest.approx(lm.score(TEXT[:200]), abs=1e-6)


def test_init_continues_a_residual_model_and_refuses_another_conv_kernel(tmp_path) -> None:
    first = LanguageModel(**TINY).fit(TEXT)
    path = first.save(tmp_path / "lm", plots=False)
    more = LanguageModel(init=path, epochs=1, verbose=0).fit(TEXT[:400])
    assert more.params["block"] == "residual" and isinstance(more.model_.rnn, ResidualBlocks)
    with pytest.raises(ConfigError, match="conv_kernel"):
        LanguageModel(init=path, conv_kernel=2, epochs=1, verbose=0).fit(TEXT[:400])


def test_numpy_integers_are_options_too() -> None:
    import numpy as np

    lm = LanguageModel(**{**TINY, "conv_kernel": np.int64(2), "epochs": 1}).fit(TEXT[:300])
    assert lm.model_.rnn.blocks[0].conv_kernel == 2


def test_a_classifier_cannot_take_a_residual_language_model() -> None:
    words = LanguageModel(**{**TINY, "level": "word", "epochs": 1}).fit(TEXT)
    with pytest.raises(ConfigError, match="plain") as caught:
        TextClassifier(pretrained=words, epochs=1, verbose=0).fit(
            ["the fox", "hello world", "the dog", "lazy dog"], [0, 1, 0, 1])
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"block": "dense"}, "block='dense' is unknown"),
        ({"block": "plain", "conv_kernel": 3}, "conv_kernel=3 is for block='residual'"),
        ({"block": "residual", "conv_kernel": 0}, "conv_kernel"),
        ({"block": "residual", "weight_drop": 0.2}, "weight_drop"),
        ({"block": "residual", "locked_dropout": True}, "locked_dropout"),
        ({"block": "residual", "cell": "lstm"}, "one state tensor"),
    ],
)
def test_bad_block_options_are_refused_before_any_data_is_read(options, words) -> None:
    lm = LanguageModel(**{**TINY, **options})
    with pytest.raises(ConfigError, match=words) as caught:
        lm.fit(TEXT)
    assert "\n" not in str(caught.value) and lm.model_ is None


def _rnnkit(*args: str):
    env = {**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1"}
    return run_rnnkit(args, env=env, timeout=300)


def test_cli_trains_residual_blocks_and_refuses_a_bad_block(tmp_path) -> None:
    text = tmp_path / "t.txt"
    text.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "bundle"
    fast = ["--hidden-size", "12", "--num-layers", "2", "--embedding-dim", "8", "--bptt", "16",
            "--batch-size", "4", "--epochs", "1", "--sample-length", "10"]
    run = _rnnkit("lm", "train", str(text), "--out", str(out), "--cell", "mingru", "--block",
                  "residual", "--conv-kernel", "2", "--optimizer", "adamw", "--weight-decay",
                  "0.1", "--json", *fast)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["bundle"] == str(out)
    params = json.loads((out / "config.json").read_text(encoding="utf-8"))["params"]
    assert (params["block"], params["conv_kernel"], params["cell"]) == ("residual", 2, "mingru")
    assert (params["optimizer"], params["weight_decay"]) == ("adamw", 0.1)
    before = sorted(p.name for p in tmp_path.iterdir())
    for bad, words in ((["--block", "dense"], "block='dense'"),
                       (["--conv-kernel", "3"], "conv_kernel=3"),
                       (["--block", "residual", "--cell", "lstm"], "one state tensor"),
                       (["--optimizer", "adamx"], "optimizer"),
                       (["--weight-decay", "-1"], "weight_decay")):
        refused = _rnnkit("lm", "train", str(text), "--out", str(tmp_path / "other"), *bad, *fast)
        assert refused.returncode == 2, refused.stderr
        assert words in refused.stderr and refused.stderr.count("\n") == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == before
