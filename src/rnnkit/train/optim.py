"""Optimizers, learning-rate schedules and losses by name.

Optimizers use torch's fused kernels where they exist on the parameters' device (Adam, AdamW, SGD,
Adagrad on CPU in torch >= 2.4), else the multi-tensor ``foreach`` implementation. For the small
models rnnkit trains, the optimizer step is a large share of each batch, and fused Adam is several
times faster per step than the default (see benchmarks/results/train.md).

Example:
    >>> import torch
    >>> model = torch.nn.Linear(3, 2)
    >>> opt = make_optimizer("adam", model.parameters(), lr=1e-2)
    >>> type(opt).__name__, opt.defaults.get("fused")
    ('Adam', True)
    >>> sched = make_schedule({"name": "step", "step_size": 2, "gamma": 0.5}, opt, epochs=10)
    >>> type(sched).__name__
    'StepLR'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.train.finetune import StepSchedule, check_step_options, step_schedule_name
from rnnkit.train.metrics import IGNORE_INDEX

OPTIMIZER_NAMES = ("sgd", "momentum", "rmsprop", "adam", "adamw", "adagrad")
SCHEDULE_NAMES = ("step", "cosine", "plateau", "stlr", "one-cycle")

_OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    # Keras' (and Hinton's) decay rho=0.9: torch's default alpha=0.99 averages over 10x more
    # steps, which makes the classic Keras recipes (e.g. SimpleRNN on IMDB) learn far slower.
    "rmsprop": (torch.optim.RMSprop, {"alpha": 0.9, "eps": 1e-7}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "adagrad": (torch.optim.Adagrad, {}),
}


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    fused: bool | None = None,
    **options: Any,
) -> torch.optim.Optimizer:
    """An optimizer by name: sgd, momentum (SGD, momentum 0.9), rmsprop (rho 0.9 as Keras), adam,
    adamw, adagrad.

    ``params``: parameters, or torch's parameter groups (dicts with ``params`` and their own
    ``lr``, ...). ``fused=None`` tries the fused kernel and falls back to ``foreach``; ``False``
    forces foreach. ``options`` go to the torch constructor (e.g. ``betas``, ``momentum``).
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _OPTIMIZERS:
        raise ConfigError(f"optimizer: unknown name {name!r}; "
                          f"choose from {', '.join(OPTIMIZER_NAMES)}")
    cls, defaults = _OPTIMIZERS[key]
    kwargs = {**defaults, "lr": lr, "weight_decay": weight_decay, **options}
    items: list[Any] = list(params)
    param_list: list[Any]
    if items and isinstance(items[0], dict):
        param_list = [{**g, "params": [p for p in g["params"] if p.requires_grad]} for g in items]
        param_list = [g for g in param_list if g["params"]]
        flat = [p for g in param_list for p in g["params"]]
    else:
        param_list = flat = [p for p in items if p.requires_grad]
    if not param_list:
        raise ConfigError("optimizer: the model has no trainable parameters")
    if fused is not False and _supports_fused(cls, flat):
        try:
            return cls(param_list, fused=True, **kwargs)  # type: ignore[call-arg]
        except (RuntimeError, TypeError, ValueError):
            if fused:
                raise
    try:
        return cls(param_list, foreach=True, **kwargs)  # type: ignore[call-arg]
    except (RuntimeError, TypeError, ValueError):
        return cls(param_list, **kwargs)


def _supports_fused(cls: type[torch.optim.Optimizer], params: list[torch.nn.Parameter]) -> bool:
    import inspect

    if "fused" not in inspect.signature(cls.__init__).parameters:
        return False
    return all(p.is_floating_point() for p in params)


def optimizer_is_fused(optimizer: torch.optim.Optimizer) -> bool:
    """Whether the optimizer runs torch's fused kernel."""
    return bool(optimizer.defaults.get("fused"))


def make_schedule(
    spec: str | Mapping[str, Any] | None,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    steps_per_epoch: int | None = None,
    time_budget: float | None = None,
    **options: Any,
) -> Any:
    """A learning-rate schedule, or None.

    ``spec`` is a name or ``{"name": ..., **options}``. Stepped once per epoch:

    - ``"step"``: multiply the lr by ``gamma`` (0.1) every ``step_size`` epochs
      (``max(1, epochs // 3)``).
    - ``"cosine"``: cosine decay to ``eta_min`` (0) over ``T_max`` epochs (``epochs``).
    - ``"plateau"`` (``"reduce_on_plateau"``): multiply by ``factor`` (0.1) after ``patience`` (5)
      epochs without improvement of the monitored value (``monitor``, default val_loss or loss).

    Stepped after every optimizer step (a :class:`rnnkit.train.finetune.StepSchedule` over
    ``epochs * steps_per_epoch`` steps, ending with ``time_budget`` when it comes first):

    - ``"stlr"``: slanted triangular (ULMFiT's eq. 3): up from ``lr / ratio`` (32) to ``lr`` over
      the first ``cut_frac`` (0.1) of the steps, then linearly back down.
    - ``"one-cycle"``: up from ``lr / div_factor`` (25) to ``lr`` over ``pct_start`` (0.3) of the
      steps, then down to ``lr / div_factor / final_div_factor`` (1e4), cosine both ways, as
      torch's ``OneCycleLR``.
    """
    if spec is None:
        return None
    name, opts = _schedule_parts(spec)
    opts.update(options)
    step_name = step_schedule_name(name)
    if step_name is not None:
        total = epochs * steps_per_epoch if steps_per_epoch is not None else None
        return StepSchedule(step_name, optimizer, total, time_budget, **opts)
    sched = torch.optim.lr_scheduler
    try:
        if name == "step":
            opts.setdefault("step_size", max(1, epochs // 3))
            opts.setdefault("gamma", 0.1)
            return sched.StepLR(optimizer, **opts)
        if name == "cosine":
            opts.setdefault("T_max", max(1, epochs))
            return sched.CosineAnnealingLR(optimizer, **opts)
        if name in ("plateau", "reduce_on_plateau", "reducelronplateau"):
            opts.setdefault("factor", 0.1)
            opts.setdefault("patience", 5)
            return sched.ReduceLROnPlateau(optimizer, **opts)
    except TypeError as err:
        raise ConfigError(f"schedule: bad option for {name!r}: {err}") from err
    raise ConfigError(f"schedule: unknown name {name!r}; choose from {', '.join(SCHEDULE_NAMES)}")


def check_schedule(spec: Any) -> None:
    """A one-line ConfigError for a schedule that :func:`make_schedule` would refuse by its name
    (or a per-step schedule's options), before any training."""
    if spec is None:
        return
    name, opts = _schedule_parts(spec)
    step_name = step_schedule_name(name)
    if step_name is not None:
        check_step_options(step_name, opts)
    elif name not in ("step", "cosine", "plateau", "reduce_on_plateau", "reducelronplateau"):
        raise ConfigError(
            f"schedule: unknown name {name!r}; choose from {', '.join(SCHEDULE_NAMES)}"
        )


def _schedule_parts(spec: Any) -> tuple[str, dict[str, Any]]:
    """``(name, options)`` of a schedule spec: a name or ``{"name": ..., **options}``; the name
    lower case with ``_`` for ``-`` and without the plateau's ``monitor``."""
    if isinstance(spec, str):
        name, opts = spec, {}
    elif isinstance(spec, Mapping):
        opts = {k: v for k, v in spec.items() if k != "name"}
        name = spec.get("name", "")
    else:
        raise ConfigError("schedule: expected a name or a dict with 'name', "
                          f"got {type(spec).__name__}")
    opts.pop("monitor", None)
    return str(name).lower().replace("-", "_"), opts


def schedule_monitor(spec: Any, has_validation: bool) -> str:
    """The quantity a plateau schedule watches (``monitor`` option or val_loss / loss)."""
    if isinstance(spec, Mapping) and "monitor" in spec:
        return str(spec["monitor"])
    return "val_loss" if has_validation else "loss"


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _cross_entropy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if output.dim() != target.dim() + 1:
        raise ShapeError(
            f"cross_entropy: output {tuple(output.shape)} must be target {tuple(target.shape)} "
            "plus a class axis, e.g. (B, C) with (B,) or (B, T, V) with (B, T)"
        )
    return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1),
                           ignore_index=IGNORE_INDEX)


def _bce(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if output.shape != target.shape:
        if output.numel() != target.numel():
            raise ShapeError(f"bce: output {tuple(output.shape)} does not match target "
                             f"{tuple(target.shape)}")
        output = output.reshape(target.shape)
    return F.binary_cross_entropy_with_logits(output, target.to(output.dtype))


def _mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if output.shape != target.shape:
        if output.numel() != target.numel():
            raise ShapeError(f"mse: output {tuple(output.shape)} does not match target "
                             f"{tuple(target.shape)}")
        output = output.reshape(target.shape)
    return F.mse_loss(output, target.to(output.dtype))


def _mae(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if output.shape != target.shape:
        output = output.reshape(target.shape)
    return F.l1_loss(output, target.to(output.dtype))


_LOSSES: dict[str, LossFn] = {
    "cross_entropy": _cross_entropy,
    "bce": _bce,
    "binary_cross_entropy": _bce,
    "mse": _mse,
    "mae": _mae,
}


def make_loss(loss: str | LossFn) -> tuple[LossFn, str]:
    """``(loss_fn(output, target) -> scalar, name)``; ``cross_entropy`` ignores target -100.

    ``bce`` takes logits; ``mse``/``mae`` reshape ``(B, 1)`` outputs to ``(B,)`` targets.
    """
    if callable(loss):
        return loss, getattr(loss, "__name__", "custom")
    key = str(loss).lower()
    if key not in _LOSSES:
        raise ConfigError(f"loss: unknown name {loss!r}; choose from cross_entropy, bce, mse, "
                          "mae or pass a function")
    return _LOSSES[key], key


def loss_weight(loss_name: str, output: torch.Tensor, target: torch.Tensor) -> int:
    """How many terms a batch's mean loss averages over, so epoch means are exact.

    Token-level cross entropy averages over non-ignored tokens; everything else over samples.
    """
    if loss_name == "cross_entropy" and target.dim() >= 1 and not target.is_floating_point():
        return int((target != IGNORE_INDEX).sum())
    return int(target.shape[0]) if target.dim() else 1


__all__ = [
    "OPTIMIZER_NAMES",
    "SCHEDULE_NAMES",
    "make_optimizer",
    "optimizer_is_fused",
    "make_schedule",
    "check_schedule",
    "schedule_monitor",
    "make_loss",
    "loss_weight",
]
