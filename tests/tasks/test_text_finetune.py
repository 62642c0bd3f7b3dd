"""TextClassifier with the ULMFiT fine-tuning schedule: options, layer groups of the networks,
and the defaults left as they were."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks import SequenceClassifier, TextClassifier
from rnnkit.tasks.classifier_model import RecurrentClassifier
from rnnkit.tasks.lm_model import RecurrentLanguageModel

TEXTS = ["good film", "bad film", "great fun", "awful mess", "not bad", "not good"] * 5
LABELS = [1, 0, 1, 0, 1, 0] * 5
TINY = dict(hidden_size=4, embedding_dim=4, epochs=1, verbose=0, max_length=10,
            validation_split=None, num_layers=2)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for _, v in sorted(model.state_dict().items()):
        h.update(v.numpy().tobytes())
    return h.hexdigest()


def _covers_once(model: torch.nn.Module, groups: list[list[torch.nn.Parameter]]) -> bool:
    ids = [id(p) for g in groups for p in g]
    return len(ids) == len(set(ids)) and set(ids) == {id(p) for p in model.parameters()}


def test_classifier_layer_groups_bottom_to_top():
    net = RecurrentClassifier(3, vocab_size=20, embedding_dim=4, hidden_size=4, num_layers=2,
                              pooling="attention")
    groups = net.layer_groups()
    assert groups[0] == [net.embedding.weight]
    assert [len(g) for g in groups[1:3]] == [8, 8]  # both directions of each layer
    assert all(p is getattr(net.encoder, n) for p, n in zip(
        groups[2], ["weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"], strict=False))
    assert any(p is net.head[0].weight for p in groups[-1])
    assert any(p is net.pool.score[0].weight for p in groups[-1])
    assert _covers_once(net, groups)
    features = RecurrentClassifier(2, input_size=3, hidden_size=4, bidirectional=False)
    assert [len(g) for g in features.layer_groups()] == [4, 2]  # no embedding


@pytest.mark.parametrize("options", [
    {"tie_weights": True, "embedding_dim": 4},
    {"output": "adaptive", "cutoffs": [5], "embedding_dim": 4},
    {"embedding_dim": None},
])
def test_language_model_layer_groups_bottom_to_top(options):
    net = RecurrentLanguageModel(20, hidden_size=4, num_layers=3, **options)
    groups = [g for g in net.layer_groups() if g]
    assert _covers_once(net, groups)
    rnn_groups = 3
    tied = options.get("tie_weights", False)
    assert len(groups) == rnn_groups + 1 + (net.embedding is not None and not tied)
    if tied:  # the shared matrix is the output's weight too: it trains with the top group
        assert any(p is net.embedding.weight for p in groups[-1]) and len(groups[0]) == 4
    elif net.embedding is not None:
        assert groups[0] == [net.embedding.weight]


def test_text_classifier_trains_with_the_whole_schedule():
    clf = TextClassifier(**{**TINY, "epochs": 3}, lr=0.01, schedule="stlr", layer_lr_decay=2.6,
                         unfreeze="gradual").fit(TEXTS, LABELS)
    assert clf.history_["lr"][0] == pytest.approx(0.01 / 32)
    assert clf.predict(["good film"])[0] in (0, 1)
    assert repr(clf).count("schedule='stlr'") == 1


def test_text_classifier_gradual_unfreezing_epoch_one_trains_the_head_only():
    clf = TextClassifier(**TINY, unfreeze="gradual", lr=0.05).fit(TEXTS, LABELS)
    torch.manual_seed(0)  # the fit's seed: the network it started from
    start = clf._checked_network().state_dict()
    after = clf.model_.state_dict()
    changed = {k for k in after if not torch.equal(after[k], start[k])}
    assert changed == {"head.0.weight", "head.0.bias"}


def test_default_training_is_unchanged_by_the_fine_tuning_options():
    """Defaults: no schedule, one parameter group, nothing frozen. One group per layer at the
    same rate trains bit-identically (the groups change nothing but the rates)."""
    plain = TextClassifier(**TINY).fit(TEXTS, LABELS)
    grouped = TextClassifier(**TINY, layer_lr_decay=1.0).fit(TEXTS, LABELS)
    assert _digest(plain.model_) == _digest(grouped.model_)
    trainer = plain._trainer(1, False)
    assert (trainer.schedule, trainer.layer_lr_decay, trainer.unfreeze) == (None, None, None)
    assert TextClassifier().get_params()["schedule"] is None


@pytest.mark.parametrize("options, words", [
    ({"layer_lr_decay": 0}, "layer_lr_decay must be a finite number in (0, 1000]"),
    ({"layer_lr_decay": "2.6"}, "layer_lr_decay"),
    ({"unfreeze": "all"}, "unfreeze='all' is unknown"),
    ({"schedule": "triangle"}, "schedule: unknown name 'triangle'"),
    ({"schedule": {"name": "stlr", "cut_frac": 0}}, "cut_frac"),
])
def test_bad_fine_tuning_options_are_one_line_errors_before_training(options, words):
    with pytest.raises(ConfigError) as err:
        TextClassifier(**TINY, **options).fit(TEXTS, LABELS)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_gradual_unfreezing_with_several_workers_is_refused_before_they_start():
    with pytest.raises(ConfigError, match="several workers"):
        TextClassifier(**TINY, unfreeze="gradual").fit(TEXTS, LABELS, workers=2)


def test_bundle_keeps_the_options(tmp_path):
    clf = TextClassifier(**TINY, schedule={"name": "one-cycle", "pct_start": 0.25},
                         layer_lr_decay=2.6).fit(TEXTS, LABELS)
    loaded = TextClassifier.load(clf.save(tmp_path / "b", plots=False))
    assert loaded.params["schedule"] == {"name": "one-cycle", "pct_start": 0.25}
    assert loaded.params["layer_lr_decay"] == 2.6


def test_sequence_classifier_takes_a_per_step_schedule():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 5, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(1) > 0).astype(int)
    clf = SequenceClassifier(hidden_size=4, epochs=2, verbose=0, validation_split=None,
                             batch_size=8, schedule="stlr").fit(x, y)
    # 3 steps per epoch, 6 in all: the peak after step 1, epoch 2 starts at step 3
    p = 1 - (3 - 1) / (6 - 1)
    assert clf.history_["lr"] == pytest.approx([3e-3 / 32, 3e-3 * (1 + p * 31) / 32])
