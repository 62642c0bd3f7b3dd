"""Bidirectional and stacked recurrent layers, and the PyTorch-shaped ``RNN``, ``LSTM``, ``GRU``.

Three levels, each usable alone (as in PyTorch's ``custom_lstms.py`` and Flax):

* a one-direction layer (:class:`RNNLayer`, :class:`LSTMLayer`, :class:`GRULayer`);
* :class:`Bidirectional`: a forward and a reverse layer over the same input, outputs concatenated
  (B, T, 2H); the reverse layer reads each sequence backwards *within its own length*;
* :class:`Stacked`: layers applied one after another, each reading the previous one's output.

``RNN``, ``LSTM`` and ``GRU`` build a ``Stacked`` of (optionally bidirectional) layers with the
signature, parameter names and state layout of ``torch.nn.RNN/LSTM/GRU(batch_first=True)``:

    output (B, T, D*H), zeros at padding;  state h (L*D, B, H)  (LSTM: a tuple (h, c))
    parameters weight_ih_l{k}[_reverse], weight_hh_l{k}[_reverse], bias_ih_..., bias_hh_...

``stateful=True`` makes a layer remember its final state and start the next call from it (for long
streams cut into chunks); gradients never flow across calls. ``reset_states()`` forgets it.

Example:
    >>> import numpy as np
    >>> from rnnkit.scratch import LSTM
    >>> lstm = LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    >>> out, (h, c) = lstm(np.ones((2, 5, 3)), lengths=np.array([5, 3]))
    >>> out.shape, h.shape
    ((2, 5, 8), (4, 2, 4))
    >>> sorted(lstm.state_dict())[:2]
    ['bias_hh_l0', 'bias_hh_l0_reverse']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ScratchError
from .gru import GRULayer
from .lstm import LSTMLayer
from .module import Module, Rng, make_rng
from .recurrent import RecurrentLayer, State
from .rnn import RNNLayer


def _split_state(state: State | None, start: int, stop: int) -> State | None:
    if state is None:
        return None
    if isinstance(state, tuple | list):
        return tuple(np.asarray(s)[start:stop] for s in state)
    return np.asarray(state)[start:stop]


def _concat_states(states: Sequence[State]) -> State:
    if isinstance(states[0], tuple):
        return tuple(np.concatenate(parts, axis=0) for parts in zip(*states, strict=True))
    return np.concatenate(states, axis=0)


class Bidirectional(Module):
    """A forward and a reverse one-direction layer over the same input; outputs concatenated.

    ``forward(x, lengths, initial_state)`` -> ``(output (B, T, 2H), state (2, B, H))``.
    The wrapper sets ``backward_layer.reverse = True`` and gives both the same layer index.
    """

    def __init__(self, forward_layer: RecurrentLayer, backward_layer: RecurrentLayer) -> None:
        super().__init__()
        if type(forward_layer) is not type(backward_layer):
            raise ScratchError("Bidirectional: both directions must be the same kind of layer")
        forward_layer.reverse, backward_layer.reverse = False, True
        self.forward_layer, self.backward_layer = forward_layer, backward_layer
        self.hidden_size = forward_layer.hidden_size
        self.input_size = forward_layer.input_size
        self.layer_index = forward_layer.layer_index

    @property
    def layer_index(self) -> int:
        return self.forward_layer.layer_index

    @layer_index.setter
    def layer_index(self, value: int) -> None:
        self.forward_layer.layer_index = self.backward_layer.layer_index = value

    @property
    def num_directions(self) -> int:
        return 2

    def children(self) -> list[tuple[str, Module]]:
        return [("", self.forward_layer), ("", self.backward_layer)]

    def forward(
        self, x: np.ndarray, lengths: np.ndarray | None = None, initial_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        out_f, state_f = self.forward_layer(x, lengths, _split_state(initial_state, 0, 1))
        out_b, state_b = self.backward_layer(x, lengths, _split_state(initial_state, 1, 2))
        return np.concatenate([out_f, out_b], axis=-1), _concat_states([state_f, state_b])

    def backward(
        self, d_output: np.ndarray | None = None, d_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        hidden = self.hidden_size
        d_f = None if d_output is None else d_output[..., :hidden]
        d_b = None if d_output is None else d_output[..., hidden:]
        dx_f, d_init_f = self.forward_layer.backward(d_f, _split_state(d_state, 0, 1))
        dx_b, d_init_b = self.backward_layer.backward(d_b, _split_state(d_state, 1, 2))
        return dx_f + dx_b, _concat_states([d_init_f, d_init_b])


class Stacked(Module):
    """Recurrent layers (one-direction or :class:`Bidirectional`) applied one after another.

    Final states are concatenated layer by layer: (L*D, B, H), as in PyTorch. The wrapper numbers
    the layers (``_l0``, ``_l1``, ...) so the parameter names match ``torch.nn.LSTM``.
    """

    def __init__(
        self, layers: Sequence[RecurrentLayer | Bidirectional], *, stateful: bool = False
    ) -> None:
        super().__init__()
        if not layers:
            raise ScratchError("Stacked: give at least one layer")
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            layer.layer_index = index
            if index and layer.input_size != self.layers[index - 1].hidden_size * (
                self.layers[index - 1].num_directions
            ):
                raise ScratchError(
                    f"Stacked: layer {index} expects input_size "
                    f"{self.layers[index - 1].hidden_size * self.layers[index - 1].num_directions}"
                )
        self.stateful = stateful
        self._carried: State | None = None

    @property
    def num_directions(self) -> int:
        return self.layers[0].num_directions

    @property
    def hidden_size(self) -> int:
        return self.layers[-1].hidden_size

    @property
    def input_size(self) -> int:
        return self.layers[0].input_size

    @property
    def output_size(self) -> int:
        return self.layers[-1].hidden_size * self.layers[-1].num_directions

    def children(self) -> list[tuple[str, Module]]:
        return [("", layer) for layer in self.layers]

    def reset_states(self) -> None:
        """Forget the carried state of a stateful layer."""
        self._carried = None

    def forward(
        self, x: np.ndarray, lengths: np.ndarray | None = None, initial_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        """``x`` (B, T, F) -> ``(output (B, T, D*H), state (L*D, B, H) or (h, c))``."""
        if initial_state is None and self.stateful and self._carried is not None:
            carried = self._carried
            first = carried[0] if isinstance(carried, tuple) else carried
            if first.shape[1] != np.shape(x)[0]:
                raise ScratchError(
                    "stateful: the batch size changed; call reset_states() between streams"
                )
            initial_state = carried
        states = []
        d = self.num_directions
        for index, layer in enumerate(self.layers):
            x, state = layer(x, lengths, _split_state(initial_state, index * d, (index + 1) * d))
            states.append(state)
        final = _concat_states(states)
        if self.stateful:
            self._carried = (
                tuple(s.copy() for s in final) if isinstance(final, tuple) else final.copy()
            )
        return x, final

    def backward(
        self, d_output: np.ndarray | None = None, d_state: State | None = None
    ) -> tuple[np.ndarray, State]:
        """BPTT through every layer; returns ``(dx (B, T, F), d_initial_state (L*D, B, H))``."""
        d = self.num_directions
        d_inits = []
        for index in reversed(range(len(self.layers))):
            layer = self.layers[index]
            d_output, d_init = layer.backward(
                d_output, _split_state(d_state, index * d, (index + 1) * d)
            )
            d_inits.append(d_init)
        return d_output, _concat_states(d_inits[::-1])  # type: ignore[return-value]

    @property
    def hidden_grads(self) -> dict[str, np.ndarray]:
        """dL/dh_t (B, T, H) per direction layer after backward: {"l0": ..., "l0_reverse": ...}."""
        out = {}
        for _, layer in self.named_direction_layers():
            if layer.hidden_grads is not None:
                key = f"l{layer.layer_index}" + ("_reverse" if layer.reverse else "")
                out[key] = layer.hidden_grads
        return out

    def named_direction_layers(self) -> list[tuple[str, RecurrentLayer]]:
        """Every one-direction layer, in order."""
        out: list[tuple[str, RecurrentLayer]] = []
        for layer in self.layers:
            parts = (
                [layer.forward_layer, layer.backward_layer]
                if isinstance(layer, Bidirectional)
                else [layer]
            )
            for part in parts:
                out.append((f"l{part.layer_index}" + ("_reverse" if part.reverse else ""), part))
        return out

    def state_at(self, step: int) -> State:
        """The (L, B, H) state after ``step`` steps of the last forward call (unidirectional)."""
        if self.num_directions != 1:
            raise ScratchError("state_at: only for unidirectional layers")
        return _concat_states([layer.state_at(step) for layer in self.layers])  # type: ignore[union-attr]


def _build(
    layer_cls: type[RecurrentLayer],
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    dtype: Any,
    rng: Rng,
    **cell_kwargs: Any,
) -> list[RecurrentLayer | Bidirectional]:
    if num_layers < 1:
        raise ScratchError("num_layers: must be at least 1")
    gen = make_rng(rng)
    layers: list[RecurrentLayer | Bidirectional] = []
    size = input_size
    for index in range(num_layers):

        def make(reverse: bool, size: int = size, index: int = index) -> RecurrentLayer:
            return layer_cls(
                size,
                hidden_size,
                reverse=reverse,
                layer_index=index,
                dtype=dtype,
                rng=gen,
                **cell_kwargs,
            )

        layers.append(Bidirectional(make(False), make(True)) if bidirectional else make(False))
        size = hidden_size * (2 if bidirectional else 1)
    return layers


class RNN(Stacked):
    """Vanilla RNN with the signature of ``torch.nn.RNN(batch_first=True)``.

    Example:
        >>> import numpy as np
        >>> rnn = RNN(4, 8, nonlinearity="relu", dtype=np.float64)
        >>> out, h = rnn(np.zeros((3, 6, 4)))
        >>> out.shape, h.shape
        ((3, 6, 8), (1, 3, 8))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        nonlinearity: str = "tanh",
        bidirectional: bool = False,
        stateful: bool = False,
        dtype: Any = np.float32,
        rng: Rng = None,
    ) -> None:
        layers = _build(
            RNNLayer,
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
            dtype,
            rng,
            nonlinearity=nonlinearity,
        )
        super().__init__(layers, stateful=stateful)


class LSTM(Stacked):
    """LSTM with the signature of ``torch.nn.LSTM(batch_first=True)``; state is ``(h, c)``.

    Example:
        >>> import numpy as np
        >>> out, (h, c) = LSTM(4, 8, dtype=np.float64)(np.zeros((3, 6, 4)))
        >>> c.shape
        (1, 3, 8)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bidirectional: bool = False,
        stateful: bool = False,
        dtype: Any = np.float32,
        rng: Rng = None,
    ) -> None:
        layers = _build(LSTMLayer, input_size, hidden_size, num_layers, bidirectional, dtype, rng)
        super().__init__(layers, stateful=stateful)


class GRU(Stacked):
    """GRU with the signature of ``torch.nn.GRU(batch_first=True)`` (``reset_after=True``).

    ``reset_after=False`` is the original 2014 GRU (reset gate applied before ``W_hn``).

    Example:
        >>> import numpy as np
        >>> out, h = GRU(4, 8, bidirectional=True, dtype=np.float64)(np.zeros((3, 6, 4)))
        >>> out.shape, h.shape
        ((3, 6, 16), (2, 3, 8))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        reset_after: bool = True,
        bidirectional: bool = False,
        stateful: bool = False,
        dtype: Any = np.float32,
        rng: Rng = None,
    ) -> None:
        layers = _build(
            GRULayer,
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
            dtype,
            rng,
            reset_after=reset_after,
        )
        super().__init__(layers, stateful=stateful)


SimpleRNN = RNN

__all__ = ["Bidirectional", "Stacked", "RNN", "SimpleRNN", "LSTM", "GRU"]
