"""rnnkit.tasks: the user-level estimators (fit / predict / score / evaluate / save / load).

All five keep scikit-learn's estimator contract (:mod:`rnnkit.tasks.base`): keyword options
stored as given, ``get_params``/``set_params``, options checked by ``fit``, ``score`` one float
(higher is better) and ``evaluate`` a dict.

The estimators are imported on first use (PEP 562 module ``__getattr__``): ``import rnnkit.tasks``
and ``rnnkit.tasks.defaults`` stay free of torch, so that the CLI starts fast. Importing a task's
module registers the task with ``rnnkit.load``, which imports all of :data:`TASK_MODULES` first.

Example:
    >>> import rnnkit.tasks
    >>> rnnkit.tasks.TextClassifier.__module__
    'rnnkit.tasks.text'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnnkit.tasks.forecast import Forecaster
    from rnnkit.tasks.language_model import LanguageModel
    from rnnkit.tasks.sequence import SequenceClassifier
    from rnnkit.tasks.text import TextClassifier
    from rnnkit.tasks.translation import Translator

#: The module that defines each public estimator.
_ESTIMATOR_MODULES = {
    "Forecaster": "rnnkit.tasks.forecast",
    "LanguageModel": "rnnkit.tasks.language_model",
    "SequenceClassifier": "rnnkit.tasks.sequence",
    "TextClassifier": "rnnkit.tasks.text",
    "Translator": "rnnkit.tasks.translation",
}

#: Every module that registers a task with ``rnnkit.load`` when imported.
TASK_MODULES = tuple(sorted(set(_ESTIMATOR_MODULES.values())))


def __getattr__(name: str) -> Any:
    """Import an estimator's module the first time the estimator is asked for."""
    module = _ESTIMATOR_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    # later look-ups skip __getattr__ (and monkeypatching sees a plain attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ESTIMATOR_MODULES})


__all__ = ["Forecaster", "LanguageModel", "SequenceClassifier", "TextClassifier", "Translator"]
