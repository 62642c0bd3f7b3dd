"""Shared builders for the scratch tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import numpy as np

from rnnkit.scratch import GRU, LSTM, RNN

# (id, scratch class, constructor options) for every cell and variant
VARIANTS = [
    ("rnn_tanh", RNN, {"nonlinearity": "tanh"}),
    ("rnn_relu", RNN, {"nonlinearity": "relu"}),
    ("lstm", LSTM, {}),
    ("gru_reset_after", GRU, {"reset_after": True}),
    ("gru_reset_before", GRU, {"reset_after": False}),
]


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def like_state(parts, template):
    return tuple(parts) if isinstance(template, tuple) else parts[0]


def random_probe(rng: np.random.Generator, out, state):
    """Random weights R so that L = sum(R_out * out) + sum(R_s * state) probes every gradient."""
    d_out = rng.normal(size=out.shape)
    d_state = [rng.normal(size=s.shape) for s in as_tuple(state)]
    return d_out, like_state(d_state, state)


def probe_loss(out, state, d_out, d_state) -> float:
    total = float((out * d_out).sum())
    for s, d in zip(as_tuple(state), as_tuple(d_state), strict=True):
        total += float((s * d).sum())
    return total
