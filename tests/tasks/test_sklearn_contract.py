"""The five estimators under scikit-learn itself: clone, Pipeline, GridSearchCV, cross_val_score
and the checks of ``sklearn.utils.estimator_checks`` that apply.

Tiny data and networks (one epoch, width 4): this is about the contract, not accuracy.

The estimator checks used are the ones about parameters and tags, which need no data
(``PARAM_CHECKS``). The others fit on random 2-D float arrays (``make_blobs``), which none of these
estimators takes (texts, variable-length sequences ``(N, T, F)``, one series, sentence pairs): for
the ones that matter here -- ``fit`` returns self, ``fit`` does not change the options
(``check_estimators_overwrite_params``) and adds only attributes ending in ``_`` or private ones
(``check_dont_overwrite_parameters``) -- ``test_fit_keeps_the_options`` checks the same on each
estimator's own data.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402
from sklearn.utils import estimator_checks  # noqa: E402

from rnnkit.tasks import (  # noqa: E402
    Forecaster,
    LanguageModel,
    SequenceClassifier,
    TextClassifier,
    Translator,
    defaults,  # noqa: E402
)

TINY_CLS = dict(hidden_size=4, epochs=1, batch_size=8, verbose=0, patience=0)


def _texts() -> tuple[list[str], list[str]]:
    texts = ["good film", "bad film", "great fun", "awful plot", "good fun", "bad plot"] * 4
    return texts, ["pos", "neg", "pos", "neg", "pos", "neg"] * 4


def _sequences() -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(0)
    y = [i % 2 for i in range(24)]
    X = rng.normal(size=(24, 5, 2)) + np.asarray(y, dtype=float)[:, None, None]
    return X, y


def _series() -> tuple[np.ndarray, None]:
    t = np.arange(120)
    return 50 + 0.2 * t + 5 * np.sin(2 * np.pi * t / 12), None


def _corpus() -> tuple[list[str], None]:
    return ["hello world", "hello there", "world of words", "there and here"] * 5, None


def _pairs() -> tuple[list[str], list[str]]:
    sources = ["a b c", "b c a", "c a b", "a c b", "b a c", "c b a"] * 4
    return sources, [" ".join(reversed(s.split())) for s in sources]


#: (estimator, data, the option GridSearchCV varies)
CASES: dict[str, tuple[Any, Any, str]] = {
    "TextClassifier": (
        TextClassifier(**TINY_CLS, embedding_dim=4, min_freq=1),
        _texts,
        "hidden_size",
    ),
    "SequenceClassifier": (SequenceClassifier(**TINY_CLS), _sequences, "hidden_size"),
    "Forecaster": (
        Forecaster(hidden_size=4, epochs=1, ensemble=1, lookback=6, season=12, verbose=0),
        _series,
        "hidden_size",
    ),
    "LanguageModel": (
        LanguageModel(
            hidden_size=4,
            num_layers=1,
            embedding_dim=4,
            epochs=1,
            bptt=8,
            batch_size=2,
            valid_batch_size=2,
            valid_fraction=0,
            verbose=0,
        ),
        _corpus,
        "hidden_size",
    ),
    "Translator": (
        Translator(
            hidden_size=4,
            embedding_dim=4,
            epochs=1,
            min_freq=1,
            valid_fraction=0,
            beam_size=1,
            batch_size=8,
            verbose=0,
        ),
        _pairs,
        "hidden_size",
    ),
}
DEFAULTS = {
    "TextClassifier": defaults.TEXT_DEFAULTS, "SequenceClassifier": defaults.SEQ_DEFAULTS,
    "Forecaster": defaults.FORECAST_DEFAULTS, "LanguageModel": defaults.LM_DEFAULTS,
    "Translator": defaults.TRANSLATE_DEFAULTS,
}
#: The estimator checks about parameters, tags and repr (no data needed).
PARAM_CHECKS = (
    "check_estimator_cloneable", "check_estimator_repr", "check_get_params_invariance",
    "check_set_params", "check_no_attributes_set_in_init", "check_parameters_default_constructible",
    "check_do_not_raise_errors_in_init_or_set_params", "check_estimator_tags_renamed",
    "check_valid_tag_types", "check_mixin_order",
)
NAMES = sorted(CASES)


def _cv(name: str) -> Any:
    """Classifiers: scikit-learn's stratified folds; the others: contiguous halves (a series'
    folds stay in time order)."""
    return 2 if name.endswith("Classifier") else KFold(2)


def _lower(texts: Any) -> Any:
    return [t.lower() for t in texts]


def _identity(x: Any) -> Any:
    return x


@pytest.mark.parametrize("name", NAMES)
def test_signature_defaults_are_the_defaults_dict(name: str) -> None:
    signature = inspect.signature(type(CASES[name][0]).__init__)
    found = {k: p.default for k, p in signature.parameters.items() if k != "self"}
    assert found == DEFAULTS[name]
    assert all(p.kind is p.KEYWORD_ONLY for k, p in signature.parameters.items() if k != "self")


@pytest.mark.parametrize("check", PARAM_CHECKS)
@pytest.mark.parametrize("name", NAMES)
def test_sklearn_parameter_checks(name: str, check: str) -> None:
    getattr(estimator_checks, check)(name, clone(CASES[name][0]))


@pytest.mark.parametrize("name", NAMES)
def test_clone_get_params_set_params(name: str) -> None:
    estimator = CASES[name][0]
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == estimator.get_params()
    assert copy.set_params(seed=3) is copy and copy.get_params()["seed"] == 3
    assert estimator.get_params()["seed"] == 0
    assert copy.params == copy.get_params(deep=False)
    with pytest.raises(ValueError, match="unknown option 'nonsense'"):
        copy.set_params(nonsense=1)


@pytest.mark.parametrize("name", NAMES)
def test_validation_happens_in_fit(name: str) -> None:
    estimator = clone(CASES[name][0]).set_params(lr=-1.0)  # accepted as given...
    assert estimator.get_params()["lr"] == -1.0
    X, y = CASES[name][1]()
    with pytest.raises(ValueError, match="lr must be"):  # ...refused by fit (a ConfigError)
        estimator.fit(X, y)


@pytest.mark.parametrize("name", NAMES)
def test_fit_keeps_the_options_and_score_is_a_float(name: str) -> None:
    estimator, data, _ = CASES[name]
    estimator = clone(estimator)
    before = estimator.get_params()
    public_before = {k for k in vars(estimator) if not k.startswith("_")}
    X, y = data()
    assert estimator.fit(X, y) is estimator
    assert estimator.get_params() == before
    added = {k for k in vars(estimator) if not k.startswith("_")} - public_before
    assert added and all(k.endswith("_") for k in added), added
    score = estimator.score(X, y)
    assert isinstance(score, float) and np.isfinite(score)
    report = estimator.evaluate(X, y)
    assert isinstance(report, dict)


@pytest.mark.parametrize("name", NAMES)
def test_cross_val_score(name: str) -> None:
    estimator, data, _ = CASES[name]
    X, y = data()
    scores = cross_val_score(clone(estimator), X, y, cv=_cv(name))
    assert scores.shape == (2,) and np.isfinite(scores).all()


@pytest.mark.parametrize("name", NAMES)
def test_grid_search(name: str) -> None:
    estimator, data, param = CASES[name]
    X, y = data()
    search = GridSearchCV(clone(estimator), {param: [2, 4]}, cv=_cv(name)).fit(X, y)
    assert search.best_params_[param] in (2, 4)
    assert type(search.best_estimator_) is type(estimator)
    assert np.isfinite(search.best_score_)


@pytest.mark.parametrize("name", NAMES)
def test_pipeline(name: str) -> None:
    estimator, data, _ = CASES[name]
    X, y = data()
    step = FunctionTransformer(_lower if isinstance(X, list) else _identity)
    pipe = make_pipeline(step, clone(estimator))
    assert pipe.fit(X, y) is pipe
    assert np.isfinite(pipe.score(X, y))
    assert pipe.get_params()[f"{type(estimator).__name__.lower()}__hidden_size"] == 4


def test_scores_are_documented_transforms_of_evaluate() -> None:
    forecaster, data, _ = CASES["Forecaster"]
    X, _ = data()
    model = clone(forecaster).fit(X)
    assert model.score(X) < 0
    lm = clone(CASES["LanguageModel"][0]).fit(_corpus()[0])
    assert lm.score(_corpus()[0]) == pytest.approx(-lm.evaluate(_corpus()[0])["loss"])


def test_fit_options_refused_by_name() -> None:
    X, _ = _series()
    model = clone(CASES["Forecaster"][0])
    with pytest.raises(ValueError, match="2 workers asked for"):
        model.fit(X, workers=2)
    with pytest.raises(ValueError, match="validation_data is not supported"):
        model.fit(X, validation_data=X)
    with pytest.raises(ValueError, match="y is not used"):
        model.fit(X, X)
