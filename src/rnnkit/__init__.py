"""rnnkit: recurrent neural networks you can learn from and ship.

Subpackages (arrows point downwards only):

- ``rnnkit.scratch``: NumPy cells with hand-written backpropagation through time.
- ``rnnkit.nn``: PyTorch cells and recurrent layers (fused fast path + generic cell loop).
- ``rnnkit.data``, ``rnnkit.train``, ``rnnkit.io``, ``rnnkit.viz``: pipelines, trainer, bundles, plots.
- ``rnnkit.tasks``: estimators such as ``TextClassifier``.
"""

from __future__ import annotations

import os
from typing import Any

from rnnkit.errors import (
    BundleError,
    ConfigError,
    DataError,
    RnnkitError,
    ShapeError,
    TrainingError,
)

__version__ = "0.1.0"


def load(path: str | os.PathLike[str]) -> Any:
    """Load a saved model bundle and return its task object (e.g. a ``TextClassifier``).

    Imported lazily so that ``import rnnkit.scratch`` stays free of torch.
    """
    from rnnkit.io import load as load_bundle

    return load_bundle(path)


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
