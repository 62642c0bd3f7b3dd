"""Backend choice (kernels=, RNNKIT_KERNELS, size rule), lazy numba import, thread-count
independence, gradcheck, and the fallback when a kernel cannot be compiled."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch

from rnnkit import nn as rnn
from rnnkit.errors import ConfigError
from rnnkit.nn.kernels import dispatch
from rnnkit.nn.kernels.autograd import recurrent, work_units


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RNNKIT_KERNELS", raising=False)


def test_importing_rnnkit_nn_does_not_import_numba() -> None:
    code = (
        "import sys, torch, rnnkit.nn; from rnnkit.nn import GRU; g = GRU(2, 3);"
        "print('numba' in sys.modules, g.backend)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "numba"]


def test_size_rule_and_forcing(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind, cls in (("rnn", rnn.SimpleRNN), ("gru", rnn.GRU), ("lstm", rnn.LSTM)):
        bound = dispatch.NUMBA_MAX_HIDDEN[kind]
        if bound >= 1:
            assert cls(4, bound).backend == "numba"
        assert cls(4, bound + 1).backend == "torch"
        assert cls(4, bound + 1, kernels="numba").backend == "numba"
    large = dispatch.NUMBA_MAX_HIDDEN["lstm"] + 1
    assert rnn.GRU(4, 8, kernels="torch").backend == "torch"
    assert rnn.GRU(4, 8, reset_after=False, kernels="torch").backend == "loop"
    assert rnn.GRU(4, 8, reset_after=False).backend == "numba"
    assert rnn.GRU(4, 8, fused=False, kernels="numba").backend == "loop"
    assert rnn.LSTM(4, 8, layer_norm=True).backend == "loop"
    assert rnn.SimpleRNN(4, 8, activation="sigmoid").backend == "loop"
    dropped = rnn.GRU(4, 8, recurrent_dropout=0.2)
    assert dropped.backend == "loop" and dropped.eval().backend == "numba"
    monkeypatch.setenv("RNNKIT_KERNELS", "torch")
    assert rnn.GRU(4, 8).backend == "torch"
    assert rnn.GRU(4, 8, kernels="numba").backend == "numba"  # the argument wins
    monkeypatch.setenv("RNNKIT_KERNELS", "numba")
    assert rnn.LSTM(4, large).backend == "numba"
    monkeypatch.setenv("RNNKIT_KERNELS", "fast")
    with pytest.raises(ConfigError, match="RNNKIT_KERNELS"):
        _ = rnn.GRU(4, 8).backend
    with pytest.raises(ConfigError, match="kernels"):
        rnn.GRU(4, 8, kernels="cuda")
    assert "kernels='numba'" in repr(rnn.GRU(4, 8, kernels="numba"))


def test_small_lstm_inference_runs_numba_training_stays_on_torch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used: list[str] = []
    real = dispatch.kernels_for
    monkeypatch.setattr(dispatch, "kernels_for", lambda *a: used.append(a[0]) or real(*a))
    torch.manual_seed(0)
    layer = rnn.LSTM(5, 32)
    reference = rnn.LSTM(5, 32, kernels="torch")
    reference.load_state_dict(layer.state_dict())
    one = torch.randn(1, 12, 5)
    with torch.no_grad():
        served, _ = layer(one)
        expected, _ = reference(one)
    assert used == ["lstm"]
    torch.testing.assert_close(served, expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        layer(torch.randn(64, 12, 5))  # 64 x 32 cells: oneDNN is faster
    layer(one)  # training: the size rule keeps torch
    assert used == ["lstm"]
    assert layer.backend == "torch"
    with torch.no_grad():
        rnn.LSTM(5, 32, kernels="torch")(one)
    assert used == ["lstm"]


def test_work_units_split_rows_at_multiples_of_eight() -> None:
    assert work_units(128, 1, 2) == [(0, 0, 64), (0, 64, 128)]
    assert work_units(64, 2, 2) == [(1 - 1, 0, 64), (1, 0, 64)]
    assert work_units(20, 1, 2) == [(0, 0, 20)]  # too few rows to split
    units = work_units(100, 1, 3)
    assert all(start % 8 == 0 for _, start, _ in units)
    assert sum(stop - start for _, start, stop in units) == 100


@pytest.mark.parametrize("kind", ["rnn_relu", "gru", "gru_before", "lstm"])
def test_one_and_two_threads_give_identical_results(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    cls = {"rnn_relu": rnn.SimpleRNN, "gru": rnn.GRU, "gru_before": rnn.GRU, "lstm": rnn.LSTM}
    options = {"rnn_relu": {"activation": "relu"}, "gru_before": {"reset_after": False}}
    layer = cls[kind](6, 16, 2, bidirectional=True, kernels="numba", **options.get(kind, {}))
    x = torch.randn(48, 7, 6)
    lengths = torch.randint(0, 8, (48,))
    results = []
    threads = torch.get_num_threads()
    try:
        for n, spread in ((1, "openmp"), (2, "openmp"), (2, "pool")):
            monkeypatch.setenv("RNNKIT_KERNEL_THREADS", spread)
            torch.set_num_threads(n)
            layer.zero_grad()
            xg = x.clone().requires_grad_()
            out, state = layer(xg, lengths=lengths)
            state = state if isinstance(state, tuple) else (state,)
            (out.square().sum() + sum(s.sum() for s in state)).backward()
            grads = [p.grad.clone() for p in layer.parameters()]
            results.append([out, *state, xg.grad, *grads])
    finally:
        torch.set_num_threads(threads)
    for one, *others in zip(*results, strict=True):
        assert all(torch.equal(one, other) for other in others)


@pytest.mark.parametrize("kind", ["rnn", "gru", "gru_before", "lstm"])
def test_gradcheck(kind: str) -> None:
    torch.manual_seed(1)
    base = "gru" if kind.startswith("gru") else kind
    g, hidden, directions = {"rnn": 1, "gru": 3, "lstm": 4}[base], 2, 2
    d64 = {"dtype": torch.float64, "requires_grad": True}
    gx = torch.randn(3, 4, directions * g * hidden, **d64)
    whh = (0.5 * torch.randn(directions, g * hidden, hidden, dtype=torch.float64)).requires_grad_()
    bhh = torch.randn(directions, g * hidden, **d64)
    h0 = torch.randn(directions, 3, hidden, **d64)
    c0 = torch.randn(directions, 3, hidden, **d64) if base == "lstm" else None
    lengths = torch.tensor([4, 1, 3])
    options = {"reset_after": kind != "gru_before"} if base == "gru" else {}

    def fn(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        c = args[4] if base == "lstm" else None
        return recurrent(base, args[0], args[1], args[2], args[3], c, lengths, **options)

    inputs = (gx, whh, bhh, h0) + ((c0,) if c0 is not None else ())
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-8)


def test_compile_failure_falls_back_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ImportError("simulated: numba cannot compile here")

    layer = rnn.GRU(4, 3, bidirectional=True, kernels="numba", dtype=torch.float64)
    reference = rnn.GRU(4, 3, bidirectional=True, kernels="torch", dtype=torch.float64)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    dispatch.reset()
    monkeypatch.setattr(dispatch, "_load", broken)
    try:
        with pytest.warns(RuntimeWarning, match="numba kernels unavailable"):
            out, h = layer(x, lengths=torch.tensor([5, 3]))
        assert layer.backend == "torch"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a second call stays silent
            out2, _ = rnn.LSTM(4, 3, kernels="numba", dtype=torch.float64)(x)
        ref_out, ref_h = reference(x, lengths=torch.tensor([5, 3]))
        assert torch.allclose(out, ref_out, atol=1e-12) and torch.allclose(h, ref_h, atol=1e-12)
    finally:
        dispatch.reset()
    assert layer.backend == "numba"


def test_inference_without_grad_matches_training_path() -> None:
    torch.manual_seed(3)
    layer = rnn.LSTM(5, 8, bidirectional=True, kernels="numba", dtype=torch.float64)
    x = torch.randn(4, 6, 5, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4, 5])
    dispatch.reset()  # the first call of the process may come from inside inference_mode
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.inference_mode():
            out, (h, c) = layer(x, lengths=lengths)
    assert layer.backend == "numba"
    out2, (h2, c2) = layer(x.requires_grad_(), lengths=lengths)
    assert torch.equal(out, out2.detach()) and torch.equal(h, h2.detach())
    assert torch.equal(c, c2.detach())
