"""LanguageModel: the AWD-LSTM options, the adaptive softmax and documents with a separator."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

import rnnkit
from rnnkit.errors import BundleError, ConfigError
from rnnkit.io.bundle import CONFIG_DIGEST_KEY, _config_digest
from rnnkit.tasks import LanguageModel
from rnnkit.tasks.defaults import LM_DEFAULTS
from rnnkit.tasks.language_model import DOCUMENT_SEPARATOR
from rnnkit.tasks.lm_model import AdaptiveLoss, RecurrentLanguageModel, frequency_cutoffs

TEXT = " ".join(["the cat sat on the mat and the dog ran to the park ."] * 30)
TINY = dict(level="word", hidden_size=8, num_layers=2, embedding_dim=8, batch_size=4, bptt=8,
            epochs=1, verbose=0)


def test_default_network_runs_the_composition_it_always_ran() -> None:
    """With the new options at their defaults the network is the old one, op for op: the same
    parameters and, under one seed, bit-identical training outputs and gradients."""
    torch.manual_seed(0)
    net = RecurrentLanguageModel(20, embedding_dim=6, hidden_size=6, num_layers=2, dropout=0.3)
    assert list(net.state_dict()) == [
        "embedding.weight", *[f"rnn.{n}_l{i}" for i in (0, 1)
                              for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")],
        "decoder.weight", "decoder.bias",
    ]
    assert type(net.drop) is torch.nn.Dropout and net.rnn.weight_drop == 0.0
    x = torch.randint(2, 20, (3, 5))
    torch.manual_seed(1)
    out = net(x, reset=torch.ones(3, dtype=torch.bool))
    torch.manual_seed(1)
    hidden, _ = net.rnn(F.dropout(net.embedding(x), 0.3), initial_state=None)
    assert net.decoder is not None
    old = net.decoder(F.dropout(hidden, 0.3))
    assert torch.equal(out, old)
    assert net.regularization_loss() is None and net.loss_function() == "cross_entropy"


def test_adaptive_loss_equals_the_full_softmax_when_every_word_is_in_the_head() -> None:
    """cutoffs=[V - 1]: V - 1 words in the head and the last word alone in a one-word cluster,
    whose head logit is then that word's logit: the full softmax exactly, given its weights."""
    vocab, hidden = 11, 6
    torch.manual_seed(0)
    full = RecurrentLanguageModel(vocab, embedding_dim=4, hidden_size=hidden, num_layers=1).double()
    adaptive = RecurrentLanguageModel(vocab, embedding_dim=4, hidden_size=hidden, num_layers=1,
                                      output="adaptive", cutoffs=[vocab - 1]).double()
    assert adaptive.adaptive is not None and full.decoder is not None
    with torch.no_grad():
        adaptive.adaptive.head.weight.copy_(full.decoder.weight)
        adaptive.adaptive.head.bias.copy_(full.decoder.bias)
    features = torch.randn(3, 4, hidden, dtype=torch.float64)
    target = torch.randint(0, vocab, (3, 4))
    target[0, 0] = vocab - 1  # the tail word too
    target[2, 3] = -100  # padding: ignored by both
    logits = full.decoder(features)
    expected = F.cross_entropy(logits.reshape(-1, vocab), target.reshape(-1), ignore_index=-100)
    loss = AdaptiveLoss(adaptive.adaptive)(features, target)
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(adaptive.scores(features), logits.log_softmax(-1),
                               rtol=0, atol=1e-12)


def test_adaptive_scores_are_a_distribution_and_cutoffs_follow_frequency() -> None:
    torch.manual_seed(0)
    net = RecurrentLanguageModel(30, embedding_dim=4, hidden_size=8, num_layers=1,
                                 output="adaptive", cutoffs=[5, 12])
    scores, _ = net.run(torch.randint(2, 30, (2, 3)))
    torch.testing.assert_close(scores.exp().sum(-1), torch.ones(2, 3))
    counts = [0, 40, 30, 10, 10, 4, 3, 2, 1]  # 100 tokens
    # ids 0-3 cover 80%: a head of 4 ids; 95% is first reached at id 6 (97%)
    assert frequency_cutoffs(counts) == [4, 7]


@pytest.fixture(scope="module")
def adaptive() -> LanguageModel:
    return LanguageModel(**TINY, output="adaptive").fit(TEXT)


def test_adaptive_fit_generate_and_bundle_round_trip(adaptive, tmp_path) -> None:
    size = adaptive.vectorizer_.vocabulary_size
    assert adaptive.cutoffs_ is not None and 1 <= adaptive.cutoffs_[0] < size
    assert adaptive.model_.decoder is None
    valid = adaptive.metrics_["validation"]
    assert valid["perplexity"] == pytest.approx(torch.tensor(valid["loss"]).exp().item())
    bundle = adaptive.save(tmp_path / "lm", plots=False)
    config = json.loads((bundle / "config.json").read_text())
    assert config["network"]["cutoffs"] == adaptive.cutoffs_
    again = rnnkit.load(bundle)
    assert again.cutoffs_ == adaptive.cutoffs_
    assert again.generate("the", length=6, seed=3) == adaptive.generate("the", length=6, seed=3)
    assert again.evaluate(TEXT)["loss"] == pytest.approx(adaptive.evaluate(TEXT)["loss"])


def test_an_edited_cutoffs_entry_is_a_bundle_error(adaptive, tmp_path) -> None:
    bundle = adaptive.save(tmp_path / "lm", plots=False)
    config_path = bundle / "config.json"
    config = json.loads(config_path.read_text())
    config["network"]["cutoffs"] = [10_000]
    config[CONFIG_DIGEST_KEY] = _config_digest(config)
    config_path.write_text(json.dumps(config))
    with pytest.raises(BundleError, match="network cutoffs=\\[10000\\]"):
        rnnkit.load(bundle)


def test_bundles_from_before_the_new_options_still_load(tmp_path) -> None:
    lm = LanguageModel(**{**TINY, "level": "char", "num_layers": 1}).fit("hello world " * 20)
    bundle = lm.save(tmp_path / "old", plots=False)
    config_path = bundle / "config.json"
    config = json.loads(config_path.read_text())
    new = ("locked_dropout", "embedding_dropout", "weight_drop", "ar", "tar", "output", "cutoffs",
           "document_separator")
    config["params"] = {k: v for k, v in config["params"].items() if k not in new}
    config[CONFIG_DIGEST_KEY] = _config_digest(config)  # as such a bundle was signed
    config_path.write_text(json.dumps(config))
    again = LanguageModel.load(bundle)
    assert again.output == "full" and again.weight_drop == 0.0
    assert again.generate("h", length=8, seed=1) == lm.generate("h", length=8, seed=1)


def test_awd_options_train_and_add_their_penalty() -> None:
    lm = LanguageModel(**TINY, locked_dropout=True, embedding_dropout=0.1, weight_drop=0.5,
                       ar=2.0, tar=1.0).fit(TEXT)
    net = lm.model_
    assert net.rnn.weight_drop == 0.5 and net.rnn.locked_dropout
    net.train()
    net.reset_state()
    net(torch.randint(2, 10, (2, 5)))
    penalty = net.regularization_loss()
    assert penalty is not None and float(penalty.detach()) > 0
    assert net.regularization_loss() is None  # handed over once
    net.eval()
    net(torch.randint(2, 10, (2, 5)))
    assert net.regularization_loss() is None  # evaluation adds nothing


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weight_drop": 1.0}, "weight_drop must be"),
        ({"ar": -1.0}, "ar must be"),
        ({"output": "sampled"}, "output='sampled' is unknown"),
        ({"cutoffs": [5]}, "cutoffs are for output='adaptive'"),
        ({"output": "adaptive", "cutoffs": [9, 3]}, "cutoffs=\\[9, 3\\]"),
        ({"output": "adaptive", "cutoffs": [5, 5000]}, "between 1 and"),
        ({"output": "adaptive", "tie_weights": True}, "tie_weights works with output='full'"),
        ({"document_separator": "a b"}, "document_separator"),
        ({"document_separator": "<doc>", "level": "char"}, "one character"),
        ({"locked_dropout": "yes"}, "locked_dropout='yes' is unknown"),
    ],
)
def test_bad_options_are_one_line_config_errors(options, message) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        LanguageModel(**{**TINY, **options}).fit(TEXT)
    assert "\n" not in str(info.value)


def test_documents_are_joined_with_one_separator_token() -> None:
    docs = ["first doc here\n", "  second doc there", "third\none"]
    lm = LanguageModel(**{**TINY, "num_layers": 1}, valid_fraction=0,
                       document_separator=DOCUMENT_SEPARATOR).fit(docs)
    vocab = lm.vectorizer_.vocab
    assert vocab.reserved == ("\n", DOCUMENT_SEPARATOR)
    # first doc here ␞ second doc there ␞ third \n one
    assert lm.metrics_["train_tokens"] == 11
    ids = lm._encode(" ".join(["x", DOCUMENT_SEPARATOR, "y"]))
    assert ids.tolist()[1] == vocab.id_of(DOCUMENT_SEPARATOR)
    char = LanguageModel(**{**TINY, "level": "char", "num_layers": 1}, valid_fraction=0,
                         document_separator=DOCUMENT_SEPARATOR).fit(["ab ", "c"])
    assert char.metrics_["train_tokens"] == 4  # a b ␞ c


def test_defaults_list_the_new_options() -> None:
    assert {k: LM_DEFAULTS[k] for k in ("weight_drop", "output", "cutoffs")} == {
        "weight_drop": 0.0, "output": "full", "cutoffs": None}
