"""The hand-over between torch and the numba kernels, shared by the autograd wrappers.

The kernels read and write numpy arrays that share memory with torch tensors (no copies);
an output a backward pass did not receive a gradient for is read as zeros.

Example:
    >>> import torch
    >>> from rnnkit.nn.kernels.tensors import as_array, grad_or_zeros
    >>> as_array(grad_or_zeros(None, torch.ones(2, 3))).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import numpy as np
import torch


def as_array(t: torch.Tensor) -> np.ndarray:
    """The numpy view of a CPU tensor (no copy; autograd history dropped)."""
    return t.detach().numpy()


def grad_or_zeros(grad: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """A backward pass's incoming gradient, contiguous; zeros shaped as ``like`` when the output
    had none (it did not reach the loss)."""
    return (grad if grad is not None else torch.zeros_like(like)).contiguous()
