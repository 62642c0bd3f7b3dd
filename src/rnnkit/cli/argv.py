"""Command-line words before click sees them: file-list options take every file that follows.

``rnnkit text train train_0*.csv --test test_0*.csv`` reaches us, after the shell's expansion, as
``--test test_00.csv test_01.csv test_02.csv``. Click gives an option one value, so the other test
files would silently become training files. Like argparse's ``nargs='+'``, an option named in
:data:`FILE_LIST_OPTIONS` therefore takes every following word up to the next one that starts with
``-``; the words are rewritten to ``--test test_00.csv --test test_01.csv ...`` for click.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from rnnkit.errors import ConfigError

#: Options that take one or more files; declared ``list[Path]`` (repeatable) in every command.
FILE_LIST_OPTIONS = frozenset({
    "--test", "--valid", "--test-labels",
    "--test-source", "--test-target", "--valid-source", "--valid-target",
})


#: Former option names, still understood (not shown in --help) with a warning: old -> new.
RENAMED_OPTIONS = {"--layers": "--num-layers"}


def renew_option_names(app: typer.Typer, argv: Sequence[str]) -> list[str]:
    """``argv`` with a former option name (:data:`RENAMED_OPTIONS`) of the chosen command replaced
    by its new one; a ``warning: ...`` line on stderr says so."""
    words = list(argv)
    command, depth = _find_command(app, words)
    if command is None:
        return words
    known = {opt for p in command.params if isinstance(p, TyperOption) for opt in p.opts}
    for i in range(depth, len(words)):
        if words[i] == "--":
            break
        name, equals, value = words[i].partition("=")
        new = RENAMED_OPTIONS.get(name)
        if new in known and name not in known:
            words[i] = new + equals + value
            typer.echo(f"warning: {name} is now {new}; please use {new}", err=True)
    return words


def spread_file_lists(app: typer.Typer, argv: Sequence[str]) -> list[str]:
    """``argv`` with every file-list option of the chosen command repeated once per file.

    Raises ConfigError when the option took every word and the command's required files
    (e.g. TRAIN) are left without one, since the user surely meant some of them as TRAIN.
    """
    words = list(argv)
    command, depth = _find_command(app, words)
    if command is None or "--help" in words:
        return words
    greedy = {opt for p in command.params if isinstance(p, TyperOption) and p.multiple
              for opt in p.opts if opt in FILE_LIST_OPTIONS}
    if not greedy:
        return words
    spread, extra = _spread(words[depth:], greedy)
    if extra:
        _require_positionals(command, spread)
    return words[:depth] + spread


def _spread(words: list[str], greedy: set[str]) -> tuple[list[str], int]:
    """The rewritten words and how many extra files the greedy options took."""
    out: list[str] = []
    extra = 0
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            out.extend(words[i:])
            break
        name, has_value, _ = word.partition("=")
        out.append(word)
        i += 1
        if name not in greedy:
            continue
        if not has_value and i < len(words):  # the first value, taken as click would take it
            out.append(words[i])
            i += 1
        while i < len(words) and not words[i].startswith("-"):
            out += [name, words[i]]
            extra += 1
            i += 1
    return out, extra


def _require_positionals(command: Any, words: list[str]) -> None:
    """Refuse a command line whose required arguments all went to a file-list option."""
    required = [p for p in command.params if isinstance(p, TyperArgument) and p.required]
    if not required or _positionals(command, words):
        return
    shown = (required[0].metavar or str(required[0].name).upper()).rstrip(".")
    raise ConfigError(
        f"no {shown} files: the file-list options took every file; put the {shown} files before "
        "the options (--test and --valid take every file up to the next option)"
    )


def _positionals(command: Any, words: list[str]) -> int:
    """How many words of a command line are arguments, not options or option values."""
    valued = {opt for p in command.params if isinstance(p, TyperOption) and not p.is_flag
              and not p.count for opt in p.opts}
    count = 0
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return count + len(words) - i - 1
        if word.startswith("-") and word != "-":
            i += 2 if word in valued else 1
            continue
        count += 1
        i += 1
    return count


def _find_command(app: typer.Typer, words: list[str]) -> tuple[Any, int]:
    """The leaf command that ``words`` name (``text train`` -> its command) and how many words
    name it; ``(None, 0)`` for a group alone or an unknown name (typer then says what is wrong)."""
    command: Any = typer.main.get_command(app)
    depth = 0
    while isinstance(command, TyperGroup):
        if depth >= len(words) or words[depth] not in command.commands:
            return None, 0
        command = command.commands[words[depth]]
        depth += 1
    return command, depth
