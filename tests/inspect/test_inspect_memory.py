"""Memory tasks: adding-problem and copy-task generators, a short training run, the table."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.inspect.memory import (
    ADDING_BASELINE_MSE,
    adding_problem,
    copy_task,
    memory_benchmark,
    parse_list,
    results_table,
    train_memory_task,
)


def test_adding_problem_markers_and_target() -> None:
    x, y = adding_problem(200, 30, seed=1)
    assert x.shape == (200, 30, 2) and y.shape == (200,)
    markers = x[:, :, 1]
    assert torch.all(markers.sum(dim=1) == 2)
    assert torch.all((markers == 0) | (markers == 1))
    assert torch.all(markers[:, :15].sum(dim=1) == 1)  # one in each half
    torch.testing.assert_close(y, (x[:, :, 0] * markers).sum(dim=1))
    assert torch.all((x[:, :, 0] >= 0) & (x[:, :, 0] < 1))


def test_adding_problem_baseline_mse_is_one_sixth() -> None:
    _, y = adding_problem(50_000, 10, seed=2, dtype=torch.float64)
    mse = float(((y - 1.0) ** 2).mean())
    assert mse == pytest.approx(ADDING_BASELINE_MSE, abs=0.005)
    assert ADDING_BASELINE_MSE == pytest.approx(0.1667, abs=1e-4)


def test_adding_problem_is_seeded() -> None:
    a, b = adding_problem(4, 8, seed=5), adding_problem(4, 8, seed=5)
    torch.testing.assert_close(a[0], b[0])


def test_copy_task_layout() -> None:
    x, y = copy_task(6, 10, symbols=8, copy_length=5, seed=0)
    assert x.shape == y.shape == (6, 20)
    torch.testing.assert_close(y[:, -5:], x[:, :5])
    assert torch.all(x[:, 14] == 9)  # delimiter T steps after the last symbol
    assert torch.all(y[:, :-5] == -100)
    assert torch.all((x[:, :5] >= 1) & (x[:, :5] <= 8))


def test_short_training_run_learns_something() -> None:
    # A generous budget: the step cap, not the clock, ends this run even on a loaded machine.
    result = train_memory_task("adding", "lstm", 10, time_budget=600, max_steps=150, hidden_size=16)
    assert result.steps == 150
    assert result.score < ADDING_BASELINE_MSE  # better than predicting 1 after a few steps
    assert set(result.to_dict()) >= {"task", "cell", "length", "score", "solved"}


def test_benchmark_table_and_errors() -> None:
    results = memory_benchmark(("rnn",), (6, 8), ("copy",), time_budget=0.2, hidden_size=8)
    table = results_table(results)
    assert "T=6" in table and "T=8" in table and "| copy (accuracy) | rnn |" in table
    with pytest.raises(ConfigError, match="cells"):
        memory_benchmark(("lstmx",), (5,))
    with pytest.raises(ConfigError, match="--lengths"):
        parse_list("5,x", "--lengths", int)


def test_chrono_init_is_applied_and_recorded() -> None:
    result = train_memory_task("adding", "mingru", 50, time_budget=600, max_steps=1,
                               hidden_size=16, init="chrono")
    z_bias = result.model.encoder.bias_ih_l0[:16].detach()
    assert result.init == "chrono" and result.to_dict()["init"] == "chrono"
    assert bool((z_bias <= 0).all()) and float(z_bias.min()) < -2  # timescales up to T = 50
    plain = train_memory_task("adding", "rnn", 5, time_budget=600, max_steps=1, hidden_size=4,
                              init="chrono")  # no gate: the SimpleRNN keeps its own init
    assert plain.init == "chrono"
    with pytest.raises(ConfigError, match="init"):
        train_memory_task("adding", "gru", 5, time_budget=1, init="warm")
    with pytest.raises(ConfigError, match="lr"):
        memory_benchmark(("gru",), (5,), lr=0)
