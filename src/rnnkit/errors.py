"""The exceptions rnnkit raises for mistakes a user can make.

Every error a user can cause (a bad file, a wrong column, a tensor of the wrong shape, a bundle from
another version) is a subclass of :class:`RnnkitError` whose message says, on one line, what is
wrong and what to do. The CLI prints that line and exits with status 2.

Example:
    >>> from rnnkit import RnnkitError
    >>> try:
    ...     raise ShapeError("input: expected 3 dimensions (B, T, F), got 2")
    ... except RnnkitError as err:
    ...     print(err)
    input: expected 3 dimensions (B, T, F), got 2
"""

from __future__ import annotations

import warnings


class RnnkitError(Exception):
    """Base class of every user-facing rnnkit error."""


class ShapeError(RnnkitError, ValueError):
    """A tensor or array argument has the wrong rank, size or dtype."""


class ConfigError(RnnkitError, ValueError):
    """An option or hyper-parameter is invalid or inconsistent with another."""


class DataError(RnnkitError, ValueError):
    """Input data cannot be read or does not fit the task (missing column, one class, empty)."""


class BundleError(RnnkitError):
    """A saved model bundle is missing, corrupt, or from an incompatible version."""


class TrainingError(RnnkitError):
    """Training cannot go on (non-finite loss, nothing to train on)."""


class RnnkitWarning(UserWarning):
    """Something the user should know that does not stop the work (a missing font, missing
    dates in a series)."""


def warn_user(message: str) -> None:
    """Issue ``message`` as one :class:`RnnkitWarning` line on stderr, without the source line
    that :func:`warnings.warn` prints below the message (the user did not write that line)."""
    warnings.warn_explicit(message, RnnkitWarning, "rnnkit", 0)


__all__ = ["RnnkitError", "ShapeError", "ConfigError", "DataError", "BundleError", "TrainingError",
           "RnnkitWarning", "warn_user"]
