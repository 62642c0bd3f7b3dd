"""Which run serves a call, and how many kernel calls it makes per forward.

These counts are the speed contract of :mod:`rnnkit.nn.layers`: torch's fused ``_VF`` call runs
the whole stack at once (one call), the numba kernels one layer with both directions per call
(one input GEMM + one kernel call per layer), the through-padding and head/tail runs one
``_VF`` call per layer and direction; the cell loop makes none.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import torch

from rnnkit import nn as rnn
from rnnkit.nn import layers
from rnnkit.nn.kernels import dispatch, gemm


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RNNKIT_KERNELS", raising=False)


class _CountingVF:
    """Stands in for ``torch._VF`` in :mod:`rnnkit.nn.layers`, counting the recurrent calls."""

    def __init__(self, calls: Counter[str]) -> None:
        self.calls = calls

    def __getattr__(self, name: str) -> Any:
        real = getattr(torch._VF, name)

        def counted(*args: Any) -> Any:
            self.calls[name] += 1
            return real(*args)

        return counted


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts of ``_VF.*``, numba ``recurrent`` and input-GEMM calls made by the layers."""
    counts: Counter[str] = Counter()
    monkeypatch.setattr(layers, "_VF", _CountingVF(counts))
    real_kernels_for = dispatch.kernels_for

    class _CountingKernels:
        def __init__(self, module: Any) -> None:
            self.module = module

        def recurrent(self, *args: Any, **kwargs: Any) -> Any:
            counts["numba"] += 1
            return self.module.recurrent(*args, **kwargs)

    def kernels_for(kind: str, dtype: torch.dtype) -> Any:
        module = real_kernels_for(kind, dtype)
        return None if module is None else _CountingKernels(module)

    monkeypatch.setattr(dispatch, "kernels_for", kernels_for)
    real_linear = gemm.linear

    def linear(*args: Any) -> torch.Tensor:
        counts["gemm"] += 1
        return real_linear(*args)

    monkeypatch.setattr(gemm, "linear", linear)
    return counts


X = torch.randn(4, 9, 3, dtype=torch.float64)
NEAR = torch.tensor([9, 8, 9, 7])  # lengths within the head/tail rule
FAR = torch.tensor([9, 2, 5, 1])  # lengths for packing or through-padding


def _layer(cls: type, kernels: str = "torch", **options: Any) -> Any:
    torch.manual_seed(0)
    return cls(3, 4, 2, bidirectional=True, kernels=kernels, dtype=torch.float64, **options)


@pytest.mark.parametrize(
    ("cls", "options", "lengths", "return_state", "expected"),
    [
        # torch's fused call: all layers, both directions and the dropout in one _VF call
        (rnn.LSTM, {}, None, True, {"lstm": 1}),
        (rnn.GRU, {}, None, True, {"gru": 1}),
        (rnn.SimpleRNN, {"activation": "relu"}, None, True, {"rnn_relu": 1}),
        # packed: one _VF call
        (rnn.LSTM, {}, FAR, True, {"lstm": 1}),
        (rnn.SimpleRNN, {"activation": "relu"}, FAR, False, {"rnn_relu": 1}),
        # through the padding: one _VF call per layer and direction
        (rnn.LSTM, {}, FAR, False, {"lstm": 4}),
        (rnn.GRU, {}, FAR, True, {"gru": 4}),
        # head/tail: one _VF call per layer and direction (+ a cell-loop tail)
        (rnn.LSTM, {}, NEAR, True, {"lstm": 4}),
        # cell loop: no kernel call at all
        (rnn.LSTM, {"layer_norm": True}, FAR, True, {}),
        (rnn.GRU, {"reset_after": False}, None, True, {}),
    ],
)
def test_torch_call_counts(
    calls: Counter[str],
    cls: type,
    options: dict[str, Any],
    lengths: torch.Tensor | None,
    return_state: bool,
    expected: dict[str, int],
) -> None:
    layer = _layer(cls, **options)
    layer(X, lengths=lengths, return_state=return_state)
    assert dict(calls) == expected


@pytest.mark.parametrize("cls", [rnn.SimpleRNN, rnn.GRU, rnn.LSTM])
@pytest.mark.parametrize("lengths", [None, FAR])
def test_numba_runs_one_gemm_and_one_kernel_call_per_layer(
    calls: Counter[str], cls: type, lengths: torch.Tensor | None
) -> None:
    layer = _layer(cls, kernels="numba")
    assert layer.backend == "numba"
    layer(X, lengths=lengths)
    assert dict(calls) == {"numba": 2, "gemm": 2}


@pytest.mark.parametrize(
    ("make", "backend"),
    [
        (lambda: rnn.LSTM(3, 4), "torch"),
        (lambda: rnn.LSTM(3, 4, kernels="numba"), "numba"),
        (lambda: rnn.GRU(3, 4), "numba"),
        (lambda: rnn.GRU(3, 600), "torch"),
        (lambda: rnn.GRU(3, 4, reset_after=False), "numba"),
        (lambda: rnn.GRU(3, 4, reset_after=False, kernels="torch"), "loop"),
        (lambda: rnn.SimpleRNN(3, 4, activation="relu"), "numba"),
        (lambda: rnn.SimpleRNN(3, 4, activation="sigmoid"), "loop"),
        (lambda: rnn.LSTM(3, 4, layer_norm=True), "loop"),
        (lambda: rnn.LSTM(3, 4, fused=False, kernels="numba"), "loop"),
        (lambda: rnn.GRU(3, 4, recurrent_dropout=0.1), "loop"),
        (lambda: rnn.GRU(3, 4, recurrent_dropout=0.1).eval(), "numba"),
    ],
)
def test_backend_choice_is_unchanged(make: Any, backend: str) -> None:
    assert make().backend == backend
