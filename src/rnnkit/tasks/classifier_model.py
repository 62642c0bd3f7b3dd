"""The many-to-one network behind ``TextClassifier`` and ``SequenceClassifier``.

One model, two front ends: token ids go through a padding-aware embedding, float features go in
as they are; then a recurrent encoder, pooling over time, dropout and a dense head: one linear
layer, or ULMFiT's batch-normalised two-layer head (``head="batchnorm"``).

    ids (B, T) --Embedding--> (B, T, E) --+
                                          +--> recurrent --> (B, T, D*H) --pool--> (B, D*H)
    features (B, T, F) -------------------+                                    --> logits (B, C)

Example:
    >>> import torch
    >>> net = RecurrentClassifier(num_classes=3, vocab_size=50, embedding_dim=8, hidden_size=4)
    >>> net(torch.randint(2, 50, (5, 7)), torch.tensor([7, 6, 5, 4, 1])).shape
    torch.Size([5, 3])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError
from rnnkit.nn.pooling import TimePooling
from rnnkit.nn.registry import make_layer
from rnnkit.nn.regularizers import embedding_dropout
from rnnkit.nn.windows import check_windowed, read_in_windows
from rnnkit.tasks.defaults import CLASSIFIER_HEADS
from rnnkit.train.finetune import stacked_layer_groups

#: The hidden width of the ``batchnorm`` head when ``head_hidden`` is not given (ULMFiT's 50).
BATCHNORM_HEAD_HIDDEN = 50
#: The dropout before the ``batchnorm`` head's output layer (ULMFiT's 0.1).
BATCHNORM_HEAD_DROPOUT = 0.1


class RecurrentClassifier(nn.Module):
    """Embedding or features -> recurrent encoder -> pooling -> dense head.

    Args:
        num_classes: C, the number of output logits.
        vocab_size: for token input, the embedding rows (id 0 is padding). Leave ``None`` and give
            ``input_size`` for float features.
        input_size: F, the feature size of float input.
        embedding_dim: E, the embedding width.
        cell, hidden_size, num_layers, bidirectional: the recurrent encoder (``cell``: a name of
            :data:`rnnkit.cells.CELLS`).
        pooling: ``last``, ``mean``, ``max``, ``attention`` or ``concat`` (``[last, max, mean]``,
            ULMFiT; see :class:`TimePooling`).
        dropout: on the embedding output, between layers, and before the head.
        recurrent_activation: passed to the cell (e.g. ``tanh`` for one classic GRU recipe).
        head_hidden: optional width of a dense tanh layer before the output (the ``batchnorm``
            head's ReLU layer: 50 when not given).
        head: ``linear`` (dropout, then the output layer, with ``head_hidden`` a tanh layer
            first) or ``batchnorm``, ULMFiT's head: the pooled features batch-normalised, dropout,
            a ReLU layer, batch norm, dropout 0.1, the output layer. Batch norm puts the three
            parts of ``concat`` pooling (a last state, a max, a mean: different scales) on one
            footing, which a fresh head on a pretrained encoder needs to learn quickly.
        embedding_dropout: whole words dropped in training (token input only).
        weight_drop: DropConnect on the encoder's recurrent weights, one mask per batch.
        window: None reads each sequence whole; ``N`` reads it ``N`` steps at a time with the
            state carried over and pools over all windows (BPT3C, :mod:`rnnkit.nn.windows`;
            unidirectional only; same result and gradients as reading whole).

    ``forward(x, lengths)``: ``x`` (B, T) int64 ids or (B, T, F) floats; ``lengths`` (B,) int64.
    Returns logits ``(B, C)``.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        vocab_size: int | None = None,
        input_size: int | None = None,
        embedding_dim: int = 128,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = True,
        pooling: str = "max",
        dropout: float = 0.0,
        recurrent_activation: str | None = None,
        head_hidden: int | None = None,
        embedding_dropout: float = 0.0,
        weight_drop: float = 0.0,
        window: int | None = None,
        head: str = "linear",
    ) -> None:
        super().__init__()
        check_windowed(window, pooling, bidirectional)
        if head not in CLASSIFIER_HEADS:
            raise ConfigError(f"head: expected one of {', '.join(CLASSIFIER_HEADS)}, got {head!r}")
        self.window = window
        if (vocab_size is None) == (input_size is None):
            raise ConfigError("give exactly one of vocab_size (token ids) or input_size (features)")
        if num_classes < 2:
            raise ConfigError(f"num_classes: need at least 2 classes, got {num_classes}")
        self.embedding = (
            nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            if vocab_size is not None
            else None
        )
        if self.embedding is not None:
            keras_embedding_init_(self.embedding)
        width = embedding_dim if vocab_size is not None else int(input_size)  # type: ignore[arg-type]
        options: dict[str, Any] = {"num_layers": num_layers, "bidirectional": bidirectional}
        if num_layers > 1:
            options["dropout"] = dropout
        if recurrent_activation is not None:
            options["recurrent_activation"] = recurrent_activation
        if weight_drop:
            options["weight_drop"] = weight_drop
        self.embedding_dropout = float(embedding_dropout)
        self.encoder = make_layer(cell, width, hidden_size, **options)
        features = hidden_size * (2 if bidirectional else 1)
        self.pool = TimePooling(pooling, features, directions=2 if bidirectional else 1)
        features *= self.pool.widening
        self.drop = nn.Dropout(dropout)
        self.norm = OneRowBatchNorm(features) if head == "batchnorm" else None
        layers: list[nn.Module] = []
        if head == "batchnorm":
            hidden = head_hidden or BATCHNORM_HEAD_HIDDEN
            layers += [nn.Linear(features, hidden), nn.ReLU(), OneRowBatchNorm(hidden),
                       nn.Dropout(BATCHNORM_HEAD_DROPOUT)]
            features = hidden
        elif head_hidden:
            layers += [nn.Linear(features, head_hidden), nn.Tanh()]
            features = head_hidden
        layers.append(nn.Linear(features, num_classes))
        self.head = nn.Sequential(*layers)

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The pooled sequence representation ``(B, D*H)`` before the head."""
        inputs = x
        if self.embedding is not None:
            if self.embedding_dropout:
                inputs = embedding_dropout(self.embedding, x, self.embedding_dropout,
                                           self.training)
            else:
                inputs = self.embedding(x)
            inputs = self.drop(inputs)
        if self.window is not None:
            return read_in_windows(self.encoder, inputs, lengths, self.window, self.pool.mode)
        # Pooling reads only the outputs (``last`` included), so the encoder may skip forming
        # its final state: that lets an LSTM run oneDNN's fused kernel through the padding.
        output, _ = self.encoder(inputs, lengths=lengths, return_state=False)
        return self.pool(output, None, lengths)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.classify(self.encode(x, lengths))

    def classify(self, pooled: Tensor) -> Tensor:
        """Logits ``(B, C)`` from the pooled representation ``(B, D*H)`` (see :meth:`encode`)."""
        if self.norm is not None:
            pooled = self.norm(pooled)
        return self.head(self.drop(pooled))

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """The parameters bottom to top: the embedding (token input), each recurrent layer (both
        directions), then pooling and head together; for discriminative learning rates and
        gradual unfreezing (``Trainer(layer_lr_decay=, unfreeze=)``)."""
        bottom = [list(self.embedding.parameters())] if self.embedding is not None else []
        norm = list(self.norm.parameters()) if self.norm is not None else []
        top = [*self.pool.parameters(), *norm, *self.head.parameters()]
        return [*bottom, *stacked_layer_groups(self.encoder), top]


class OneRowBatchNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` that also trains on a batch of one row, normalising it with the running
    statistics (torch raises there: one row has no variance). A data set of 65 texts in batches
    of 64 ends every epoch with such a batch.

    Example:
        >>> norm = OneRowBatchNorm(3)
        >>> norm(torch.ones(1, 3)).shape
        torch.Size([1, 3])
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.shape[0] == 1:
            return nn.functional.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                            self.bias, False, 0.0, self.eps)
        return super().forward(x)


def keras_embedding_init_(embedding: nn.Embedding, scale: float = 0.05) -> None:
    """Keras' embedding initializer, uniform(-0.05, 0.05), with the padding row kept at zero.

    torch's default N(0, 1) rows are ~20x larger: they saturate tanh cells from the first step,
    and a SimpleRNN on IMDB then stalls near 74% instead of the Keras book's ~85%.
    """
    with torch.no_grad():
        nn.init.uniform_(embedding.weight, -scale, scale)
        if embedding.padding_idx is not None:
            embedding.weight[embedding.padding_idx].zero_()
