"""TextClassifier: embedding dropout and weight drop as options, off by default."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.errors import ConfigError
from rnnkit.tasks import TextClassifier
from rnnkit.tasks.classifier_model import RecurrentClassifier

TEXTS = ["good film", "bad film", "great fun", "awful mess"] * 6
LABELS = [1, 0, 1, 0] * 6
TINY = dict(hidden_size=4, embedding_dim=4, epochs=1, verbose=0, max_length=10,
            validation_split=None)


def test_default_classifier_runs_the_composition_it_always_ran() -> None:
    torch.manual_seed(0)
    net = RecurrentClassifier(2, vocab_size=12, embedding_dim=4, hidden_size=3, dropout=0.5)
    assert net.encoder.weight_drop == 0.0 and net.embedding_dropout == 0.0
    x, lengths = torch.randint(1, 12, (3, 5)), torch.tensor([5, 3, 2])
    torch.manual_seed(1)
    logits = net(x, lengths)
    torch.manual_seed(1)
    assert net.embedding is not None
    out, _ = net.encoder(F.dropout(net.embedding(x), 0.5), lengths=lengths, return_state=False)
    assert torch.equal(logits, net.head(F.dropout(net.pool(out, None, lengths), 0.5)))


def test_awd_options_reach_the_network_and_train() -> None:
    clf = TextClassifier(**TINY, embedding_dropout=0.2, weight_drop=0.4).fit(TEXTS, LABELS)
    net = clf.model_
    assert net.encoder.weight_drop == 0.4 and net.embedding_dropout == 0.2
    # whole words: in training a word's vectors are all kept or all zero, wherever it occurs
    net.train()
    torch.manual_seed(0)
    ids = torch.tensor([[2, 3, 2, 3, 2, 3, 2, 3]] * 8)
    from rnnkit.nn.regularizers import embedding_dropout

    vectors = embedding_dropout(net.embedding, ids, 0.5)
    zero = (vectors == 0).all(-1)
    assert torch.equal(zero, zero[:1].expand_as(zero))
    net.eval()
    assert clf.predict(["good film"]) in ([0], [1])


def test_awd_options_are_checked_like_the_others() -> None:
    with pytest.raises(ConfigError, match="weight_drop must be"):
        TextClassifier(**TINY, weight_drop=2).fit(TEXTS, LABELS)
    with pytest.raises(ConfigError, match="embedding_dropout must be"):
        TextClassifier(**TINY, embedding_dropout=-0.1).fit(TEXTS, LABELS)
