"""The one exception ``rnnkit.scratch`` raises for mistakes a user can make.

``scratch`` stands alone (it imports nothing else from rnnkit), so it defines its own error. It
subclasses :class:`ValueError`, so ``except ValueError`` catches it too.

Example:
    >>> from rnnkit.scratch import ScratchError
    >>> issubclass(ScratchError, ValueError)
    True
"""

from __future__ import annotations


class ScratchError(ValueError):
    """An argument has the wrong shape, dtype or value; the message names it and what to do."""


__all__ = ["ScratchError"]
