"""``--help`` that reads like a well-kept command line's, set in one place for every command.

Typer builds the click command tree from the functions; :func:`tidy_help` then walks it once:

- plain click help (no boxes), the same in a terminal and in a pipe or a file;
- click-style metavars: ``--hidden-size N``, ``--lr X``, ``--out DIR``, ``--cell CELL``, no type
  after a flag, ``TRAIN...`` (not ``{TRAIN...}...`` or ``<list[Path]>``) in the usage line;
- every default said once, as ``[default: ...]``: an option left unset takes its task's default
  (marked with :func:`rnnkit.cli.common.shows_defaults`), shown from the same table the estimator
  reads, so help and behaviour cannot disagree.

    >>> import click
    >>> from rnnkit.cli import build_command
    >>> train = build_command().commands["text"].commands["train"]
    >>> ctx = click.Context(train, info_name="train")
    >>> train.get_usage(ctx).split(maxsplit=1)[1]
    'train [OPTIONS] TRAIN...'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

from typer.core import TyperArgument, TyperGroup, TyperOption

from rnnkit.cli.common import DEFAULTS_ATTRIBUTE

#: The metavar of an option that does not name its own, by the type of its value.
METAVARS: dict[Any, str] = {int: "N", float: "X", str: "TEXT", Path: "FILE"}


class _Argument(TyperArgument):
    """An argument shown as click shows it: ``TRAIN...`` in the usage line, no type in the list."""

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        return [self.display_name_raw if self.required else f"[{self.display_name_raw}]"]

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class _Option(TyperOption):
    """An option whose ``show_default`` text is shown as given: ``[default: 64]``."""

    def _get_default_string(self, *, ctx: Any, show_default_is_str: bool,
                            default_value: Any) -> str:
        if show_default_is_str:
            return str(self.show_default)
        return super()._get_default_string(ctx=ctx, show_default_is_str=False,
                                           default_value=default_value)

    def _get_number_range_help_str(self) -> str | None:
        return None  # "x>=1" is noise in the help; a value out of range is still refused


def tidy_help(command: Any, defaults: dict[str, Any] | None = None) -> Any:
    """Walk ``command`` (a click command or group built by typer) and tidy the help of every
    command below it, in place; returns ``command``."""
    command.rich_markup_mode = None
    command.context_settings.setdefault("max_content_width", 100)
    callback = getattr(command, "callback", None)
    shown = getattr(callback, DEFAULTS_ATTRIBUTE, None) or defaults or {}
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.__class__ = _Argument
            if param.metavar is None:
                param.metavar = str(param.name).upper() + ("..." if param.nargs != 1 else "")
        elif isinstance(param, TyperOption):
            param.__class__ = _Option
            _tidy_option(param, shown)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            tidy_help(sub)
    return command


def _tidy_option(option: TyperOption, defaults: dict[str, Any]) -> None:
    if option.is_flag or option.count:
        option.metavar = ""
    elif option.metavar is None:
        value_type = option.type_descriptor.annotation
        if get_origin(value_type) is list:  # a repeatable option: the type of one value
            (value_type,) = get_args(value_type)
        option.metavar = METAVARS.get(value_type, "VALUE")
    if option.default is None and defaults.get(str(option.name)) is not None:
        option.show_default = _shown(option, defaults[str(option.name)])


def _shown(option: TyperOption, value: Any) -> str:
    """A task default as the help shows it: a paired flag by the name of its side."""
    if isinstance(value, bool) and option.secondary_opts:
        return (option.opts if value else option.secondary_opts)[0].lstrip("-")
    return str(value)
