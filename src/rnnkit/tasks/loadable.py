"""Estimators read from bundles: the task-level half of loading (``rnnkit.io`` holds the format).

``rnnkit.io`` knows the bundle format (files, manifest, checksums, weights) and keeps the registry
of task loaders; it imports nothing above it. What a bundle *means* for an estimator lives here,
in the task layer: its ``params`` pass the same option rules as ``fit``'s
(:mod:`rnnkit.tasks.options`), its network is sized on the ``meta`` device first, and its
``history.csv`` becomes a :class:`rnnkit.train.History`. :func:`load` (``rnnkit.load``) imports
every task module, so that each registers its loader with :func:`rnnkit.io.register_task`, and
then dispatches through :func:`rnnkit.io.load_registered`.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rnnkit.errors import BundleError
from rnnkit.io.bundle import CONFIG_NAME, BundleParts, load_bundle_parts, restore_from_parts

if TYPE_CHECKING:
    import torch

_Estimator = TypeVar("_Estimator", bound="LoadableFromBundle")


class LoadableFromBundle:
    """Mixin for estimators: ``load(path)`` reads a bundle and hands it to ``_from_parts``.

    A bundle is untrusted input: its options pass the same checks as ``fit``'s, the network is
    first built on the ``meta`` device (no memory) and compared with the weights' names and shapes,
    and any malformed entry becomes a one-line :class:`BundleError`.
    """

    @classmethod
    def load(cls: type[_Estimator], path: str | Path) -> _Estimator:
        """Read a bundle written by ``save`` (never unpickles)."""
        return restore_from_parts(cls._from_parts, load_bundle_parts(path))  # type: ignore[no-any-return]

    @classmethod
    def _from_parts(cls, parts: BundleParts) -> Any:
        raise NotImplementedError

    @classmethod
    def _params_from(cls, parts: BundleParts) -> dict[str, Any]:
        """The bundle's ``params``, checked like ``fit``'s options (ConfigError on a bad value)."""
        from rnnkit.tasks.options import check_options

        params = parts.section("params", dict)
        if not all(isinstance(k, str) for k in params):
            raise BundleError(f"bundle {parts.path}: {CONFIG_NAME} 'params' has non-text keys; "
                              "re-save the model")
        check_options(cls.__name__, params)
        return dict(params)

    def _build_network(self) -> torch.nn.Module:
        raise NotImplementedError

    def _checked_network(self) -> Any:
        """``_build_network()``, after its parameter count was measured on the ``meta`` device and
        found to fit this machine (ConfigError naming the size options otherwise)."""
        from rnnkit.tasks.options import check_network_size, meta_network

        skeleton = meta_network(self._build_network)
        check_network_size(type(self).__name__, skeleton, getattr(self, "params", {}))
        return self._build_network()

    def _restore_network(self, parts: BundleParts) -> None:
        """Rebuild the network (``_build_network``), load the bundle's checked weights into it
        in eval mode, and restore ``history_`` and ``metrics_``.

        The names and shapes are compared on a ``meta`` copy first, so a config that does not fit
        its weights (``hidden_size: 8000`` next to small weights) never allocates anything.
        """
        from rnnkit.tasks.options import meta_network
        from rnnkit.train import History

        parts.check(meta_network(self._build_network).state_dict())
        model = self._build_network()
        model.load_state_dict(parts.state_dict)
        self.model_: Any = model.eval()
        csv_text = parts.history_csv()
        self.history_: Any = History.from_csv(csv_text) if csv_text else None
        self.metrics_: Any = dict(parts.metrics)


def load(path: str | os.PathLike[str]) -> Any:
    """``rnnkit.load``: the task object saved in the bundle at ``path`` (e.g. a ``TextClassifier``).

    Imports every module of :data:`rnnkit.tasks.TASK_MODULES` (each registers its loader with
    :func:`rnnkit.io.register_task` when imported), then reads the bundle and dispatches on its
    ``config["task"]`` through :func:`rnnkit.io.load_registered`.

    Raises:
        BundleError: the bundle is missing, corrupt, from a newer schema, of an unknown task, or its
            config or pipeline files are malformed (one line, never a traceback).
    """
    from rnnkit.io import load_registered
    from rnnkit.tasks import TASK_MODULES

    for module in TASK_MODULES:
        importlib.import_module(module)
    return load_registered(path)


__all__ = ["LoadableFromBundle", "load"]
