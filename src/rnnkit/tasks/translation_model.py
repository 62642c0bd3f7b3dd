"""The encoder-decoder network behind ``Translator``: three decoders, one encoder.

    source ids (B, S) --Embedding--> (bi)recurrent encoder --> memory (B, S, K), final state
    final state --bridge (Linear + tanh per layer)--> decoder initial state (L, B, S_h)

Any cell of :mod:`rnnkit.cells` works: the bridge maps each part of the encoder's state (``h``,
and ``c`` for an LSTM, each S_h wide: H, or 2N for a complex LRU) to the decoder's. A state that
is a memory (ssm, mlstm: :func:`rnnkit.nn.registry.state_is_memory`, S_h = O(H * N)) is bridged
through H (``Linear(D*S_h, H)`` then ``Linear(H, S_h)``; a square map would hold S_h^2 weights),
and the Bahdanau query is then the decoder's previous top output (zeros before the first step),
H wide, instead of its state.

- ``attention="bahdanau"`` (Bahdanau et al. 2015): at step t the previous top decoder state queries
  the memory with the additive score; ``[embedding(y_{t-1}); context]`` enters the recurrent
  cells; the output layer reads ``[h_t; context; embedding]``. Runs one step at a time.
- ``attention="luong"`` (Luong et al. 2015, no input feeding): the decoder runs over the whole
  target (the fused recurrent kernel under teacher forcing), then every ``h_t`` queries the
  memory (``general`` score by default) and ``tanh(W [context; h_t])`` feeds the output layer.
- ``attention="none"`` (Sutskever et al. 2014): the decoder sees the source only through its
  initial state, the fixed-size bottleneck attention removes.

``forward(x, lengths, y_in)`` returns logits ``(B, T, V)`` for teacher-forced training (the
Trainer's token-level cross entropy with -100 ignored); with ``teacher_forcing < 1`` in training
mode each step feeds the model's own previous prediction with probability ``1 - ratio``.
For decoding, :meth:`Seq2Seq.start` encodes a batch and :meth:`Seq2Seq.step` advances one
token; the carried state is a dict of tensors with the batch on dim 0 (so beam search reorders
it with ``index_select``).

Example:
    >>> import torch
    >>> net = Seq2Seq(20, 30, hidden_size=8, embedding_dim=6)
    >>> x, lengths = torch.randint(4, 20, (3, 5)), torch.tensor([5, 2, 4])
    >>> y_in = torch.randint(4, 30, (3, 7))
    >>> net(x, lengths, y_in).shape
    torch.Size([3, 7, 30])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.cells import check_cell
from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import Linear
from rnnkit.nn.attention import make_attention
from rnnkit.nn.masking import mask_from_lengths
from rnnkit.nn.registry import make_layer, state_is_memory, state_parts, state_size, step_cell

ATTENTIONS = ("bahdanau", "luong", "none")
DEFAULT_SCORE = {"bahdanau": "additive", "luong": "general", "none": None}
Carry = dict[str, Tensor]


class Seq2Seq(nn.Module):
    """Encoder-decoder with optional attention (see the module docstring).

    Args:
        source_vocab, target_vocab: vocabulary sizes (0 = padding, 1 = OOV, 2 = <bos>, 3 = <eos>).
        attention: ``bahdanau``, ``luong`` or ``none``. score: ``additive``, ``general`` or ``dot``
            (default: additive for bahdanau, general for luong).
        cell: a name of :data:`rnnkit.cells.CELLS`. hidden_size: H (encoder per direction and
            decoder).
        embedding_dim: E (both sides). num_layers: L (encoder and decoder).
        bidirectional: the encoder. dropout: on embeddings, between layers, before the output.
        teacher_forcing: probability of feeding the gold previous token during training.
        bos_id, eos_id: the target's start and end tokens.
    """

    def __init__(
        self,
        source_vocab: int,
        target_vocab: int,
        *,
        attention: str = "bahdanau",
        score: str | None = None,
        cell: str = "gru",
        hidden_size: int = 256,
        embedding_dim: int = 256,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        teacher_forcing: float = 1.0,
        bos_id: int = 2,
        eos_id: int = 3,
    ) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise ConfigError(f"attention={attention!r} is unknown; "
                              f"use one of {', '.join(ATTENTIONS)}")
        check_cell(cell)
        if not 0.0 <= teacher_forcing <= 1.0:
            raise ConfigError(f"teacher_forcing={teacher_forcing} must be in [0, 1]")
        self.attention_type = attention
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.directions = 2 if bidirectional else 1
        self.teacher_forcing = teacher_forcing
        self.bos_id, self.eos_id = bos_id, eos_id
        self.target_vocab = target_vocab
        H, E, L = hidden_size, embedding_dim, num_layers
        K = H * self.directions
        layer_options: dict[str, Any] = {"num_layers": L}
        if L > 1:
            layer_options["dropout"] = dropout
        self.source_embedding = nn.Embedding(source_vocab, E, padding_idx=0)
        self.target_embedding = nn.Embedding(target_vocab, E, padding_idx=0)
        self.encoder = make_layer(cell, E, H, bidirectional=bidirectional, **layer_options)
        S = state_size(self.encoder)  # each state part's width: H, or 2N for a complex LRU
        self.memory_state = state_is_memory(self.encoder)  # ssm, mlstm: S >> H
        self.bridge = self._make_bridge(S)
        self.bridge_cell = self._make_bridge(S) if state_parts(self.encoder) == 2 else None
        self.drop = nn.Dropout(dropout)
        self.attention: nn.Module | None = None
        if attention == "bahdanau":
            query = H if self.memory_state else S  # a memory state is no query: the output is
            self.attention = make_attention(score or "additive", query, K)
            self.cells = nn.ModuleList(
                step_cell(cell, E + K if i == 0 else H, H) for i in range(L)
            )
            self.output = Linear(H + K + E, target_vocab)
        else:
            self.decoder = make_layer(cell, E, H, **layer_options)
            if attention == "luong":
                self.attention = make_attention(score or "general", H, K)
                self.combine = nn.Linear(H + K, H)
            self.output = Linear(H, target_vocab)

    def _make_bridge(self, S: int) -> nn.Module:
        """The map of the D encoder directions' state parts (D*S) to a decoder layer's (S)."""
        if self.memory_state:
            H = self.hidden_size
            return nn.Sequential(nn.Linear(self.directions * S, H), nn.Linear(H, S))
        return nn.Linear(self.directions * S, S)

    # ------------------------------------------------------------------ encoder
    def start(self, x: Tensor, lengths: Tensor | None = None) -> Carry:
        """Encode a source batch ``x`` (B, S) into the decoder's carried state."""
        if x.dim() != 2:
            raise ShapeError(f"x: expected source ids (B, S), got shape {tuple(x.shape)}")
        B, S = x.shape
        if lengths is None:
            lengths = torch.full((B,), S, dtype=torch.int64)
        memory, state = self.encoder(self.drop(self.source_embedding(x)), lengths=lengths)
        carry: Carry = {"memory": memory, "mask": mask_from_lengths(lengths.cpu(), S).to(x.device)}
        h, c = (state if isinstance(state, tuple) else (state, None))
        carry["h"] = self._bridge(h, self.bridge, torch.tanh)
        if c is not None and self.bridge_cell is not None:
            carry["c"] = self._bridge(c, self.bridge_cell, None)
        if self.attention is not None:
            carry["prepared"] = self.attention.prepare(memory)  # type: ignore[operator]
        if self.attention_type == "bahdanau" and self.memory_state:
            carry["out"] = memory.new_zeros(B, self.hidden_size)  # the query of the first step
        return carry

    def _bridge(self, final: Tensor, linear: nn.Module, act: Any) -> Tensor:
        """(L*D, B, S) final encoder states -> (B, L, S) decoder initial states."""
        L, D = self.num_layers, self.directions
        B, H = final.shape[1], final.shape[2]
        joined = final.view(L, D, B, H).permute(2, 0, 1, 3).reshape(B, L, D * H)
        out = linear(joined)
        return act(out) if act is not None else out

    # ------------------------------------------------------------------ decoder
    def _state(self, carry: Carry) -> Any:
        h = carry["h"].transpose(0, 1).contiguous()  # (L, B, H)
        return (h, carry["c"].transpose(0, 1).contiguous()) if "c" in carry else h

    def _store(self, carry: Carry, state: Any) -> Carry:
        new = dict(carry)
        if isinstance(state, tuple):
            new["h"], new["c"] = state[0].transpose(0, 1), state[1].transpose(0, 1)
        else:
            new["h"] = state.transpose(0, 1)
        return new

    def step(self, tokens: Tensor, carry: Carry) -> tuple[Tensor, Carry, Tensor | None]:
        """One decoder step: previous tokens (B,) -> logits (B, V), new carry, weights (B, S)."""
        emb = self.drop(self.target_embedding(tokens))
        if self.attention_type == "bahdanau":
            return self._bahdanau_step(emb, carry)
        output, state = self.decoder(emb.unsqueeze(1), initial_state=self._state(carry))
        logits, weights = self._readout(output, carry)
        return (
            logits.squeeze(1),
            self._store(carry, state),
            (None if weights is None else weights.squeeze(1)),
        )

    def _bahdanau_step(self, emb: Tensor, carry: Carry) -> tuple[Tensor, Carry, Tensor]:
        assert self.attention is not None
        h = carry["h"]  # (B, L, S)
        query = carry["out"] if self.memory_state else h[:, -1]
        context, weights = self.attention(
            query, carry["memory"], mask=carry["mask"], prepared=carry["prepared"]
        )
        layer_input = torch.cat([emb, context], dim=-1)
        new_h, new_c = [], []
        for i, cell in enumerate(self.cells):
            if i:
                layer_input = self.drop(layer_input)
            if "c" in carry:
                out, (hi, ci) = cell(layer_input, (h[:, i], carry["c"][:, i]))
                new_c.append(ci)
            else:
                out, hi = cell(layer_input, h[:, i])
            new_h.append(hi)
            layer_input = out
        new = dict(carry)
        new["h"] = torch.stack(new_h, dim=1)
        if self.memory_state:
            new["out"] = layer_input
        if new_c:
            new["c"] = torch.stack(new_c, dim=1)
        logits = self.output(self.drop(torch.cat([layer_input, context, emb], dim=-1)))
        return logits, new, weights

    def _readout(self, output: Tensor, carry: Carry) -> tuple[Tensor, Tensor | None]:
        """Decoder outputs (B, T, H) -> logits (B, T, V) and attention weights (B, T, S)."""
        if self.attention is None:
            return self.output(self.drop(output)), None
        context, weights = self.attention(
            output, carry["memory"], mask=carry["mask"], prepared=carry["prepared"]
        )
        combined = torch.tanh(self.combine(torch.cat([context, output], dim=-1)))
        return self.output(self.drop(combined)), weights

    # ------------------------------------------------------------------ training
    def forward(
        self, x: Tensor, lengths: Tensor | None = None, y_in: Tensor | None = None
    ) -> Tensor:
        """Teacher-forced logits (B, T, V) for decoder inputs ``y_in`` = ``<bos> w1 .. w_{T-1}``."""
        if y_in is None:
            raise ShapeError("y_in: the decoder inputs (B, T) are needed for the training forward")
        carry = self.start(x, lengths)
        sample = self.training and self.teacher_forcing < 1.0
        if self.attention_type != "bahdanau" and not sample:
            emb = self.drop(self.target_embedding(y_in))
            output, _ = self.decoder(emb, initial_state=self._state(carry))
            return self._readout(output, carry)[0]
        steps = []
        tokens = y_in[:, 0]
        for t in range(y_in.shape[1]):
            logits, carry, _ = self.step(tokens, carry)
            steps.append(logits)
            if t + 1 < y_in.shape[1]:
                tokens = y_in[:, t + 1]
                if sample:
                    own = logits.detach().argmax(-1)
                    use_gold = (
                        torch.rand(tokens.shape[0], device=tokens.device) < self.teacher_forcing
                    )
                    tokens = torch.where(use_gold | (tokens == 0), tokens, own)
        return torch.stack(steps, dim=1)

    def reorder(self, carry: Carry, index: Tensor) -> Carry:
        """Select/reorder batch rows of the carried state (beam search)."""
        return {k: v.index_select(0, index) for k, v in carry.items()}


__all__ = ["Seq2Seq", "ATTENTIONS", "DEFAULT_SCORE"]
