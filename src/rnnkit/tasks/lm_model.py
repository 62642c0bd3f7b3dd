"""The network of :class:`rnnkit.tasks.LanguageModel`: embedding (or one-hot) -> stacked recurrent
layers -> dropout -> a dense layer over the vocabulary, with the state carried between calls for
truncated BPTT.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import Linear
from rnnkit.tasks.classifier_model import recurrent_layer

State = Tensor | tuple[Tensor, Tensor]


class RecurrentLanguageModel(nn.Module):
    """Embedding (or one-hot) -> stacked recurrent layers -> dropout -> dense over the vocabulary.

    Args:
        vocab_size: V, the number of token ids (0 = padding, 1 = OOV included).
        embedding_dim: E; ``None`` feeds one-hot vectors (fine for small character vocabularies).
        cell: ``lstm``, ``gru`` or ``rnn`` (``rnnkit.nn`` layers). hidden_size: H. num_layers: L.
        dropout: on the embeddings, between layers and before the output layer (training only).
        tie_weights: share the embedding matrix with the output layer (needs E == H).

    ``run(x, state)`` is the pure step: ``x`` (B, T) int64 ids and the state (``h`` (L, B, H), or
    ``(h, c)`` for LSTM; None = zeros) -> ``(logits (B, T, V), new state)``.

    ``forward(x, reset=None)`` is the stateful call the Trainer makes: it starts from the state the
    previous call left (detached), zeroed for the rows where ``reset`` (B,) bool is True, and
    keeps the new state for the next call. :meth:`reset_state` forgets it.

    Example:
        >>> import torch
        >>> net = RecurrentLanguageModel(10, embedding_dim=4, hidden_size=8)
        >>> x = torch.randint(2, 10, (3, 6))
        >>> full, _ = net.run(x)
        >>> first = net(x[:, :4], reset=torch.ones(3, dtype=torch.bool))
        >>> rest = net(x[:, 4:])                     # continues where the first call stopped
        >>> torch.allclose(torch.cat([first, rest], 1), full, atol=1e-6)
        True
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        embedding_dim: int | None = 64,
        cell: str = "lstm",
        hidden_size: int = 256,
        num_layers: int = 2,
        dropout: float = 0.0,
        tie_weights: bool = False,
    ) -> None:
        super().__init__()
        if vocab_size < 3:
            raise ConfigError(f"vocab_size={vocab_size}: need padding, OOV and at least one token")
        self.vocab_size = vocab_size
        if embedding_dim:
            self.embedding: nn.Embedding | None = nn.Embedding(vocab_size, embedding_dim)
            width = embedding_dim
        else:
            self.embedding = None
            width = vocab_size
        options: dict[str, Any] = {"num_layers": num_layers}
        if num_layers > 1:
            options["dropout"] = dropout
        self.rnn = recurrent_layer(cell, width, hidden_size, **options)
        self.drop = nn.Dropout(dropout)
        self.decoder = Linear(hidden_size, vocab_size)
        if tie_weights:
            if self.embedding is None or embedding_dim != hidden_size:
                raise ConfigError(
                    f"tie_weights needs embedding_dim == hidden_size (got {embedding_dim} and "
                    f"{hidden_size}); set them equal or tie_weights=False"
                )
            self.decoder.weight = self.embedding.weight
        self._carried: State | None = None

    def _inputs(self, x: Tensor) -> Tensor:
        if self.embedding is not None:
            return self.drop(self.embedding(x))
        return nn.functional.one_hot(x, self.vocab_size).to(self.decoder.weight.dtype)

    def run(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Logits ``(B, T, V)`` and the state after the last step, from ``state`` (None = zeros)."""
        if x.dim() != 2:
            raise ShapeError(f"x: expected token ids (B, T), got shape {tuple(x.shape)}")
        output, new_state = self.rnn(self._inputs(x), initial_state=state)
        return self.decoder(self.drop(output)), new_state

    def forward(self, x: Tensor, reset: Tensor | None = None) -> Tensor:
        state = self._carried
        batch = x.shape[0]
        if state is not None and _state_batch(state) != batch:
            if reset is None or not bool(reset.all()):
                raise ShapeError(
                    f"x: batch of {batch} rows, but the carried state has {_state_batch(state)}; "
                    "pass reset=True for every row (or call reset_state()) when the batch changes"
                )
            state = None
        if state is not None and reset is not None and bool(reset.any()):
            keep = (~reset.to(torch.bool)).to(self.decoder.weight.dtype)[None, :, None]
            state = _map_state(lambda s: s * keep, state)
        logits, new_state = self.run(x, state)
        self._carried = _map_state(lambda s: s.detach(), new_state)
        return logits

    def reset_state(self) -> None:
        """Forget the carried state: the next call starts from zeros."""
        self._carried = None


def _map_state(fn: Any, state: State) -> State:
    if isinstance(state, tuple):
        return tuple(fn(s) for s in state)  # type: ignore[return-value]
    return fn(state)


def _state_batch(state: State) -> int:
    return int((state[0] if isinstance(state, tuple) else state).shape[1])


__all__ = ["RecurrentLanguageModel", "State"]
