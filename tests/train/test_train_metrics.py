"""Metrics against hand computations (no sklearn), and streaming == pure on concatenated data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.train import metrics as M

# Hand example: 3 classes.
Y_TRUE = [0, 0, 1, 1, 1, 2, 2, -100]
Y_PRED = [0, 1, 1, 1, 2, 2, 0, 1]
# confusion (rows true, cols pred): class0: [1,1,0]; class1: [0,2,1]; class2: [1,0,1]
CM = [[1, 1, 0], [0, 2, 1], [1, 0, 1]]


def test_accuracy_ignores_padding_label_and_mask():
    assert M.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 7)
    mask = [True] * 4 + [False] * 4
    assert M.accuracy(Y_TRUE, Y_PRED, mask=mask) == pytest.approx(3 / 4)
    scores = np.eye(3)[[0, 1, 1, 1, 2, 2, 0, 1]] * 5.0  # arg-max of scores = Y_PRED
    assert M.accuracy(Y_TRUE, scores) == pytest.approx(4 / 7)
    assert math.isnan(M.accuracy([-100], [1]))


def test_confusion_matrix_by_hand():
    assert M.confusion_matrix(Y_TRUE, Y_PRED).tolist() == CM
    assert M.confusion_matrix([1], [1], num_classes=3).tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    with pytest.raises(ShapeError):
        M.confusion_matrix([3], [0], num_classes=3)


def test_precision_recall_f1_per_class_and_macro_by_hand():
    per = M.precision_recall_f1(Y_TRUE, Y_PRED, average=None)
    # precision = tp / predicted: class0 1/2, class1 2/3, class2 1/2
    np.testing.assert_allclose(per["precision"], [1 / 2, 2 / 3, 1 / 2])
    # recall = tp / actual: class0 1/2, class1 2/3, class2 1/2
    np.testing.assert_allclose(per["recall"], [1 / 2, 2 / 3, 1 / 2])
    np.testing.assert_allclose(per["f1"], [1 / 2, 2 / 3, 1 / 2])
    assert per["support"].tolist() == [2, 3, 2]
    macro = M.precision_recall_f1(Y_TRUE, Y_PRED)
    assert macro["f1"] == pytest.approx((1 / 2 + 2 / 3 + 1 / 2) / 3)
    micro = M.precision_recall_f1(Y_TRUE, Y_PRED, average="micro")
    assert micro["f1"] == pytest.approx(4 / 7)


def test_f1_asymmetric_binary_and_zero_division():
    # true [1,1,1,0], pred [1,0,0,0]: class1 p=1, r=1/3, f1=0.5 ; class0 p=1/3, r=1, f1=0.5
    per = M.precision_recall_f1([1, 1, 1, 0], [1, 0, 0, 0], average=None)
    np.testing.assert_allclose(per["precision"], [1 / 3, 1.0])
    np.testing.assert_allclose(per["recall"], [1.0, 1 / 3])
    np.testing.assert_allclose(per["f1"], [0.5, 0.5])
    # class 2 never predicted nor present: 0/0 -> zero_division
    per = M.precision_recall_f1([0, 1], [0, 1], num_classes=3, average=None)
    assert per["precision"].tolist() == [1.0, 1.0, 0.0]
    assert M.f1_score([0, 1], [0, 1], num_classes=3) == pytest.approx(2 / 3)
    assert M.precision([0, 0], [0, 1]) == pytest.approx(0.5)
    assert M.recall([0, 0], [0, 1]) == pytest.approx(0.25)
    with pytest.raises(ConfigError):
        M.precision_recall_f1([0], [0], average="weighted")


def test_roc_auc_rank_based_with_ties():
    # pairs (pos, neg): pos scores [0.35, 0.8], neg [0.1, 0.4]: 0.35>0.1 yes, 0.35>0.4 no,
    # 0.8>both yes -> 3/4
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # ties count 1/2: pos 0.5 vs neg 0.5 tie, pos 0.5 vs neg 0.2 win -> 1.5/2
    assert M.roc_auc([1, 0, 0], [0.5, 0.5, 0.2]) == pytest.approx(0.75)
    assert M.roc_auc([1, 1, 0, 0], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.5)
    assert M.roc_auc([1, 0, 1, 0], [4, 1, 3, 2], mask=[True, True, False, False]) == 1.0
    assert math.isnan(M.roc_auc([1, 1], [0.2, 0.3]))


def test_roc_auc_equals_pair_count_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200), 1)  # rounding makes many ties
    pos, neg = s[y == 1], s[y == 0]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert M.roc_auc(y, s) == pytest.approx(pairs / (len(pos) * len(neg)))


def test_regression_metrics_by_hand():
    t = [1.0, 2.0, 4.0, 0.0]
    p = [2.0, 2.0, 2.0, 1.0]
    # errors 1, 0, 2, 1
    assert M.mae(t, p) == pytest.approx(1.0)
    assert M.rmse(t, p) == pytest.approx(math.sqrt((1 + 0 + 4 + 1) / 4))
    assert M.mape(t[:3], p[:3]) == pytest.approx(100 * (1 / 1 + 0 / 2 + 2 / 4) / 3)
    # smape: 2*1/3, 0, 2*2/6, 2*1/1
    assert M.smape(t, p) == pytest.approx(100 * (2 / 3 + 0 + 2 / 3 + 2) / 4)
    assert M.smape([0.0], [0.0]) == 0.0
    assert M.mae(t, p, mask=[True, True, False, False]) == pytest.approx(0.5)
    assert M.rmse(np.array(t), np.array(p).reshape(4, 1)) == pytest.approx(M.rmse(t, p))


def test_mase_by_hand():
    train = [1.0, 3.0, 2.0, 5.0]  # naive in-sample abs diffs 2, 1, 3 -> 2
    assert M.mase([6.0, 7.0], [5.0, 5.0], train) == pytest.approx(1.5 / 2)
    # seasonal (m=2): diffs |2-1|, |5-3| -> 1.5
    assert M.mase([6.0, 7.0], [5.0, 5.0], train, season=2) == pytest.approx(1.5 / 1.5)
    with pytest.raises(ShapeError):
        M.mase([1.0], [1.0], [1.0], season=1)


def test_perplexity_and_bits_per_character():
    assert M.perplexity(math.log(50.0)) == pytest.approx(50.0)
    assert M.bits_per_character(math.log(2.0)) == pytest.approx(1.0)
    assert M.bits_per_character(math.log(8.0)) == pytest.approx(3.0)


def test_bleu_through_sacrebleu():
    assert M.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    partial = M.bleu(["the cat sat on a mat"], ["the cat sat on the mat"])
    assert 0.0 < partial < 100.0
    # token lists and multiple references
    multi = M.bleu([["the", "cat", "sat", "on", "a", "mat"]],
                   [["the cat sat on the mat", "the cat sat on a mat"]])
    assert multi == pytest.approx(100.0)
    with pytest.raises(ShapeError):
        M.bleu(["a"], ["a", "b"])


def _stream(name, batches):
    metric = M.make_metric(name)
    for out, tgt in batches:
        metric.update(out, tgt)
    return metric.result()


def test_streaming_classification_matches_pure_functions():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 4, generator=gen)
    target = torch.randint(0, 4, (50,), generator=gen)
    target[::7] = -100
    batches = [(logits[i : i + 16], target[i : i + 16]) for i in range(0, 50, 16)]
    y, s = target.numpy(), logits.numpy()
    assert _stream("accuracy", batches) == pytest.approx(M.accuracy(y, s))
    assert _stream("f1", batches) == pytest.approx(M.f1_score(y, s, num_classes=4))
    assert _stream("precision", batches) == pytest.approx(M.precision(y, s, num_classes=4))
    assert _stream("recall", batches) == pytest.approx(M.recall(y, s, num_classes=4))


def test_streaming_binary_logits_and_auc():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(40, generator=gen)
    target = (torch.rand(40, generator=gen) < 0.5).float()
    batches = [(logits[:25], target[:25]), (logits[25:], target[25:])]
    assert _stream("accuracy", batches) == pytest.approx(
        M.accuracy(target.long().numpy(), (logits > 0).long().numpy())
    )
    assert _stream("auc", batches) == pytest.approx(M.roc_auc(target.numpy(), logits.numpy()))
    two_class = torch.stack([torch.zeros(40), logits], dim=1)
    assert _stream("roc_auc", [(two_class, target.long())]) == pytest.approx(
        M.roc_auc(target.numpy(), logits.numpy())
    )


def test_streaming_regression_and_tokens():
    gen = torch.Generator().manual_seed(2)
    pred = torch.randn(30, 1, generator=gen)
    true = torch.randn(30, generator=gen) + 3
    batches = [(pred[:10], true[:10]), (pred[10:], true[10:])]
    for name, fn in (("rmse", M.rmse), ("mae", M.mae), ("mape", M.mape), ("smape", M.smape)):
        assert _stream(name, batches) == pytest.approx(fn(true.numpy(), pred.numpy()))
    logits = torch.randn(2, 5, 7, generator=gen)
    tokens = torch.randint(0, 7, (2, 5), generator=gen)
    tokens[1, 3:] = -100
    nats = torch.nn.functional.cross_entropy(
        logits.reshape(-1, 7), tokens.reshape(-1), ignore_index=-100
    ).item()
    assert _stream("perplexity", [(logits, tokens)]) == pytest.approx(math.exp(nats), rel=1e-5)
    assert _stream("bpc", [(logits, tokens)]) == pytest.approx(nats / math.log(2), rel=1e-5)
    acc = (logits.argmax(-1) == tokens)[tokens != -100].float().mean().item()
    assert _stream("accuracy", [(logits, tokens)]) == pytest.approx(acc)


def test_streaming_state_round_trip():
    metric = M.make_metric("f1")
    metric.update(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
    clone = M.make_metric("f1")
    clone.load_state(metric.state())
    for m in (metric, clone):
        m.update(torch.tensor([[0.0, 3.0]]), torch.tensor([1]))
    assert clone.result() == metric.result()
    assert "name" not in metric.state()


def test_unknown_metric():
    with pytest.raises(ConfigError, match="unknown metric"):
        M.make_metric("top5")
