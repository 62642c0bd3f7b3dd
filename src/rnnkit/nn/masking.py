"""Variable-length batches: validate ``lengths``/``mask``, reverse and re-align padded sequences.

Right padding is canonical: sequence ``b`` occupies ``x[b, :lengths[b]]``. A boolean ``mask`` (B, T)
with ``True`` = keep may describe right *or* left padding (real steps at the end); left-padded rows
are rotated to right padding before the recurrence and the outputs rotated back afterwards.

Example:
    >>> import torch
    >>> mask = torch.tensor([[True, True, False], [False, True, True]])
    >>> padding = resolve_padding(2, 3, None, mask)
    >>> padding.lengths.tolist(), padding.shift.tolist()
    ([2, 2], [0, 1])
    >>> out = torch.arange(6.0).view(2, 3, 1)
    >>> last_step(out, mask=mask).flatten().tolist()
    [1.0, 5.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnnkit.errors import ShapeError


@dataclass(frozen=True)
class Padding:
    """How a batch is padded.

    ``lengths`` (B,) int64 on CPU, or ``None`` when every sequence fills all T steps; ``shift``
    (B,) int64 (number of leading pad steps per row), or ``None`` when all rows are right-padded.
    """

    lengths: torch.Tensor | None
    shift: torch.Tensor | None = None

    @property
    def has_empty(self) -> bool:
        """True when some sequence has length 0."""
        return self.lengths is not None and bool((self.lengths == 0).any())


def check_lengths(lengths: object, batch_size: int, max_len: int) -> torch.Tensor:
    """Validate ``lengths`` and return it as an int64 CPU tensor of shape (B,).

    Raises :class:`ShapeError` naming ``lengths`` for a wrong dtype, shape, or value.
    """
    if not isinstance(lengths, torch.Tensor):
        try:
            lengths = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError) as err:
            raise ShapeError(
                f"lengths: expected a 1-D integer tensor, got {type(lengths)}"
            ) from err
    assert isinstance(lengths, torch.Tensor)
    if lengths.dtype == torch.bool or lengths.is_floating_point() or lengths.is_complex():
        raise ShapeError(f"lengths: expected an integer tensor (int64), got {lengths.dtype}")
    if lengths.dim() != 1 or lengths.shape[0] != batch_size:
        raise ShapeError(
            f"lengths: expected shape ({batch_size},) = one length per sequence, "
            f"got {tuple(lengths.shape)}"
        )
    lengths = lengths.to(device="cpu", dtype=torch.int64)
    if batch_size and int(lengths.min()) < 0:
        i = int(lengths.argmin())
        raise ShapeError(f"lengths: negative length {int(lengths[i])} at index {i}")
    if batch_size and int(lengths.max()) > max_len:
        i = int(lengths.argmax())
        raise ShapeError(
            f"lengths: length {int(lengths[i])} at index {i} exceeds the input's T={max_len}"
        )
    return lengths


def check_mask(mask: object, batch_size: int, max_len: int) -> Padding:
    """Validate a boolean mask (B, T) and return the lengths and left-padding shifts it encodes.

    Each row must be one contiguous run of ``True`` touching the start (right padding) or the end
    (left padding) of the row; otherwise :class:`ShapeError` naming ``mask`` is raised.
    """
    if not isinstance(mask, torch.Tensor):
        raise ShapeError(f"mask: expected a boolean tensor (B, T), got {type(mask)}")
    if mask.dtype != torch.bool:
        if mask.is_floating_point() or mask.is_complex() or bool(((mask != 0) & (mask != 1)).any()):
            raise ShapeError(f"mask: expected a boolean tensor (True = keep), got {mask.dtype}")
        mask = mask != 0
    if tuple(mask.shape) != (batch_size, max_len):
        raise ShapeError(
            f"mask: expected shape (B, T) = ({batch_size}, {max_len}), got {tuple(mask.shape)}"
        )
    mask = mask.cpu()
    lengths = mask.sum(dim=1)
    steps = torch.arange(max_len)
    right = steps[None, :] < lengths[:, None]
    left = steps[None, :] >= (max_len - lengths)[:, None]
    ok_right = (mask == right).all(dim=1)
    ok_left = (mask == left).all(dim=1)
    bad = ~(ok_right | ok_left)
    if bool(bad.any()):
        row = int(bad.nonzero()[0, 0])
        raise ShapeError(
            f"mask: row {row} is not one contiguous run of True at the start (right padding) "
            "or at the end (left padding) of the sequence"
        )
    shift = torch.where(ok_right, torch.zeros_like(lengths), max_len - lengths)
    return Padding(lengths=lengths, shift=shift if bool(shift.any()) else None)


def resolve_padding(
    batch_size: int, max_len: int, lengths: object | None, mask: object | None
) -> Padding:
    """Turn the ``lengths``/``mask`` arguments of a layer call into a :class:`Padding`.

    ``lengths`` equal to T everywhere collapse to ``Padding(None)`` so the caller can skip all
    masking work.
    """
    if lengths is not None and mask is not None:
        raise ShapeError("lengths, mask: give one of them, not both")
    if mask is not None:
        padding = check_mask(mask, batch_size, max_len)
    elif lengths is not None:
        padding = Padding(check_lengths(lengths, batch_size, max_len))
    else:
        return Padding(None)
    assert padding.lengths is not None
    if padding.shift is None and (batch_size == 0 or int(padding.lengths.min()) == max_len):
        return Padding(None)
    return padding


def mask_from_lengths(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Boolean (B, T) mask, ``True`` at the first ``lengths[b]`` steps of row ``b``."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps[None, :] < lengths[:, None]


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``out[b, t] = x[b, index[b, t]]`` for x of shape (B, T, ...)."""
    index = index.to(x.device)
    shape = index.shape + (1,) * (x.dim() - 2)
    return x.gather(1, index.view(shape).expand(index.shape + x.shape[2:]))


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse each right-padded sequence within its own length; padded steps stay in place.

    x (B, T, ...), lengths (B,) or None (all full: a plain flip). Applying it twice is the identity.
    """
    if lengths is None:
        return x.flip(1)
    max_len = x.shape[1]
    steps = torch.arange(max_len)[None, :]
    lens = lengths.cpu()[:, None]
    index = torch.where(steps < lens, lens - 1 - steps, steps)
    return _gather_time(x, index)


def rotate_time(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``out[b, t] = x[b, (t + shift[b]) % T]``: moves left padding to the right for shift > 0.

    ``rotate_time(rotate_time(x, s), -s)`` is the identity.
    """
    max_len = x.shape[1]
    index = (torch.arange(max_len)[None, :] + shift.cpu()[:, None]) % max(max_len, 1)
    return _gather_time(x, index)


def last_step(
    output: torch.Tensor, lengths: object | None = None, mask: object | None = None
) -> torch.Tensor:
    """The output at each sequence's last real step: (B, T, H) -> (B, H).

    With neither ``lengths`` nor ``mask`` this is ``output[:, -1]``. A zero-length sequence gives
    zeros. With a left-padded ``mask`` the last real step is the last column.

    Example:
        >>> import torch
        >>> out = torch.arange(6.0).view(2, 3, 1)
        >>> last_step(out, torch.tensor([2, 0])).flatten().tolist()
        [1.0, 0.0]
    """
    if output.dim() != 3:
        raise ShapeError(f"output: expected 3 dimensions (B, T, H), got {output.dim()}")
    batch_size, max_len = output.shape[:2]
    padding = resolve_padding(batch_size, max_len, lengths, mask)
    if padding.lengths is None:
        return output[:, -1]
    lens = padding.lengths
    last = lens - 1
    if padding.shift is not None:
        last = last + padding.shift
    index = last.clamp(min=0).to(output.device)
    picked = output[torch.arange(batch_size, device=output.device), index]
    empty = (lens == 0).to(output.device)[:, None]
    return torch.where(empty, torch.zeros((), dtype=output.dtype, device=output.device), picked)
