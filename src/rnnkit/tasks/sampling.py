"""Choosing the next token from a language model's logits: temperature, top-k, top-p (nucleus).

Order of operations (as in Hugging Face ``generate``): banned ids are removed, logits are divided by
``temperature``, then ``top_k`` keeps the k most likely tokens and ``top_p`` keeps the smallest set
of most likely tokens whose probability reaches ``p``; one token is drawn from what is left.
``temperature=0`` means greedy decoding: the arg-max (no randomness, filters irrelevant).

A seeded ``torch.Generator`` makes draws repeatable: the same logits, options and seed give the
same tokens.

Example:
    >>> import torch
    >>> logits = torch.tensor([0.0, 3.0, 1.0, 2.0])
    >>> sample_next(logits, temperature=0).item()
    1
    >>> filter_logits(logits, top_k=2).tolist()
    [-inf, 3.0, -inf, 2.0]
    >>> g = torch.Generator().manual_seed(0)
    >>> sample_next(logits, temperature=1.0, top_k=2, generator=g).item() in (1, 3)
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import torch

from rnnkit.errors import ConfigError


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise :class:`ConfigError` for a temperature < 0, top_k < 1 or top_p outside (0, 1]."""
    if not temperature >= 0.0:
        raise ConfigError(f"temperature={temperature} must be >= 0 (0 = greedy)")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k={top_k} must be >= 1 (or None for no limit)")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ConfigError(f"top_p={top_p} must be in (0, 1] (or None for no limit)")


def filter_logits(
    logits: torch.Tensor,
    top_k: int | None = None,
    top_p: float | None = None,
    banned: Sequence[int] = (),
) -> torch.Tensor:
    """Logits ``(..., V)`` with the tokens outside top-k / top-p / banned set to ``-inf``.

    At least one token (the most likely allowed one) always survives.
    """
    out = logits.clone()
    if banned:
        out[..., list(banned)] = float("-inf")
    vocab = out.shape[-1]
    if top_k is not None and top_k < vocab:
        kth = torch.topk(out, top_k, dim=-1).values[..., -1:]
        out = out.masked_fill(out < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(out, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        before = torch.cumsum(probs, dim=-1) - probs  # probability mass of the better tokens
        drop_sorted = before >= top_p
        drop_sorted[..., 0] = False
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        out = out.masked_fill(drop, float("-inf"))
    return out


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    banned: Sequence[int] = (),
) -> torch.Tensor:
    """Token ids ``(...)`` drawn from logits ``(..., V)``; ``temperature=0`` takes the arg-max."""
    check_sampling(temperature, top_k, top_p)
    logits = logits.detach().float()
    if temperature == 0.0:
        return filter_logits(logits, banned=banned).argmax(dim=-1)
    filtered = filter_logits(logits / temperature, top_k, top_p, banned)
    probs = torch.softmax(filtered, dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    draws = torch.multinomial(flat, 1, generator=generator)
    return draws.reshape(probs.shape[:-1])


def make_generator(seed: int | None) -> torch.Generator:
    """A CPU generator: seeded when ``seed`` is given, else from fresh entropy."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed))
    return generator


def until_stop(pieces: Iterable[str], stop: str | None) -> Iterator[str]:
    """Pass text pieces through, ending just before the first occurrence of ``stop``.

    Text that could be the start of ``stop`` is held back until it is clear that it is not, so the
    stop string itself is never emitted, even when it spans several pieces.

    Example:
        >>> list(until_stop(["ab", "c\\n", "\\nde"], "\\n\\n"))
        ['ab', 'c']
    """
    if not stop:
        yield from pieces
        return
    buffer = ""
    for piece in pieces:
        buffer += piece
        at = buffer.find(stop)
        if at >= 0:
            if at:
                yield buffer[:at]
            return
        keep = _partial_stop(buffer, stop)
        if len(buffer) > keep:
            yield buffer[: len(buffer) - keep]
            buffer = buffer[len(buffer) - keep :]
    if buffer:
        yield buffer


def _partial_stop(text: str, stop: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``stop``."""
    for k in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:k]):
            return k
    return 0


__all__ = ["check_sampling", "filter_logits", "sample_next", "make_generator", "until_stop"]
