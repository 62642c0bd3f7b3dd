"""rnnkit.tasks: the user-level estimators (fit / predict / predict_proba / score / save / load).

Importing this package registers each task with ``rnnkit.load``.
"""

from __future__ import annotations

from rnnkit.tasks.forecast import Forecaster
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.sequence import SequenceClassifier
from rnnkit.tasks.text import TextClassifier
from rnnkit.tasks.translation import Translator

__all__ = ["Forecaster", "LanguageModel", "SequenceClassifier", "TextClassifier", "Translator"]
