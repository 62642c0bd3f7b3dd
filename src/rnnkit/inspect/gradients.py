"""Gradient flow through time: why a vanilla RNN forgets and an LSTM/GRU does not (as fast).

For one input sequence x (1, T, F) and a loss that reads only the LAST hidden state,
``L = v . h_T`` (a fixed random readout v), the gradient reaching an earlier state is
``dL/dh_t = (dh_T/dh_t)^T v``, a product of T - t step Jacobians. Its norm against t shows how much
of the learning signal reaches step t: for a vanilla RNN it shrinks geometrically (vanishing
gradient) -- or grows, when the recurrent weights are large (``recurrent_scale`` > 1: exploding);
the LSTM's additive cell path and the GRU's update gate keep it much flatter.

Two engines compute the same numbers:

- :func:`gradient_flow` runs an ``rnnkit.nn`` layer through the recording loop and autograd;
- :func:`gradient_flow_scratch` loads the same weights into the NumPy engine
  (``rnnkit.scratch``) whose hand-written BPTT exposes every dL/dh_t as ``hidden_grads``.

Example:
    >>> norms = compare_gradient_flow(("rnn", "lstm"), length=30, hidden_size=16)
    >>> norms["rnn"].shape, bool(norms["rnn"][0] < norms["rnn"][-1])
    ((30,), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rnnkit.errors import ConfigError
from rnnkit.inspect.memory import MemoryResult, adding_problem, copy_task
from rnnkit.inspect.record import hidden_state_gradients
from rnnkit.nn import GRU, LSTM, SimpleRNN
from rnnkit.nn.registry import make_layer as registered_layer


def make_layer(
    cell: str,
    input_size: int = 2,
    hidden_size: int = 32,
    *,
    recurrent_scale: float | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> torch.nn.Module:
    """An rnnkit.nn layer of a cell of :mod:`rnnkit.cells` with seeded weights (Keras init:
    orthogonal recurrent weights).

    ``recurrent_scale`` multiplies ``weight_hh_l0`` (e.g. 3.0 to see gradients explode).
    """
    torch.manual_seed(seed)
    layer = registered_layer(cell, input_size, hidden_size, dtype=dtype).eval()
    if recurrent_scale is not None:
        if not hasattr(layer, "weight_hh_l0"):
            raise ConfigError(
                f"recurrent_scale: the {cell} cell has no recurrent weights (weight_hh) to scale; "
                "leave it out"
            )
        with torch.no_grad():
            layer.weight_hh_l0.mul_(recurrent_scale)  # type: ignore[operator]
    return layer


def readout(hidden_size: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The fixed readout vector v (H,) of the loss ``L = v . h_T``."""
    gen = torch.Generator().manual_seed(seed + 1)
    return torch.randn(hidden_size, generator=gen, dtype=dtype) / hidden_size**0.5


def example_input(length: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One adding-problem sequence (1, T, 2): the shared input of every gradient-flow plot."""
    x, _ = adding_problem(1, length, seed=seed, dtype=dtype)
    return x


def gradient_flow(layer: torch.nn.Module, x: torch.Tensor, v: torch.Tensor) -> np.ndarray:
    """``||dL/dh_t||`` (T,) for ``L = v . h_T`` with one sequence x (1, T, F); ``rnnkit.nn`` layer.
    """
    if x.dim() != 3 or x.shape[0] != 1:
        raise ConfigError(f"x: expected one sequence shaped (1, T, F), got {tuple(x.shape)}")
    grads = hidden_state_gradients(layer, x, lambda out: (out[0, -1] * v).sum())
    return np.linalg.norm(grads[0], axis=-1)


def gradient_flow_scratch(layer: torch.nn.Module, x: torch.Tensor, v: torch.Tensor) -> np.ndarray:
    """The same norms from the NumPy engine (weights copied from ``layer``), float64."""
    from rnnkit import scratch

    classes = {SimpleRNN: scratch.RNN, LSTM: scratch.LSTM, GRU: scratch.GRU}
    if type(layer) not in classes:
        raise ConfigError(
            f"engine: the scratch engine has no {type(layer).__name__}; use engine='nn'"
        )
    kind = classes[type(layer)]  # type: ignore[index]
    net = kind(layer.input_size, layer.hidden_size, dtype=np.float64)
    net.load_state_dict({k: t.detach().double().numpy() for k, t in layer.state_dict().items()})
    xs = x.detach().double().numpy()
    out, _ = net(xs)
    d_out = np.zeros_like(out)
    d_out[0, -1] = v.detach().double().numpy()
    net.backward(d_out)
    return np.linalg.norm(net.hidden_grads["l0"][0], axis=-1)


def compare_gradient_flow(
    cells: Sequence[str] = ("rnn", "lstm", "gru"),
    length: int = 100,
    hidden_size: int = 32,
    *,
    recurrent_scale: float | None = None,
    seed: int = 0,
    engine: str = "nn",
) -> dict[str, np.ndarray]:
    """``{cell: ||dL/dh_t|| (T,)}`` on the same input and readout for each cell."""
    if engine not in ("nn", "scratch"):
        raise ConfigError(f"engine: expected 'nn' or 'scratch', got {engine!r}")
    x = example_input(length, seed)
    v = readout(hidden_size, seed)
    result = {}
    for cell in cells:
        layer = make_layer(cell, x.shape[-1], hidden_size, recurrent_scale=recurrent_scale,
                           seed=seed)
        fn = gradient_flow if engine == "nn" else gradient_flow_scratch
        result[cell] = fn(layer, x, v)
    return result


def trained_gradient_flow_figures(results: Sequence[MemoryResult]) -> dict[str, Any]:
    """``{"gradient_flow_<task>_T<length>": Figure}``: ||dL/dh_t|| of every trained memory model.

    One input per (task, length) shared by all cells; the loss reads h_T through the first row of
    each model's output layer.
    """
    from rnnkit.viz.inside import plot_gradient_flow

    figures = {}
    for task, length in dict.fromkeys((r.task, r.length) for r in results):
        norms = {}
        for r in results:
            if (r.task, r.length) != (task, length) or r.model is None:
                continue
            if task == "adding":
                x = adding_problem(1, length, seed=7)[0]
            else:
                ids = copy_task(1, length, seed=7)[0]
                x = torch.nn.functional.one_hot(ids, r.model.vocab).float()
            v = r.model.head.weight.detach()[0]
            norms[f"{r.cell} (score {r.score:.3f})"] = gradient_flow(r.model.encoder.eval(), x, v)
        if norms:
            figures[f"gradient_flow_{task}_T{length}"] = plot_gradient_flow(
                norms, f"Trained on {task}, T={length}: ||dL/dh_t||, loss on h_T"
            )
    return figures
