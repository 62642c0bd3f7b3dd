"""rnnkit: recurrent neural networks you can learn from and ship.

Subpackages (arrows point downwards only; the contracts in ``.importlinter``, run by ``make lint``
and by ``tests/test_package.py``, check it; docs/architecture.md draws the house):

- ``rnnkit.cli`` (the ``rnnkit`` command), then ``rnnkit.serve`` (HTTP) and ``rnnkit.demo``.
- ``rnnkit.tasks``: estimators such as ``TextClassifier``; beside it ``rnnkit.inspect``.
- ``rnnkit.train``, ``rnnkit.data``, ``rnnkit.nn``, ``rnnkit.viz``: trainer, pipelines, layers,
  plots.
- ``rnnkit.io``: bundles on disk and atomic writes; ``rnnkit.errors`` at the bottom.
- ``rnnkit.scratch``: NumPy cells with hand-written backpropagation through time; stands alone.
"""

from __future__ import annotations

import os
from typing import Any

from rnnkit._version import __version__
from rnnkit.errors import (
    BundleError,
    ConfigError,
    DataError,
    RnnkitError,
    ShapeError,
    TrainingError,
)


def load(path: str | os.PathLike[str]) -> Any:
    """Load a saved model bundle and return its task object (e.g. a ``TextClassifier``).

    Raises:
        BundleError: the bundle is missing, corrupt, from a newer schema, of an unknown task, or its
            config or pipeline files are malformed (one line, never a traceback).

    The task layer is imported on the first call, so that ``import rnnkit.scratch`` stays free of
    torch. Only the top of the house (``cli``, ``serve``, ``inspect``'s bundle views) calls this.
    """
    from rnnkit.tasks.loadable import load as load_task

    return load_task(path)


__all__ = [
    "__version__",
    "load",
    "RnnkitError",
    "ShapeError",
    "ConfigError",
    "DataError",
    "BundleError",
    "TrainingError",
]
