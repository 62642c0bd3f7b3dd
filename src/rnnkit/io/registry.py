"""Task registry: ``rnnkit.load(path)`` returns the right task object for a saved bundle.

Each task module registers a loader when it is imported::

    from rnnkit.io import register_task

    def _load_text_classifier(parts):          # parts: rnnkit.io.BundleParts, already validated
        model = build_model(parts.config["model"])
        parts.check(model.state_dict())        # BundleError if the weights do not fit the config
        model.load_state_dict(parts.state_dict)
        return TextClassifier._from_parts(model, parts)

    register_task("text_classifier", _load_text_classifier)

:func:`load_registered` reads the bundle with :func:`rnnkit.io.load_bundle_parts` and dispatches on
``config["task"]`` among the loaders registered so far. ``rnnkit.io`` never imports the task layer
(the import-linter contracts in ``.importlinter`` say so): ``rnnkit.load``
(:func:`rnnkit.tasks.loadable.load`) imports every task module first, then calls
:func:`load_registered`.

Example:
    >>> import tempfile, pathlib, torch
    >>> register_task("demo_identity", lambda parts: parts.config["task"])
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "m"
    >>> from rnnkit.io.bundle import save_bundle
    >>> _ = save_bundle(d, {"task": "demo_identity"}, {"w": torch.zeros(1)})
    >>> load_registered(d)
    'demo_identity'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rnnkit.errors import BundleError
from rnnkit.io.bundle import BundleParts, load_bundle_parts, restore_from_parts

TaskLoader = Callable[[BundleParts], Any]

_LOADERS: dict[str, TaskLoader] = {}


def register_task(name: str, loader: TaskLoader) -> None:
    """Make ``rnnkit.load`` call ``loader(parts)`` for bundles whose config says ``task: name``.

    Registering the same name again replaces the loader (so module reloads work).
    """
    if not name or not isinstance(name, str):
        raise BundleError(
            "register_task: name must be a non-empty string such as 'text_classifier'"
        )
    _LOADERS[name] = loader


def registered_tasks() -> list[str]:
    """Names of the tasks that can be loaded right now."""
    return sorted(_LOADERS)


def load_registered(path: str | os.PathLike[str]) -> Any:
    """Load a saved model bundle with the loader registered for its task.

    Only tasks whose modules were imported are known here; ``rnnkit.load`` imports them all first.

    Raises:
        BundleError: the bundle is missing, corrupt, from a newer schema, of an unknown task, or its
            config or pipeline files are malformed (one line, never a traceback).
    """
    parts = load_bundle_parts(path)
    loader = _LOADERS.get(parts.task)
    if loader is None:
        known = ", ".join(registered_tasks()) or "none"
        raise BundleError(
            f"bundle {parts.path}: unknown task {parts.task!r} (known: {known}); "
            "upgrade rnnkit or check config.json"
        )
    return restore_from_parts(loader, parts)


__all__ = ["register_task", "registered_tasks", "load_registered", "TaskLoader"]
