"""The network of :class:`rnnkit.tasks.LanguageModel`: embedding (or one-hot) -> stacked recurrent
layers (or :class:`rnnkit.nn.ResidualBlocks`) -> dropout -> a dense layer over the vocabulary (or
an adaptive softmax), with the state carried between calls for truncated BPTT, and the AWD-LSTM
regularisers as options.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import Linear
from rnnkit.nn.blocks import DEFAULT_CONV_KERNEL, ResidualBlocks, check_block_cell
from rnnkit.nn.registry import make_layer
from rnnkit.nn.regularizers import LockedDropout, activation_penalty, embedding_dropout
from rnnkit.train.finetune import stacked_layer_groups
from rnnkit.train.metrics import IGNORE_INDEX

State = Tensor | tuple[Tensor, Tensor]


class RecurrentLanguageModel(nn.Module):
    """Embedding (or one-hot) -> stacked recurrent layers -> dropout -> dense over the vocabulary.

    Args:
        vocab_size: V, the number of token ids (0 = padding, 1 = OOV included).
        embedding_dim: E; ``None`` feeds one-hot vectors (fine for small character vocabularies).
        cell: a name of :data:`rnnkit.cells.CELLS` (``lstm``, ``gru``, ``mingru``, ...; the
            cells linear in their state train with a parallel scan and generate with their step
            form). hidden_size: H. num_layers: L.
        dropout: on the embeddings, between layers and before the output layer (training only).
        tie_weights: share the embedding matrix with the output layer (needs E == H).
        locked_dropout: draw those three dropouts once per sequence (variational), not per step.
        embedding_dropout: drop whole words (rows of the embedding matrix), in training.
        weight_drop: DropConnect on the recurrent weights, one mask per batch (see
            :mod:`rnnkit.nn.regularizers`).
        ar, tar: weights of the activation and temporal activation penalties on the top layer's
            outputs, returned by :meth:`regularization_loss` after each training call.
        output: ``full`` (a dense layer over the vocabulary) or ``adaptive``
            (``torch.nn.AdaptiveLogSoftmaxWithLoss``: frequent words in the head, the others in
            tail clusters of smaller width, so a training step does not cost the whole vocabulary;
            needs ids ordered by frequency, as :class:`rnnkit.data.Vocabulary` gives them).
        cutoffs: the adaptive softmax's cluster bounds, increasing ids in [1, V - 1].
        block: ``plain`` (the recurrent layers stacked, each reading the one below) or
            ``residual`` (:class:`rnnkit.nn.blocks.ResidualBlocks`: pre-norm residual blocks,
            each a causal convolution of width ``conv_kernel`` in front of the recurrence; the
            better stack for the scan cells, see docs/lm.md "Results"). ``dropout`` then also
            drops each block's recurrence output; ``locked_dropout`` and ``weight_drop`` are for
            ``plain``.

    With ``output="full"``, ``forward`` returns logits ``(B, T, V)`` for ``loss_function()`` =
    ``"cross_entropy"``; with ``output="adaptive"`` it returns the dropped top-layer outputs
    ``(B, T, H)`` and ``loss_function()`` is an :class:`AdaptiveLoss` over them. ``run`` returns
    scores over the whole vocabulary either way (logits, or log-probabilities for ``adaptive``).

    ``run(x, state)`` is the pure step: ``x`` (B, T) int64 ids and the state (``h`` (L, B, S), or
    ``(h, c)`` for LSTM; S = H except for an LRU's 2N, and with ``block="residual"`` each block's
    conv window and cell state, :attr:`ResidualBlocks.state_size`; None = zeros) ->
    ``(logits (B, T, V), new state)``.

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
        locked_dropout: bool = False,
        embedding_dropout: float = 0.0,
        weight_drop: float = 0.0,
        ar: float = 0.0,
        tar: float = 0.0,
        output: str = "full",
        cutoffs: list[int] | tuple[int, ...] | None = None,
        block: str = "plain",
        conv_kernel: int = DEFAULT_CONV_KERNEL,
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
        self.rnn = _recurrent_stack(block, cell, width, hidden_size, num_layers=num_layers,
                                    dropout=dropout, locked_dropout=locked_dropout,
                                    weight_drop=weight_drop, conv_kernel=conv_kernel)
        self.drop: nn.Module = LockedDropout(dropout) if locked_dropout else nn.Dropout(dropout)
        self.embedding_dropout = float(embedding_dropout)
        self.ar, self.tar = float(ar), float(tar)
        self._penalty: Tensor | None = None
        self.output = output
        self.decoder: Linear | None = None
        self.adaptive: nn.AdaptiveLogSoftmaxWithLoss | None = None
        if output == "adaptive":
            self.adaptive = _adaptive_softmax(hidden_size, vocab_size, cutoffs, tie_weights)
        elif output == "full":
            self.decoder = Linear(hidden_size, vocab_size)
        else:
            raise ConfigError(f"output={output!r} is unknown; use 'full' or 'adaptive'")
        if tie_weights and self.decoder is not None:
            if self.embedding is None or embedding_dim != hidden_size:
                raise ConfigError(
                    f"tie_weights needs embedding_dim == hidden_size (got {embedding_dim} and "
                    f"{hidden_size}); set them equal or tie_weights=False"
                )
            self.decoder.weight = self.embedding.weight
        self._carried: State | None = None

    @property
    def _dtype(self) -> torch.dtype:
        return next(self.rnn.parameters()).dtype

    def _inputs(self, x: Tensor) -> Tensor:
        if self.embedding is None:
            return nn.functional.one_hot(x, self.vocab_size).to(self._dtype)
        if self.embedding_dropout:
            words = embedding_dropout(self.embedding, x, self.embedding_dropout, self.training)
            return self.drop(words)
        return self.drop(self.embedding(x))

    def features(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """The top layer's outputs after dropout ``(B, T, H)`` and the new state; in training
        with ``ar``/``tar``, leaves their penalty for :meth:`regularization_loss`."""
        if x.dim() != 2:
            raise ShapeError(f"x: expected token ids (B, T), got shape {tuple(x.shape)}")
        output, new_state = self.rnn(self._inputs(x), initial_state=state)
        dropped = self.drop(output)
        if self.training and (self.ar or self.tar):
            self._penalty = activation_penalty(dropped, output, self.ar, self.tar)
        return dropped, new_state

    def scores(self, features: Tensor) -> Tensor:
        """Scores over the vocabulary ``(..., V)`` from :meth:`features`: logits (``full``) or
        log-probabilities (``adaptive``, every word: use it to generate and inspect)."""
        if self.adaptive is not None:
            flat = self.adaptive.log_prob(features.reshape(-1, features.shape[-1]))
            return flat.reshape(*features.shape[:-1], self.vocab_size)
        assert self.decoder is not None
        return self.decoder(features)

    def run(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Scores ``(B, T, V)`` (see :meth:`scores`) and the state after the last step, from
        ``state`` (None = zeros)."""
        features, new_state = self.features(x, state)
        return self.scores(features), new_state

    def regularization_loss(self) -> Tensor | None:
        """The AR/TAR penalty of the last training call (once; None without ``ar``/``tar``)."""
        penalty, self._penalty = self._penalty, None
        return penalty

    def loss_function(self) -> Any:
        """What the Trainer's loss is for :meth:`forward`'s output: ``"cross_entropy"`` over
        logits, or the :class:`AdaptiveLoss` over features."""
        return "cross_entropy" if self.adaptive is None else AdaptiveLoss(self.adaptive)

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
            keep = (~reset.to(torch.bool)).to(self._dtype)[None, :, None]
            state = _map_state(lambda s: s * keep, state)
        features, new_state = self.features(x, state)
        self._carried = _map_state(lambda s: s.detach(), new_state)
        return features if self.adaptive is not None else self.scores(features)

    def reset_state(self) -> None:
        """Forget the carried state: the next call starts from zeros."""
        self._carried = None

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """The parameters bottom to top: the embedding (none for one-hot input), each recurrent
        layer, then the output layer; for discriminative learning rates and gradual unfreezing
        (``Trainer(layer_lr_decay=, unfreeze=)``, ``LanguageModel(layer_lr_decay=)``).

        With ``tie_weights`` the one matrix that is both the embedding and the output weight goes
        to the top group (there is then no embedding group), as in ULMFiT's reference code
        (fastai's ``awd_lstm_lm_split``): the softmax is what adapts first to a new text, and at
        the bottom the output weight would train at the lowest rate and gradual unfreezing would
        start with the output bias alone.

        Example:
            >>> net = RecurrentLanguageModel(20, hidden_size=4, embedding_dim=4, num_layers=2,
            ...                              tie_weights=True)
            >>> [len(g) for g in net.layer_groups()]
            [4, 4, 2]
        """
        output = self.adaptive if self.adaptive is not None else self.decoder
        assert output is not None
        top = list(output.parameters())
        in_top = {id(p) for p in top}
        bottom = ([p for p in self.embedding.parameters() if id(p) not in in_top]
                  if self.embedding is not None else [])
        stack = (self.rnn.layer_groups() if isinstance(self.rnn, ResidualBlocks)
                 else stacked_layer_groups(self.rnn))
        return [*([bottom] if bottom else []), *stack, top]


#: How the recurrent layers of a language model are put together (``block=``).
BLOCKS = ("plain", "residual")


def check_block_options(block: str, cell: str, conv_kernel: int, locked_dropout: bool,
                        weight_drop: float, prefix: str = "") -> None:
    """ConfigError (its message after ``prefix``) for a ``block`` unknown, or combined with the
    options of the other block: ``conv_kernel`` is for ``residual``, ``locked_dropout`` and
    ``weight_drop`` for ``plain``; residual blocks need a cell with one state tensor."""
    if block not in BLOCKS:
        raise ConfigError(f"{prefix}block={block!r} is unknown; use one of "
                          f"{', '.join(map(repr, BLOCKS))}")
    if block == "residual" and (locked_dropout or weight_drop):
        raise ConfigError(
            f"{prefix}block='residual' takes neither locked_dropout nor weight_drop (got "
            f"locked_dropout={locked_dropout}, weight_drop={weight_drop}); they are for "
            "block='plain'"
        )
    if block == "residual":
        try:
            check_block_cell(cell)
        except ConfigError as error:
            raise ConfigError(f"{prefix}block='residual': {error}") from None
    if block == "plain" and conv_kernel != DEFAULT_CONV_KERNEL:
        raise ConfigError(f"{prefix}conv_kernel={conv_kernel} is for block='residual'; drop it "
                          "or set block='residual'")


def _recurrent_stack(block: str, cell: str, width: int, hidden_size: int, *, num_layers: int,
                     dropout: float, locked_dropout: bool, weight_drop: float,
                     conv_kernel: int) -> nn.Module:
    check_block_options(block, cell, conv_kernel, locked_dropout, weight_drop)
    if block == "residual":
        return ResidualBlocks(cell, width, hidden_size, num_layers,
                              conv_kernel=operator.index(conv_kernel), dropout=dropout)
    options: dict[str, Any] = {"num_layers": num_layers}
    if num_layers > 1:
        options["dropout"] = dropout
    if locked_dropout:
        options["locked_dropout"] = True
    if weight_drop:
        options["weight_drop"] = weight_drop
    return make_layer(cell, width, hidden_size, **options)


def _adaptive_softmax(hidden_size: int, vocab_size: int, cutoffs: Any,
                      tie_weights: bool) -> nn.AdaptiveLogSoftmaxWithLoss:
    if tie_weights:
        raise ConfigError("tie_weights works with output='full' only; drop one of them")
    bounds = check_cutoffs(cutoffs, vocab_size)
    return nn.AdaptiveLogSoftmaxWithLoss(
        hidden_size, vocab_size, bounds, div_value=tail_divisor(hidden_size, len(bounds)),
        head_bias=True,
    )


class AdaptiveLoss:
    """Mean negative log-likelihood of the targets under an adaptive softmax: features
    ``(B, T, H)`` and target ids ``(B, T)`` (``-100`` ignored) -> a scalar.

    The adaptive softmax is a normalised distribution over the whole vocabulary, so this is its
    exact cross entropy (nats per token, perplexity = exp); only the cost is smaller. Named
    ``cross_entropy`` so that the Trainer averages epochs over tokens, as for the full softmax.
    """

    __name__ = "cross_entropy"

    def __init__(self, adaptive: nn.AdaptiveLogSoftmaxWithLoss) -> None:
        self.adaptive = adaptive

    def __call__(self, features: Tensor, target: Tensor) -> Tensor:
        flat_target = target.reshape(-1)
        keep = flat_target != IGNORE_INDEX
        flat = features.reshape(-1, features.shape[-1])
        if not bool(keep.all()):
            flat, flat_target = flat[keep], flat_target[keep]
        return self.adaptive(flat, flat_target).loss


def check_cutoffs(cutoffs: Any, vocab_size: int) -> list[int]:
    """``cutoffs`` as a list of increasing ints in [1, V - 1]; ConfigError naming it otherwise."""
    values = list(cutoffs) if isinstance(cutoffs, (list, tuple)) else None
    if (
        not values
        or not all(isinstance(c, int) and not isinstance(c, bool) for c in values)
        or values != sorted(set(values))
        or values[0] < 1
        or values[-1] > vocab_size - 1
    ):
        raise ConfigError(
            f"cutoffs={cutoffs!r}: expected increasing token ids between 1 and {vocab_size - 1} "
            "(the vocabulary size - 1), e.g. [2000, 10000]; or None to choose them by frequency"
        )
    return values


def tail_divisor(hidden_size: int, tails: int) -> float:
    """How much narrower each tail cluster is than the one before (``div_value``): 4 as in Grave
    et al. 2017, smaller when the last tail would otherwise have no width at all.

    Example:
        >>> tail_divisor(400, 2), tail_divisor(8, 2), tail_divisor(1, 3)
        (4.0, 2.0, 1.0)
    """
    for divisor in (4.0, 2.0):
        if hidden_size // int(divisor) ** tails >= 1:
            return divisor
    return 1.0


def frequency_cutoffs(counts: Any, shares: tuple[float, ...] = (0.8, 0.95)) -> list[int]:
    """Cluster bounds from token counts by id (ids ordered by frequency): the head holds the ids
    that cover ``shares[0]`` of the tokens, the next cluster up to ``shares[1]``, and so on.

    Example:
        >>> frequency_cutoffs([0, 50, 30, 10, 5, 3, 2])
        [3, 5]
    """
    import numpy as np

    counts = np.asarray(counts, dtype=np.float64)
    size = len(counts)
    if size < 3:
        raise ConfigError(f"an adaptive softmax needs at least 3 token ids, got {size}")
    covered = np.cumsum(counts) / max(float(counts.sum()), 1.0)
    bounds = [int(np.searchsorted(covered, share - 1e-12)) + 1 for share in shares]
    cutoffs = sorted({min(max(b, 1), size - 1) for b in bounds})
    return cutoffs


def _map_state(fn: Any, state: State) -> State:
    if isinstance(state, tuple):
        return tuple(fn(s) for s in state)  # type: ignore[return-value]
    return fn(state)


def _state_batch(state: State) -> int:
    return int((state[0] if isinstance(state, tuple) else state).shape[1])


__all__ = ["BLOCKS", "AdaptiveLoss", "RecurrentLanguageModel", "State", "check_block_options",
           "check_cutoffs", "frequency_cutoffs"]
