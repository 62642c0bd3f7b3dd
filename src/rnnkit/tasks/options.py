"""The estimators' keyword options: defaults, and the checks every numeric option must pass.

One place for the rules, used by ``fit`` (before any data is read) and by ``load`` (a bundle's
``config.json`` is untrusted input): :func:`check_options` checks types and ranges (``lr=nan``,
``num_layers=1000000``, ``hidden_size="8"`` are refused with one line naming the option), and
:func:`check_network_size` refuses a network whose parameter count, measured on the ``meta``
device before anything is allocated, exceeds :func:`max_parameters`.

Example:
    >>> from rnnkit.tasks.options import check_options
    >>> check_options("TextClassifier", {"lr": float("nan")})
    Traceback (most recent call last):
    ...
    rnnkit.errors.ConfigError: TextClassifier: lr must be a finite number > 0, got nan
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rnnkit.errors import ConfigError

#: Widths above this are refused outright (a 2**20-wide layer already has ~10**12 weights).
MAX_WIDTH = 1 << 20
#: Stacked recurrent layers; deeper stacks do not train and take long to even build.
MAX_LAYERS = 64
#: Networks above this many parameters are refused whatever the machine's memory.
MAX_PARAMETERS = 2_000_000_000
#: Training holds weights, gradients and two Adam moments: 16 bytes per float32 parameter.
BYTES_PER_PARAMETER = 16


@dataclass(frozen=True)
class Rule:
    """What one numeric option accepts.

    ``kind`` is ``"int"`` or ``"float"``; the value must lie in ``[low, high]`` (``low`` excluded
    when ``open_low``); ``none`` allows None and ``words`` lists allowed strings such as "auto".
    """

    kind: str
    low: float
    high: float = math.inf
    open_low: bool = False
    none: bool = False
    words: tuple[str, ...] = ()

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is refused, or None when it is fine."""
        if (value is None and self.none) or (isinstance(value, str) and value in self.words):
            return None
        wanted = numbers.Integral if self.kind == "int" else numbers.Real
        if isinstance(value, bool) or not isinstance(value, wanted) or not self._in_range(value):
            shown = repr(value)
            return (
                f"must be {self.describe()}, "
                f"got {shown if len(shown) <= 40 else shown[:37] + '...'}"
            )
        return None

    def _in_range(self, value: Any) -> bool:
        # Integers are compared exactly: float(10**400) would overflow.
        try:
            number = operator.index(value) if self.kind == "int" else float(value)
        except OverflowError:
            return False
        if self.kind == "float" and not math.isfinite(number):
            return False
        too_low = number <= self.low if self.open_low else number < self.low
        return not too_low and number <= self.high

    def describe(self) -> str:
        noun = "an integer" if self.kind == "int" else "a finite number"
        if self.high == math.inf:
            span = f"> {_num(self.low)}" if self.open_low else f">= {_num(self.low)}"
        else:
            lower = "(" if self.open_low else "["
            span = f"in {lower}{_num(self.low)}, {_num(self.high)}]"
        extras = [repr(w) for w in self.words] + (["None"] if self.none else [])
        return f"{noun} {span}" + (f" (or {' or '.join(extras)})" if extras else "")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _width(none: bool = False) -> Rule:
    return Rule("int", 1, MAX_WIDTH, none=none)


def _fraction(open_low: bool = False, high: float = 1.0) -> Rule:
    return Rule("float", 0.0, high, open_low=open_low)


_COUNT = Rule("int", 1, 10**9)

#: The numeric options of all five estimators (an option an estimator lacks is never looked up).
RULES: dict[str, Rule] = {
    "hidden_size": _width(),
    "embedding_dim": _width(),
    "head_hidden": Rule("int", 0, MAX_WIDTH, none=True),
    "num_layers": Rule("int", 1, MAX_LAYERS),
    "dropout": _fraction(high=0.99),
    "max_tokens": Rule("int", 1, 10**8, none=True),
    "min_freq": Rule("int", 0, 10**9),
    "max_length": Rule("int", 1, 10**8, none=True),
    "window": Rule("int", 1, 10**8, none=True),
    "max_source_length": Rule("int", 1, 10**8),
    "max_target_length": Rule("int", 1, 10**8),
    "batch_size": Rule("int", 1, 10**7, words=("auto",)),
    "valid_batch_size": Rule("int", 1, 10**7),
    "bptt": Rule("int", 1, 10**7),
    "epochs": Rule("int", 1, 10**7, none=True, words=("auto",)),
    "lr": Rule("float", 0.0, math.inf, open_low=True),
    "weight_decay": Rule("float", 0.0),
    "clip_norm": Rule("float", 0.0, math.inf, open_low=True, none=True),
    "validation_split": Rule("float", 0.0, 0.99, none=True),
    "valid_fraction": Rule("float", 0.0, 0.99, none=True),
    "validation_size": Rule("float", 0.0, 0.99),
    "patience": Rule("int", 0, 10**7, none=True),
    "time_budget": Rule("float", 0.0, math.inf, open_low=True, none=True),
    "seed": Rule("int", 0, 2**63 - 1),
    "lookback": Rule("int", 1, 10**6, words=("auto",)),
    "horizon": Rule("int", 1, 10**6),
    "stride": Rule("int", 1, 10**6),
    "season": Rule("int", 1, 10**6, words=("auto",)),
    "ensemble": Rule("int", 1, 100),
    "interval_level": _fraction(open_low=True, high=0.999),
    "mc_samples": Rule("int", 1, 10**5),
    "teacher_forcing": _fraction(),
    "label_smoothing": _fraction(high=0.99),
    "beam_size": Rule("int", 1, 1000),
    "length_penalty": Rule("float", 0.0, 100.0),
    "max_output_ratio": Rule("float", 0.0, 1000.0, open_low=True),
    "embedding_dropout": _fraction(high=0.99),
    "weight_drop": _fraction(high=0.99),
    "layer_lr_decay": Rule("float", 0.0, 1e3, open_low=True, none=True),
    "conv_kernel": Rule("int", 1, 64),
    "ar": Rule("float", 0.0, 1e6),
    "tar": Rule("float", 0.0, 1e6),
}

#: Where one estimator reads an option differently from the others.
OVERRIDES: dict[str, dict[str, Rule]] = {
    # A language model without an embedding (None or 0) feeds one-hot vectors.
    "LanguageModel": {"embedding_dim": Rule("int", 0, MAX_WIDTH, none=True)},
}

#: The options that set a network's size, named when it is too large.
SIZE_OPTIONS = ("hidden_size", "num_layers", "embedding_dim", "head_hidden", "ensemble", "lookback")


def check_known(estimator: str, params: Mapping[str, Any], known: Sequence[str]) -> None:
    """A ConfigError naming ``estimator`` for an option of ``params`` not in ``known`` (a bundle's
    options are untrusted; a Python caller gets the TypeError of ``__init__`` instead)."""
    unknown = set(params) - set(known)
    if unknown:
        raise ConfigError(
            f"{estimator}: unknown option(s) {', '.join(sorted(map(str, unknown)))}; "
            f"known: {', '.join(known)}"
        )


def check_options(estimator: str, params: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the first numeric option of ``params`` that is not
    finite, has the wrong type, or lies outside its range (see ``RULES``)."""
    rules = {**RULES, **OVERRIDES.get(estimator, {})}
    for name, value in params.items():
        rule = rules.get(name)
        problem = rule.problem(value) if rule is not None else None
        if problem is not None:
            raise ConfigError(f"{estimator}: {name} {problem}")


def check_choices(estimator: str, params: Mapping[str, Any],
                  choices: Mapping[str, tuple[Any, ...]]) -> None:
    """Raise :class:`ConfigError` naming the first option of ``params`` whose value is not one of
    ``choices[option]`` (the word options: ``cell``-like names, modes, levels).

    Example:
        >>> check_choices("LanguageModel", {"level": "byte"}, {"level": ("char", "word")})
        Traceback (most recent call last):
        ...
        rnnkit.errors.ConfigError: LanguageModel: level='byte' is unknown; use one of 'char', 'word'
    """
    for name, allowed in choices.items():
        value = params.get(name)
        if not any(value is a or (type(value) is type(a) and value == a) for a in allowed):
            shown = repr(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise ConfigError(
                f"{estimator}: {name}={shown} is unknown; "
                f"use one of {', '.join(map(repr, allowed))}"
            )


def max_parameters() -> int:
    """The largest network allowed: ``MAX_PARAMETERS``, or less when this machine's memory
    cannot train it (``BYTES_PER_PARAMETER`` each)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: no memory figure
        return MAX_PARAMETERS
    return max(1, min(MAX_PARAMETERS, memory // BYTES_PER_PARAMETER))


def check_network_size(estimator: str, network: Any, params: Mapping[str, Any],
                       limit: int | None = None) -> int:
    """The parameter count of ``network`` (a :func:`meta_network`); ConfigError above ``limit``
    (default :func:`max_parameters`), naming the size options."""
    count = sum(int(p.numel()) for p in network.parameters())
    limit = max_parameters() if limit is None else limit
    if count > limit:
        sizes = ", ".join(
            f"{k}={params[k]}" for k in SIZE_OPTIONS if params.get(k) not in (None, "auto")
        )
        raise ConfigError(
            f"{estimator}: the network would have {count:.3g} parameters, "
            f"more than the {limit:.3g} this machine can train ({sizes}); "
            "use a smaller hidden_size, num_layers or embedding_dim"
        )
    return count


def meta_network(build: Callable[[], Any]) -> Any:
    """``build()`` on the ``meta`` device: every shape, no memory and no initialisation work.

    Initialisers (``uniform_``, ``orthogonal_``, ...) are skipped: on meta tensors they change
    nothing, and torch would import its compiler (seconds) to run them.
    """
    import torch

    with torch.device("meta"), _skip_inplace_on_meta():
        return build()


@contextmanager
def _skip_inplace_on_meta() -> Iterator[None]:
    from torch.overrides import TorchFunctionMode

    class SkipInit(TorchFunctionMode):
        def __torch_function__(
            self, func: Any, types: Any, args: Any = (), kwargs: Any = None
        ) -> Any:
            kwargs = kwargs or {}
            first = args[0] if args else next(iter(kwargs.values()), None)
            if _is_initialiser(func) and getattr(first, "is_meta", False):
                return first
            return func(*args, **kwargs)

    with SkipInit():
        yield


#: In-place operations that change a tensor's shape: never skipped.
_SHAPING = {"resize_", "resize_as_", "set_", "as_strided_", "squeeze_", "unsqueeze_", "transpose_",
            "t_", "swapdims_", "swapaxes_"}


def _is_initialiser(func: Any) -> bool:
    name = getattr(func, "__name__", "")
    return name.endswith("_") and not name.endswith("__") and name not in _SHAPING


__all__ = [
    "MAX_PARAMETERS", "RULES", "Rule", "check_choices", "check_network_size", "check_options",
    "max_parameters", "meta_network", "check_known",
]
