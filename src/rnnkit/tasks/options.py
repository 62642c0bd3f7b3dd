"""The estimators' keyword options: the defaults merged with what the caller gave.

Example:
    >>> from rnnkit.tasks.options import with_defaults
    >>> with_defaults("Model", {"lr": 0.1}, {"lr": 1e-3, "epochs": 5})
    {'lr': 0.1, 'epochs': 5}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rnnkit.errors import ConfigError


def with_defaults(
    estimator: str, params: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """``{**defaults, **params}``; a ConfigError naming ``estimator`` for an unknown option."""
    unknown = set(params) - set(defaults)
    if unknown:
        raise ConfigError(
            f"{estimator}: unknown option(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(defaults)}"
        )
    return {**defaults, **params}
