"""The contract every rnnkit estimator keeps: scikit-learn's, without importing scikit-learn.

* ``__init__`` takes explicit keyword arguments (defaults in :mod:`rnnkit.tasks.defaults`) and
  stores each one, unchanged, under its own name: no validation, no computation.
* ``get_params(deep=True)`` and ``set_params(**params)`` read the names from the ``__init__``
  signature, like :class:`sklearn.base.BaseEstimator`; ``params`` is ``get_params()`` as a dict.
* ``fit(X, y=None, validation_data=None, epochs=None, time_budget=None, *, workers=None,
  checkpoint_dir=None, resume=False, checkpoint_every=None)`` checks the options
  (:func:`rnnkit.tasks.options.check_options` and the estimator's word choices), learns, and
  returns self. Attributes learned by ``fit`` end with ``_``.
* ``score(X, y=None)`` is one float, higher is better (what ``GridSearchCV`` maximises);
  ``evaluate(X, y=None)`` is the full report, a dict.
* ``save(path, extra_metrics=None, *, plots=True, force=False)`` and ``load(path)``
  (:class:`rnnkit.tasks.loadable.LoadableFromBundle`).

scikit-learn itself is needed only by the tests: ``__sklearn_tags__`` imports it when scikit-learn
asks for the tags, i.e. when it is installed.

Example:
    >>> from rnnkit.tasks.base import Estimator
    >>> class Toy(Estimator):
    ...     def __init__(self, *, size=4, cell="lstm"):
    ...         self._store_params(locals())
    >>> toy = Toy(size=8)
    >>> toy
    Toy(size=8)
    >>> toy.set_params(cell="gru").get_params()
    {'cell': 'gru', 'size': 8}
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.errors import ConfigError
from rnnkit.io.bundle import BundleParts
from rnnkit.tasks.loadable import LoadableFromBundle


class Estimator(LoadableFromBundle):
    """Parameters, validation, tags and the multi-process ``fit`` shared by the five estimators.

    Subclasses define ``__init__`` with keyword arguments only and call
    ``self._store_params(locals())`` in it; ``choices`` maps an option to the values it accepts
    besides the numeric rules (checked by :meth:`_validate_params` at ``fit`` and ``load``).
    """

    #: The bundle's ``task`` (see :mod:`rnnkit.tasks.defaults`).
    task: ClassVar[str] = ""
    #: Options that take one of a few values: name -> allowed values.
    choices: ClassVar[Mapping[str, tuple[Any, ...]]] = {}
    #: scikit-learn's estimator type ("classifier" or None) and whether ``fit`` needs ``y``.
    estimator_type: ClassVar[str | None] = None
    requires_y: ClassVar[bool] = False

    # Fitted state, as class-level defaults: ``__init__`` sets only the options.
    model_: Any = None
    history_: Any = None
    metrics_: dict[str, Any] = {}

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The ``__init__`` keyword names, sorted (as scikit-learn lists them)."""
        signature = inspect.signature(cls.__init__)
        names = []
        for name, param in signature.parameters.items():
            if name == "self":
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must take explicit keyword arguments, "
                                f"not {param}")
            names.append(name)
        return sorted(names)

    def _store_params(self, given: Mapping[str, Any]) -> None:
        """Store every ``__init__`` argument (``locals()`` of ``__init__``) as given."""
        for name in self._get_param_names():
            setattr(self, name, given[name])

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments as currently set; with ``deep``, also ``name__sub`` entries of
        parameters that are estimators themselves."""
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update({f"{name}__{k}": v for k, v in value.get_params().items()})
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Estimator:
        """Set constructor arguments (``name__sub`` reaches into a nested estimator); returns self.
        An unknown name is a ConfigError (a ValueError, as scikit-learn expects)."""
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ConfigError(
                    f"{type(self).__name__}: unknown option {name!r}; known: {', '.join(valid)}"
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    #: Options as ``fit`` resolved them where they come from elsewhere (a pretrained model's
    #: sizes): they override the constructor's in :attr:`params` and in the saved bundle.
    _resolved_params: dict[str, Any] = {}

    @property
    def params(self) -> dict[str, Any]:
        """``get_params(deep=False)``: every option by name (read-only view; use set_params),
        with the values ``fit`` resolved (e.g. the encoder sizes of ``pretrained=``)."""
        return {**self.get_params(deep=False), **self._resolved_params}

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{name}={value!r}" for name, value in self.get_params(deep=False).items()
            if not _same(value, defaults.get(name))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _validate_params(self) -> dict[str, Any]:
        """Check every option (numeric rules, then word choices); the options as a dict.
        Called by ``fit`` before any data is read, and by ``load`` on a bundle's options."""
        from rnnkit.cells import CELL_NAMES
        from rnnkit.tasks.options import check_choices, check_options

        params = self.params
        check_options(type(self).__name__, params)
        # Every estimator with a recurrent ``cell`` takes the registered names (rnnkit.cells).
        choices = {**({"cell": CELL_NAMES} if "cell" in params else {}), **self.choices}
        check_choices(type(self).__name__, params, choices)
        if params.get("schedule") is not None:
            from rnnkit.train.optim import check_schedule  # torch: only when a schedule is named

            check_schedule(params["schedule"])
        return params

    def _schedule_options(self) -> dict[str, Any]:
        """The Trainer's learning-rate options of the estimators that have them, read the same
        way by all (``TextClassifier``, ``SequenceClassifier``, ``LanguageModel``): ``schedule``,
        ``layer_lr_decay`` (discriminative rates by the network's ``layer_groups()``) and
        ``unfreeze``; None for an option the estimator lacks."""
        p = self.params
        return {name: p.get(name) for name in ("schedule", "layer_lr_decay", "unfreeze")}

    # ------------------------------------------------------------------ bundles
    def save(
        self, path: str | Path, extra_metrics: dict[str, Any] | None = None, *, plots: bool = True,
        force: bool = False, **figure_options: Any,
    ) -> Path:
        """Write the model bundle directory atomically (see :mod:`rnnkit.io`): config, weights,
        pipeline JSON, ``metrics_`` plus ``extra_metrics``, history and PNG figures (``plots=False``
        leaves the figures out: faster, e.g. to hand a model between processes).

        Only an empty directory or a bundle of this task is replaced; ``force=True`` also replaces
        a bundle of another task. Anything else at ``path`` is refused (BundleError).
        ``figure_options`` go to the estimator's figures (Translator: ``example=``, a source
        text whose attention map is saved)."""
        from rnnkit.io import check_bundle_target, save_bundle

        model = self._require_fitted()
        check_bundle_target(path, self.task, force)  # before the figures are drawn
        metrics = {**self.metrics_, **(extra_metrics or {})}
        figures = self._figures(metrics, **figure_options) if plots else {}
        config = {"task": self.task, "params": _jsonable(self.params), **self._bundle_config()}
        return save_bundle(
            path, config, model.state_dict(), extra_json=self._bundle_state(),
            history=self.history_, metrics=metrics, plots=figures, force=force,
        )

    def _require_fitted(self) -> Any:
        model = getattr(self, "model_", None)
        if model is None:
            raise ConfigError(f"this {type(self).__name__} is not fitted yet; "
                              "call fit() or load() first")
        return model

    def _bundle_config(self) -> dict[str, Any]:
        """config.json entries besides ``task`` and ``params`` (network sizes, levels, ...)."""
        raise NotImplementedError

    def _bundle_state(self) -> dict[str, Any]:
        """The pipeline's JSON files: name -> JSON-ready object (``vocab``, ``scaler``, ...)."""
        raise NotImplementedError

    def _figures(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """The bundle's figures (name -> matplotlib Figure): here the training curves."""
        history = getattr(self, "history_", None)
        if history is None or not len(history):
            return {}
        from rnnkit.viz import plot_history

        return {"curves": plot_history(history, title=f"{type(self).__name__} training")}

    # ------------------------------------------------------------------ scikit-learn tags
    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags (only scikit-learn calls this, so it is installed)."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        tags = Tags(
            estimator_type=self.estimator_type,
            target_tags=TargetTags(required=self.requires_y),
            input_tags=self._input_tags(InputTags),
        )
        if self.estimator_type == "classifier":
            tags.classifier_tags = ClassifierTags()
        tags.non_deterministic = False
        return tags

    def _input_tags(self, input_tags: Any) -> Any:
        return input_tags(two_d_array=False)

    # ------------------------------------------------------------------ fitting
    def _start_run(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        workers: int | None,
        checkpoint_dir: str | os.PathLike[str] | None,
        resume: bool,
        checkpoint_every: int | None,
    ) -> dict[str, Any] | None:
        """The Trainer's run options; or, with ``workers`` > 1 outside a process group, run
        ``fit(*args, **kwargs)`` in that many local processes, adopt rank 0's fitted attributes
        and return None (nothing left to do)."""
        from rnnkit.train import distributed

        n = distributed.check_workers(workers)
        if n > 1 and self.params.get("unfreeze") is not None:
            raise ConfigError("unfreeze='gradual' does not work with several workers yet; "
                              "train with one worker or without gradual unfreezing")
        options = {"checkpoint_dir": checkpoint_dir, "resume": resume,
                   "checkpoint_every": checkpoint_every}
        if n > 1 and distributed.context() is None and not distributed.launched_by_torchrun():
            fitted = distributed.fit_in_workers(self, args, {**kwargs, **options}, n)
            self._adopt(fitted)
            return None
        distributed.init_from_env()
        return options

    def _fingerprint(self) -> dict[str, Any]:
        """The network's options by their command-line names, e.g. ``{"--hidden-size": 64,
        "--num-layers": 1}``: the Trainer checks a checkpoint it resumes from against them."""
        p = self.params
        return {"--" + k.replace("_", "-"): p[k] for k in getattr(self, "network_params", ())
                if k in p}

    def _adopt(self, fitted: Estimator) -> None:
        """Take the fitted attributes (not the options) of ``fitted``, another instance."""
        names = set(self._get_param_names())
        self.__dict__.update({k: v for k, v in fitted.__dict__.items() if k not in names})

    def _check_y_unused(self, y: Any) -> None:
        if y is not None:
            raise ConfigError(
                f"{type(self).__name__}: y is not used (X holds all the data); "
                "leave it None and give other options by keyword"
            )

    @classmethod
    def _from_bundle_params(cls, parts: BundleParts) -> Any:
        """A new estimator with the bundle's options, checked like ``fit``'s."""
        from rnnkit.tasks.options import check_known

        parts.require_task(cls.task)
        params = cls._params_from(parts)
        check_known(cls.__name__, params, cls._get_param_names())
        obj = cls(**params)
        obj._validate_params()
        return obj


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value is default or (type(value) is type(default) and value == default))
    except (TypeError, ValueError):  # array-like values compare element-wise
        return False


__all__ = ["Estimator"]
