"""The parallel scan (rnnkit.nn.scan): exact against the step loop for real and complex
coefficients, every chunking, right padding and the reverse direction; gradients by gradcheck."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.scan import default_chunk_size, linear_scan, log_linear_scan


def _loop(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    states = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return torch.stack(states, dim=1) if states else b.clone()


def _coefficients(
    steps: int, complex_: bool, batch: int = 3, width: int = 4
) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(batch, steps, width, dtype=torch.float64, generator=gen) * 1.2 - 0.1
    b = torch.randn(batch, steps, width, dtype=torch.float64, generator=gen)
    h0 = torch.randn(batch, width, dtype=torch.float64, generator=gen)
    if complex_:
        angle = torch.rand(batch, steps, width, dtype=torch.float64, generator=gen) * 6
        turn = torch.exp(1j * angle)
        a, b, h0 = a * turn, b * (1 + 0.5j), h0 * (1 - 1j)
    return a, b, h0


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("steps", [1, 2, 7, 16, 50])
def test_scan_methods_and_chunkings_equal_the_loop(complex_: bool, steps: int) -> None:
    a, b, h0 = _coefficients(steps, complex_)
    expected = _loop(a, b, h0)
    for chunk_size in (None, 1, 3, 4, 64):
        got = linear_scan(a, b, h0, chunk_size=chunk_size)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(linear_scan(a, b, h0, method="sequential"), expected,
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(linear_scan(a, b)[:, 0], b[:, 0], rtol=0, atol=0)


def test_log_scan_equals_the_loop_for_positive_coefficients() -> None:
    a, b, h0 = _coefficients(40, False)
    a, b = a.abs() + 0.05, b.abs() + 0.05
    torch.testing.assert_close(log_linear_scan(a.log(), b.log(), h0), _loop(a, b, h0),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ShapeError, match="real logarithms"):
        log_linear_scan(a.log().to(torch.complex128), b.log())


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_lengths_hold_the_last_real_state_and_reverse_reads_each_sequence_backwards(
    complex_: bool,
) -> None:
    a, b, h0 = _coefficients(9, complex_)
    lengths = torch.tensor([9, 4, 0])
    scans = [lambda **kw: linear_scan(a, b, h0, chunk_size=2, **kw)]
    if not complex_:
        pa, pb = a.abs() + 0.05, b.abs() + 0.05
        a, b = pa, pb
        scans.append(lambda **kw: log_linear_scan(pa.log(), pb.log(), h0, **kw))
    for scan in scans:
        h = scan(lengths=lengths)
        for row, length in enumerate(lengths.tolist()):
            own = _loop(a[row : row + 1, :length], b[row : row + 1, :length], h0[row : row + 1])
            torch.testing.assert_close(h[row, :length], own[0], rtol=0, atol=1e-12)
            final = own[0, -1] if length else h0[row]
            torch.testing.assert_close(h[row, length:], final.expand(9 - length, 4),
                                       rtol=0, atol=1e-12)
        back = scan(lengths=lengths, reverse=True)
        for row, length in enumerate(lengths.tolist()):
            ra, rb = a[row : row + 1, :length].flip(1), b[row : row + 1, :length].flip(1)
            own = _loop(ra, rb, h0[row : row + 1]).flip(1)
            torch.testing.assert_close(back[row, :length], own[0], rtol=0, atol=1e-12)
            final = own[0, 0] if length else h0[row]
            torch.testing.assert_close(back[row, 0], final, rtol=0, atol=1e-12)
        torch.testing.assert_close(scan(reverse=True), _loop(a.flip(1), b.flip(1), h0).flip(1),
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("method", ["chunked", "sequential"])
def test_scan_gradients_pass_gradcheck(complex_: bool, method: str) -> None:
    a, b, h0 = (t.requires_grad_() for t in _coefficients(5, complex_, width=2))
    lengths = torch.tensor([5, 3, 0])

    def run(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        return linear_scan(a, b, h0, method=method, chunk_size=2, lengths=lengths, reverse=True)

    assert torch.autograd.gradcheck(run, (a, b, h0))
    assert torch.autograd.gradcheck(lambda a, b: linear_scan(a, b, method=method), (a, b))


def test_log_scan_gradients_pass_gradcheck() -> None:
    a, b, h0 = _coefficients(6, False)
    log_a = (a.abs() + 0.05).log().requires_grad_()
    log_b = (b.abs() + 0.05).log().requires_grad_()
    h0.requires_grad_()
    lengths = torch.tensor([6, 2, 0])
    assert torch.autograd.gradcheck(
        lambda la, lb, h: log_linear_scan(la, lb, h, lengths=lengths), (log_a, log_b, h0)
    )


def test_scan_options_are_checked() -> None:
    a = torch.ones(2, 3, 4)
    with pytest.raises(ConfigError, match="method"):
        linear_scan(a, a, method="fast")
    with pytest.raises(ConfigError, match="chunk_size"):
        linear_scan(a, a, chunk_size=0)
    with pytest.raises(ShapeError, match="shapes differ"):
        linear_scan(a, a[:, :2])
    with pytest.raises(ShapeError, match="h0"):
        linear_scan(a, a, torch.zeros(2, 3))
    assert [default_chunk_size(t) for t in (1, 4, 5, 512, 2048)] == [1, 2, 3, 23, 46]
