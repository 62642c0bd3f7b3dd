"""The fine-tuning schedule of ULMFiT (Howard & Ruder 2018, arXiv 1801.06146), for any model:
learning rates that change after every optimizer step (slanted triangular, one-cycle),
discriminative learning rates per layer group, and gradual unfreezing.

A model takes part in the last two through a ``layer_groups()`` method: lists of parameters,
bottom to top (e.g. the embedding, each recurrent layer, the head). Parameters it leaves out join
the top group.

Example:
    >>> import torch
    >>> net = torch.nn.Linear(2, 2)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.32)
    >>> stlr = StepSchedule("stlr", opt, total_steps=100)
    >>> round(opt.param_groups[0]["lr"], 4)          # lr / ratio at the first step
    0.01
    >>> for _ in range(10):
    ...     stlr.step()
    >>> round(opt.param_groups[0]["lr"], 4)          # the peak, after cut_frac of the steps
    0.32
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from rnnkit.errors import ConfigError

#: The schedules stepped after every optimizer step (the others step once per epoch).
STEP_SCHEDULE_NAMES = ("stlr", "one_cycle")
_ALIASES = {"slanted_triangular": "stlr", "onecycle": "one_cycle"}
_OPTIONS: dict[str, dict[str, float]] = {
    "stlr": {"cut_frac": 0.1, "ratio": 32.0},
    "one_cycle": {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
}
UNFREEZE_CHOICES = (None, "gradual")


def step_schedule_name(name: str) -> str | None:
    """The canonical name of a per-step schedule (``"one-cycle"`` -> ``"one_cycle"``), or None
    for any other name."""
    key = str(name).lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    return key if key in STEP_SCHEDULE_NAMES else None


def stlr_factor(t: float, total: float, cut_frac: float = 0.1, ratio: float = 32.0,
                whole_steps: bool = True) -> float:
    """The slanted triangular learning rate as a fraction of its peak at step ``t`` of ``total``
    (the paper's eq. 3): a linear rise over ``cut = floor(total * cut_frac)`` steps from
    ``1 / ratio`` to 1, then a linear fall back to ``1 / ratio`` at ``total``. The fall lasts
    ``total - cut`` steps; eq. 3's ``cut * (1 / cut_frac - 1)`` is the same when ``total *
    cut_frac`` is whole, and would otherwise reach the floor early (in the last 9 of 18 steps
    for ``cut_frac`` 0.1). With ``whole_steps=False`` ``t`` and ``total`` are fractions of
    training (no floor).

    Example:
        >>> [round(stlr_factor(t, 20, ratio=2), 3) for t in (0, 1, 2, 11, 20)]
        [0.5, 0.75, 1.0, 0.75, 0.5]
    """
    cut = max(1.0, math.floor(total * cut_frac)) if whole_steps else total * cut_frac
    if t < cut:
        p = t / cut
    else:
        p = 1.0 - (t - cut) / max(total - cut, 1e-12)
    p = min(max(p, 0.0), 1.0)
    return (1.0 + p * (ratio - 1.0)) / ratio


def one_cycle_factor(t: float, total: float, pct_start: float = 0.3, div_factor: float = 25.0,
                     final_div_factor: float = 1e4, whole_steps: bool = True) -> float:
    """The one-cycle learning rate (Smith 2018) as a fraction of its peak at step ``t`` of
    ``total``, as ``torch.optim.lr_scheduler.OneCycleLR`` computes it (cosine annealing, two
    phases): from ``1 / div_factor`` up to 1 over ``pct_start`` of the steps, then down to
    ``1 / (div_factor * final_div_factor)``.

    Example:
        >>> [round(one_cycle_factor(t, 11, pct_start=0.5, div_factor=10), 4) for t in (0, 4.5, 10)]
        [0.1, 1.0, 0.0]
    """
    last = total - 1.0 if whole_steps else total
    peak = pct_start * total - 1.0 if whole_steps else pct_start * total
    low, floor = 1.0 / div_factor, 1.0 / (div_factor * final_div_factor)
    if t <= peak:
        start, end, pct = low, 1.0, _fraction(t, 0.0, peak)
    else:
        start, end, pct = 1.0, floor, _fraction(t, peak, last)
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


def _fraction(t: float, start: float, end: float) -> float:
    if end <= start:
        return 1.0
    return min(max((t - start) / (end - start), 0.0), 1.0)


class StepSchedule:
    """A learning-rate schedule stepped after every optimizer step: each parameter group's lr is
    its initial lr times the schedule's factor, so discriminative rates keep their ratios.

    The position is the number of steps done (out of ``total_steps``); under a ``time_budget``
    it is at least the budget's spent fraction (``step(elapsed=...)``), so the schedule ends with
    the budget; with ``total_steps=None`` (train until the budget runs out) it is that fraction
    alone. The position never goes back. ``state_dict()`` holds everything, for an exact resume.

    Args:
        name: ``stlr`` (options ``cut_frac`` 0.1, ``ratio`` 32) or ``one_cycle``
            (``pct_start`` 0.3, ``div_factor`` 25, ``final_div_factor`` 1e4; the learning rate
            only, momentum is not cycled).
    """

    per_step = True

    def __init__(
        self, name: str, optimizer: torch.optim.Optimizer, total_steps: int | None,
        time_budget: float | None = None, **options: Any,
    ) -> None:
        key = step_schedule_name(name)
        if key is None:
            raise ConfigError(f"schedule: {name!r} is not a per-step schedule; "
                              f"use one of {', '.join(STEP_SCHEDULE_NAMES)}")
        if total_steps is None and time_budget is None:
            raise ConfigError(f"schedule {name!r}: needs a number of epochs or a time budget")
        self.name = key
        self.options = check_step_options(key, options)
        self.optimizer = optimizer
        self.whole_steps = total_steps is not None
        self.total = float(total_steps) if total_steps is not None else 1.0
        self.time_budget = time_budget
        self.steps = 0
        self.position = 0.0
        self.base_lrs = [float(g["lr"]) for g in optimizer.param_groups]
        self._apply()

    def factor(self) -> float:
        """The fraction of every group's peak learning rate at the current position."""
        fn = stlr_factor if self.name == "stlr" else one_cycle_factor
        return fn(self.position, self.total, whole_steps=self.whole_steps, **self.options)

    def step(self, elapsed: float | None = None) -> None:
        """After an optimizer step; ``elapsed``: seconds of the time budget spent."""
        self.steps += 1
        position = float(self.steps) if self.whole_steps else 0.0
        if self.time_budget is not None and elapsed is not None:
            position = max(position, elapsed / self.time_budget * self.total)
        self.position = min(self.total, max(self.position, position))
        self._apply()

    def _apply(self) -> None:
        scale = self.factor()
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * scale

    def get_last_lr(self) -> list[float]:
        return [float(g["lr"]) for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "steps": self.steps, "position": self.position,
                "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.steps = int(state["steps"])
        self.position = float(state["position"])
        self.base_lrs = [float(v) for v in state["base_lrs"]]
        self._apply()


def check_step_options(name: str, options: Mapping[str, Any]) -> dict[str, float]:
    """The options of per-step schedule ``name`` with their defaults; one-line ConfigError for an
    unknown option or a value out of range."""
    defaults = _OPTIONS[name]
    unknown = set(options) - set(defaults)
    if unknown:
        raise ConfigError(f"schedule {name!r}: unknown option(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(defaults)}")
    values = {**defaults, **options}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise ConfigError(f"schedule {name!r}: {key} must be a finite number, got {value!r}")
    fractions = ("cut_frac", "pct_start")
    for key in fractions:
        if key in values and not 0.0 < values[key] < 1.0:
            raise ConfigError(f"schedule {name!r}: {key} must be between 0 and 1, "
                              f"got {values[key]}")
    for key in ("ratio", "div_factor", "final_div_factor"):
        if key in values and values[key] < 1.0:
            raise ConfigError(f"schedule {name!r}: {key} must be >= 1, got {values[key]}")
    return {k: float(v) for k, v in values.items()}


# ---------------------------------------------------------------- layer groups


def model_layer_groups(model: torch.nn.Module, why: str) -> list[list[torch.nn.Parameter]]:
    """The trainable parameters of ``model`` by its ``layer_groups()``, bottom to top: each
    parameter once (where it first appears), empty groups dropped, the parameters the method
    leaves out added to the top group. ``why`` names the option that needs the groups."""
    method = getattr(model, "layer_groups", None)
    if not callable(method):
        raise ConfigError(
            f"{why}: the model ({type(model).__name__}) has no layer_groups() method; give it one "
            "returning lists of parameters from the bottom layer to the top, or leave "
            f"{why} unset"
        )
    seen: set[int] = set()
    groups: list[list[torch.nn.Parameter]] = []
    for group in method():
        kept = []
        for p in group:
            if id(p) not in seen and p.requires_grad:
                seen.add(id(p))
                kept.append(p)
        if kept:
            groups.append(kept)
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in seen]
    if rest:
        if not groups:
            groups.append([])
        groups[-1].extend(rest)
    if not groups:
        raise ConfigError("optimizer: the model has no trainable parameters")
    return groups


def discriminative_groups(groups: Sequence[list[torch.nn.Parameter]], lr: float,
                          decay: float | None) -> list[dict[str, Any]]:
    """Optimizer parameter groups: group ``l`` of ``L`` (0 = bottom) gets ``lr / decay ** (L - 1
    - l)``, so the top group trains at ``lr`` (``decay=None``: ``lr`` for all).

    Example:
        >>> a, b, c = (torch.nn.Parameter(torch.zeros(1)) for _ in range(3))
        >>> [g["lr"] for g in discriminative_groups([[a], [b], [c]], 1.0, 2.0)]
        [0.25, 0.5, 1.0]
    """
    top = len(groups) - 1
    factor = 1.0 if decay is None else float(decay)
    return [{"params": list(g), "lr": lr / factor ** (top - i)} for i, g in enumerate(groups)]


def unfreeze_for_epoch(groups: Sequence[list[torch.nn.Parameter]], epoch: int) -> int:
    """Gradual unfreezing: in ``epoch`` (0-based) the top ``epoch + 1`` groups train and the
    others are frozen (``requires_grad=False``, so no gradient is computed and the optimizer
    leaves them alone). Returns the number of trainable groups."""
    trainable = min(epoch + 1, len(groups))
    first = len(groups) - trainable
    for index, group in enumerate(groups):
        for p in group:
            p.requires_grad_(index >= first)
    return trainable


_LAYER_SUFFIX = re.compile(r"_l(\d+)(?:_reverse)?$")


def stacked_layer_groups(layer: torch.nn.Module) -> list[list[torch.nn.Parameter]]:
    """The parameters of a stacked recurrent layer (``weight_ih_l0``, ``weight_hh_l1_reverse``,
    ... as torch and :mod:`rnnkit.nn` name them), one list per layer, bottom first; a layer with
    other names is one group.

    Example:
        >>> lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
        >>> [len(g) for g in stacked_layer_groups(lstm)]
        [8, 8]
    """
    by_layer: dict[int, list[torch.nn.Parameter]] = {}
    for name, p in layer.named_parameters():
        match = _LAYER_SUFFIX.search(name)
        if match is None:
            return [list(layer.parameters())]
        by_layer.setdefault(int(match.group(1)), []).append(p)
    return [by_layer[k] for k in sorted(by_layer)]


__all__ = [
    "STEP_SCHEDULE_NAMES", "UNFREEZE_CHOICES", "StepSchedule", "check_step_options",
    "discriminative_groups", "model_layer_groups", "one_cycle_factor", "stacked_layer_groups",
    "step_schedule_name", "stlr_factor", "unfreeze_for_epoch",
]
