"""Convert recurrent weights between Keras and PyTorch layouts (NumPy only, no TensorFlow needed).

Keras stores ``kernel`` (F, G*H), ``recurrent_kernel`` (H, G*H) and ``bias``; PyTorch (and rnnkit)
``weight_ih`` (G*H, F), ``weight_hh`` (G*H, H), ``bias_ih`` and ``bias_hh`` (G*H,).

- Gate order: LSTM Keras ``i, f, c, o`` = torch ``i, f, g, o``; GRU Keras ``z, r, h`` vs torch
  ``r, z, n`` (the first two blocks swap); SimpleRNN has one block.
- Bias: Keras LSTM/SimpleRNN and ``reset_after=False`` GRU have one bias (G*H,): torch
  ``bias_ih = bias``, ``bias_hh = 0``; back to Keras ``bias = bias_ih + bias_hh`` (exact, since the
  two only ever appear summed). A ``reset_after=True`` GRU has bias (2, G*H): row 0 input, row 1
  recurrent.

Inputs may be NumPy arrays or anything ``np.asarray`` accepts (CPU tensors are detached first);
outputs are NumPy arrays, ready for ``{k: torch.from_numpy(v) for k, v in d.items()}``.

Example:
    >>> import numpy as np
    >>> kernel, rk, bias = np.ones((4, 9)), np.ones((3, 9)), np.zeros((2, 9))
    >>> d = from_keras("gru", kernel, rk, bias, reset_after=True)
    >>> {k: v.shape for k, v in d.items()}
    {'weight_ih': (9, 4), 'weight_hh': (9, 3), 'bias_ih': (9,), 'bias_hh': (9,)}
    >>> back = to_keras("gru", **d, reset_after=True)
    >>> np.array_equal(back["kernel"], kernel)
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError, ShapeError

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_ALIASES = {"simple_rnn": "rnn", "simplernn": "rnn", "rnn": "rnn", "lstm": "lstm", "gru": "gru"}


def _kind(kind: str) -> str:
    key = _ALIASES.get(str(kind).lower())
    if key is None:
        raise ConfigError(f"kind: unknown layer kind {kind!r}; use 'rnn', 'lstm' or 'gru'")
    return key


def _array(value: Any, argument: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        raise ShapeError(f"{argument}: expected a floating-point array, got {array.dtype}")
    return array


def _swap_gru_gates(array: np.ndarray, hidden: int, axis: int) -> np.ndarray:
    """Swap the first two H-blocks along ``axis`` (Keras z,r,h <-> torch r,z,n; an involution)."""
    order = np.concatenate(
        [np.arange(hidden, 2 * hidden), np.arange(hidden), np.arange(2 * hidden, 3 * hidden)]
    )
    return np.take(array, order, axis=axis)


def _reorder(kind: str, array: np.ndarray, hidden: int, axis: int) -> np.ndarray:
    return _swap_gru_gates(array, hidden, axis) if kind == "gru" else array.copy()


def from_keras(
    kind: str,
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any | None = None,
    *,
    reset_after: bool = True,
) -> dict[str, np.ndarray]:
    """Keras ``kernel, recurrent_kernel, bias`` -> ``weight_ih, weight_hh, bias_ih, bias_hh``.

    ``bias=None`` (Keras ``use_bias=False``) gives only the two weights.
    """
    kind = _kind(kind)
    gates = _GATES[kind]
    kernel = _array(kernel, "kernel")
    recurrent_kernel = _array(recurrent_kernel, "recurrent_kernel")
    if recurrent_kernel.ndim != 2 or recurrent_kernel.shape[1] != gates * recurrent_kernel.shape[0]:
        raise ShapeError(
            f"recurrent_kernel: expected shape (H, {gates}*H) for {kind}, "
            f"got {recurrent_kernel.shape}"
        )
    hidden = recurrent_kernel.shape[0]
    if kernel.ndim != 2 or kernel.shape[1] != gates * hidden:
        raise ShapeError(f"kernel: expected shape (F, {gates * hidden}), got {kernel.shape}")
    out = {
        "weight_ih": _reorder(kind, kernel.T, hidden, 0),
        "weight_hh": _reorder(kind, recurrent_kernel.T, hidden, 0),
    }
    if bias is None:
        return out
    bias = _array(bias, "bias")
    two_biases = kind == "gru" and reset_after
    expected = (2, gates * hidden) if two_biases else (gates * hidden,)
    if bias.shape != expected:
        note = " (reset_after=True GRU)" if two_biases else ""
        raise ShapeError(f"bias: expected shape {expected}{note}, got {bias.shape}")
    if two_biases:
        out["bias_ih"] = _reorder(kind, bias[0], hidden, 0)
        out["bias_hh"] = _reorder(kind, bias[1], hidden, 0)
    else:
        out["bias_ih"] = _reorder(kind, bias, hidden, 0)
        out["bias_hh"] = np.zeros_like(bias)
    return out


def to_keras(
    kind: str,
    weight_ih: Any,
    weight_hh: Any,
    bias_ih: Any | None = None,
    bias_hh: Any | None = None,
    *,
    reset_after: bool = True,
) -> dict[str, np.ndarray]:
    """``weight_ih, weight_hh, bias_ih, bias_hh`` -> Keras ``kernel, recurrent_kernel, bias``."""
    kind = _kind(kind)
    gates = _GATES[kind]
    weight_ih = _array(weight_ih, "weight_ih")
    weight_hh = _array(weight_hh, "weight_hh")
    if weight_hh.ndim != 2 or weight_hh.shape[0] != gates * weight_hh.shape[1]:
        raise ShapeError(
            f"weight_hh: expected shape ({gates}*H, H) for {kind}, got {weight_hh.shape}"
        )
    hidden = weight_hh.shape[1]
    if weight_ih.ndim != 2 or weight_ih.shape[0] != gates * hidden:
        raise ShapeError(f"weight_ih: expected shape ({gates * hidden}, F), got {weight_ih.shape}")
    out = {
        "kernel": _reorder(kind, weight_ih, hidden, 0).T.copy(),
        "recurrent_kernel": _reorder(kind, weight_hh, hidden, 0).T.copy(),
    }
    if bias_ih is None and bias_hh is None:
        return out
    size = gates * hidden
    b_ih = np.zeros(size, weight_ih.dtype) if bias_ih is None else _array(bias_ih, "bias_ih")
    b_hh = np.zeros(size, weight_ih.dtype) if bias_hh is None else _array(bias_hh, "bias_hh")
    for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if b.shape != (size,):
            raise ShapeError(f"{name}: expected shape ({size},), got {b.shape}")
    if kind == "gru" and reset_after:
        out["bias"] = np.stack([_reorder(kind, b_ih, hidden, 0), _reorder(kind, b_hh, hidden, 0)])
    else:
        out["bias"] = _reorder(kind, b_ih + b_hh, hidden, 0)
    return out


def _suffixes(layer: int, bidirectional: bool) -> list[str]:
    base = f"_l{layer}"
    return [base, base + "_reverse"] if bidirectional else [base]


def state_dict_from_keras(
    kind: str,
    weights: Sequence[Any],
    *,
    layer: int = 0,
    bidirectional: bool = False,
    use_bias: bool = True,
    reset_after: bool = True,
) -> dict[str, np.ndarray]:
    """A Keras layer's ``get_weights()`` list -> torch-named entries for stacked layer ``layer``.

    For a Keras ``Bidirectional`` layer the list is forward weights then backward weights.

    Example:
        >>> import numpy as np
        >>> w = [np.zeros((5, 12)), np.zeros((3, 12)), np.zeros(12)]
        >>> sorted(state_dict_from_keras("lstm", w, layer=1))
        ['bias_hh_l1', 'bias_ih_l1', 'weight_hh_l1', 'weight_ih_l1']
    """
    per_direction = 3 if use_bias else 2
    suffixes = _suffixes(layer, bidirectional)
    if len(weights) != per_direction * len(suffixes):
        raise ShapeError(
            f"weights: expected {per_direction * len(suffixes)} arrays "
            f"(kernel, recurrent_kernel{', bias' if use_bias else ''} per direction), "
            f"got {len(weights)}"
        )
    out: dict[str, np.ndarray] = {}
    for i, suffix in enumerate(suffixes):
        chunk = list(weights[i * per_direction : (i + 1) * per_direction])
        bias = chunk[2] if use_bias else None
        for name, value in from_keras(
            kind, chunk[0], chunk[1], bias, reset_after=reset_after
        ).items():
            out[name + suffix] = value
    return out


def state_dict_to_keras(
    kind: str,
    state_dict: Mapping[str, Any],
    *,
    layer: int = 0,
    bidirectional: bool = False,
    reset_after: bool = True,
) -> list[np.ndarray]:
    """Torch-named entries of stacked layer ``layer`` -> a Keras ``set_weights()`` list.

    Example:
        >>> import torch
        >>> from rnnkit.nn import GRU
        >>> arrays = state_dict_to_keras("gru", GRU(4, 3).state_dict())
        >>> [a.shape for a in arrays]
        [(4, 9), (3, 9), (2, 9)]
    """
    out: list[np.ndarray] = []
    for suffix in _suffixes(layer, bidirectional):
        names = [n + suffix for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        for name in names[:2]:
            if name not in state_dict:
                raise ShapeError(f"state_dict: missing {name!r}")
        converted = to_keras(
            kind,
            state_dict[names[0]],
            state_dict[names[1]],
            state_dict.get(names[2]),
            state_dict.get(names[3]),
            reset_after=reset_after,
        )
        out.extend(converted[k] for k in ("kernel", "recurrent_kernel", "bias") if k in converted)
    return out
