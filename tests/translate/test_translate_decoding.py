"""Greedy and beam search: beam 1 is greedy, beam finds the best hypothesis, scores are consistent.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from rnnkit.tasks.decoding import beam_search, greedy_search
from rnnkit.tasks.translation_model import Seq2Seq

BOS, EOS = 2, 3


def tiny(attention: str, seed: int, vocab: int = 7, scale: float = 3.0) -> Seq2Seq:
    torch.manual_seed(seed)
    net = Seq2Seq(9, vocab, attention=attention, hidden_size=6, embedding_dim=4).double().eval()
    with torch.no_grad():  # peaky distributions so that greedy and beam disagree sometimes
        net.output.weight.mul_(scale)
    return net


def teacher_forced_score(
    net: Seq2Seq, x: torch.Tensor, lengths: torch.Tensor, tokens: list[int], finished: bool
) -> float:
    """Sum of log-probabilities of ``tokens`` (+ <eos> when finished), pad and <bos> banned."""
    seq = tokens + ([EOS] if finished else [])
    y_in = torch.tensor([[BOS] + seq[:-1]])
    with torch.no_grad():
        logits = net(x, lengths, y_in)[0].double()
    logits[:, 0] = -math.inf
    logits[:, BOS] = -math.inf
    logp = torch.log_softmax(logits, -1)
    return float(sum(logp[t, tok] for t, tok in enumerate(seq)))


@pytest.mark.parametrize("attention", ["bahdanau", "luong", "none"])
def test_beam_of_one_equals_greedy(attention: str) -> None:
    net = tiny(attention, seed=3)
    x = torch.randint(4, 9, (5, 6))
    lengths = torch.tensor([6, 4, 1, 3, 5])
    greedy = greedy_search(net, x, lengths, max_length=8)
    beam = beam_search(net, x, lengths, beam_size=1, max_length=8)
    assert [h.tokens for h in greedy] == [h.tokens for h in beam]
    for g, b in zip(greedy, beam, strict=True):
        assert g.score == pytest.approx(b.score, abs=1e-9)
        assert g.weights.shape == b.weights.shape
        if attention != "none":
            assert g.weights.shape == (len(g.tokens) + (1 if g.finished else 0),
                                       6 if g is greedy[0] else g.weights.shape[1])
            assert (g.weights.sum(-1) == pytest.approx(1.0))


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_scores_are_the_model_log_probabilities(attention: str) -> None:
    net = tiny(attention, seed=4)
    x, lengths = torch.randint(4, 9, (3, 5)), torch.tensor([5, 2, 4])
    for hyp, row in zip(
        beam_search(net, x, lengths, beam_size=3, max_length=6), range(3), strict=True
    ):
        expected = teacher_forced_score(net, x[row : row + 1, : int(lengths[row])],
                                        lengths[row : row + 1], hyp.tokens, hyp.finished)
        assert hyp.score == pytest.approx(expected, abs=1e-9)


def test_exhaustive_beam_returns_the_highest_scoring_hypothesis() -> None:
    """Generatable {[UNK], <eos>, 4, 5, 6}, 3 steps: a beam of 32 keeps all 21 two-step prefixes,
    so it is exact."""
    found_better_than_greedy = False
    for seed in range(6):
        net = tiny("bahdanau", seed=seed, scale=4.0)
        x, lengths = torch.randint(4, 9, (1, 4)), torch.tensor([4])
        best = beam_search(net, x, lengths, beam_size=32, max_length=3, length_penalty=0.0)[0]
        candidates = []
        for n in range(0, 3):  # finished: n tokens then <eos>
            candidates += [(list(c), True) for c in itertools.product([1, 4, 5, 6], repeat=n)]
        candidates += [(list(c), False) for c in itertools.product([1, 4, 5, 6], repeat=3)]
        scored = [(teacher_forced_score(net, x, lengths, c, f), c, f) for c, f in candidates]
        top_score, top_tokens, top_finished = max(scored, key=lambda s: s[0])
        assert best.tokens == top_tokens and best.finished == top_finished
        assert best.score == pytest.approx(top_score, abs=1e-9)
        greedy = greedy_search(net, x, lengths, max_length=3)[0]
        assert greedy.score <= best.score + 1e-12
        found_better_than_greedy |= greedy.score < best.score - 1e-6
    assert found_better_than_greedy  # the test exercises a case where greedy is not optimal


class TableDecoder:
    """A hand-set decoder: next-token probabilities depend only on the previous token.

    Greedy takes "4" (0.6) then is stuck with 0.2-probability continuations; beam search finds
    "5 <eos>" (0.4 x 0.9 = 0.36 > 0.6 x 0.5 = 0.30 for the best path through 4).
    """

    bos_id, eos_id = BOS, EOS
    table = {
        BOS: {4: 0.6, 5: 0.4},
        4: {4: 0.5, 5: 0.25, EOS: 0.25},
        5: {EOS: 0.9, 4: 0.1},
    }

    def start(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"last": torch.full((x.shape[0],), BOS)}

    def step(self, tokens: torch.Tensor, carry: dict[str, torch.Tensor]):
        logits = torch.full((len(tokens), 6), -1e9, dtype=torch.float64)
        for row, tok in enumerate(tokens.tolist()):
            for nxt, p in self.table.get(tok, {EOS: 1.0}).items():
                logits[row, nxt] = math.log(p)
        return logits, {"last": tokens}, None

    def reorder(self, carry, index):
        return {k: v.index_select(0, index) for k, v in carry.items()}


def test_beam_beats_greedy_on_a_hand_set_decoder() -> None:
    dec = TableDecoder()
    x, lengths = torch.zeros(2, 3, dtype=torch.int64), torch.tensor([3, 3])
    greedy = greedy_search(dec, x, lengths, max_length=2)
    assert greedy[0].tokens == [4, 4] and not greedy[0].finished
    beam = beam_search(dec, x, lengths, beam_size=2, max_length=4, length_penalty=0.0)
    assert [h.tokens for h in beam] == [[5], [5]]
    assert beam[0].score == pytest.approx(math.log(0.36))
    assert beam[0].weights.shape == (0, 3)
