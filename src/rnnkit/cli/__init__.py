"""The ``rnnkit`` command: a thin face over ``rnnkit.tasks``.

The contract every command keeps (docs/cli.md says it for users):

- **Results on stdout, everything else on stderr**: progress bars, "read 120 texts", warnings
  (one ``warning: ...`` line each) and errors.
- **Errors**: a user error (:class:`rnnkit.RnnkitError`) is one ``error: ...`` line on stderr and
  exit status 2, as are typer's usage errors; Ctrl-C exits 130 with one line saying what was saved.
- **--json**, on every command:

  - commands that answer once (``train``, ``evaluate``, ``score``, ``backtest``, ``forecast``,
    ``generate``, ``export``, ``report``, ``inspect``, ``memory``, ``info``, ``demo``) print
    **one JSON object as the last stdout line** (the human-readable lines stay above it);
    ``serve`` prints its object (URL and models) once it is ready, then serves;
  - commands that answer per input (:data:`JSON_LINES_COMMANDS`: ``text predict``,
    ``seq predict``, ``translate run``) print **JSON Lines**: one object per input, in input
    order, and nothing else on stdout.

- **Option names** are Python's with dashes (``num_layers`` -> ``--num-layers``); ``--format`` is
  an export format only (data files: ``--input-format``); the five ``train`` commands share the
  training options of :data:`rnnkit.cli.common.TRAINING_OPTIONS`, declared once.
- ``rnnkit --version`` (``-V``) prints the versions of rnnkit, torch and Python.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TextIO

import typer

from rnnkit.cli.argv import renew_option_names, spread_file_lists
from rnnkit.cli.common import AsJson, emit_json
from rnnkit.cli.data import data_app
from rnnkit.cli.help import tidy_help
from rnnkit.cli.info import info
from rnnkit.cli.inspect import inspect_app
from rnnkit.cli.lm import lm_app
from rnnkit.cli.seq import seq_app
from rnnkit.cli.series import series_app
from rnnkit.cli.serve import serve_app
from rnnkit.cli.text import text_app
from rnnkit.cli.translate import translate_app
from rnnkit.errors import RnnkitError, RnnkitWarning

#: The exit status after Ctrl-C (128 + SIGINT), typer's and a shell's.
INTERRUPTED = 130

#: The commands whose ``--json`` prints one object per input (JSON Lines); every other command
#: prints one object as its last stdout line.
JSON_LINES_COMMANDS = frozenset({"text predict", "seq predict", "translate run"})

app = typer.Typer(
    name="rnnkit",
    help="Recurrent neural networks: train, evaluate and use sequence models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(text_app, name="text")
app.add_typer(lm_app, name="lm")
app.add_typer(seq_app, name="seq")
app.add_typer(series_app, name="series")
app.add_typer(translate_app, name="translate")
app.add_typer(data_app, name="data")
app.add_typer(serve_app)  # top-level `rnnkit serve` and `rnnkit export`
app.add_typer(inspect_app)  # top-level `rnnkit memory`, `rnnkit inspect`, `rnnkit report`
app.command("info")(info)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(version_line())
        raise typer.Exit()


def version_line() -> str:
    """``rnnkit 0.1.0 (torch 2.5.1, Python 3.12.3)``, read without importing torch."""
    from importlib.metadata import PackageNotFoundError, version

    from rnnkit._version import __version__

    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = "not installed"
    python = ".".join(map(str, sys.version_info[:3]))
    return f"rnnkit {__version__} (torch {torch}, Python {python})"


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", "-V", is_eager=True, callback=_print_version,
                     help="Print the versions of rnnkit, torch and Python, and exit."),
    ] = False,
) -> None:
    """Recurrent neural networks: train, evaluate and use sequence models."""


@app.command()
def demo(
    time_budget: Annotated[
        float,
        typer.Option(help="Seconds of training at most; 0 = no limit (early stopping decides).",
                     min=0),
    ] = 90.0,
    as_json: AsJson = False,
) -> None:
    """Train a sentiment classifier on the bundled sentences."""
    from rnnkit.demo import run_demo

    result = run_demo(time_budget=time_budget or None)
    if as_json:
        emit_json(result)


def build_command() -> Any:
    """The click command tree of ``rnnkit``, with its help tidied (:mod:`rnnkit.cli.help`)."""
    return tidy_help(typer.main.get_command(app))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; maps RnnkitError to one line and exit status 2.

    Usage errors (unknown option, missing argument) are typer's own, also with status 2. Ctrl-C
    exits with status 130 and one line saying what was saved (in training: the epoch and the last
    checkpoint, see ``TrainingInterrupted`` in :mod:`rnnkit.train.trainer`). Options that take
    files (``--test a.csv b.csv``) take every word up to the next option, see
    :mod:`rnnkit.cli.argv`.
    """
    try:
        words = renew_option_names(app, sys.argv[1:] if argv is None else argv)
        words = spread_file_lists(app, words)
        with warnings_as_lines():
            build_command().main(args=words, prog_name="rnnkit")
    except SystemExit as done:
        # click ends with status 1 when the reader of stdout went away (`... | head -1`) and wraps
        # stdout to silence the final flush; a closed pipe is the reader's choice, not a failure.
        if done.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            sys.exit(0)
        if done.code == INTERRUPTED:  # typer's silent answer to Ctrl-C: say what was saved
            typer.echo(_interruption(done), err=True)
        raise
    except RnnkitError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(getattr(err, "exit_status", 2))  # 128 + signal when a run was stopped by one


@contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Within the block, rnnkit's warnings (:class:`RnnkitWarning`) print as one
    ``warning: ...`` line on stderr; other warnings print as Python prints them."""
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        if issubclass(category, RnnkitWarning):
            typer.echo(f"warning: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def _interruption(done: BaseException) -> str:
    """The line for a Ctrl-C: the report of the training it stopped (a ``TrainingInterrupted``
    behind typer's ``Exit(130)``), or a plain one."""
    seen = done.__cause__ or done.__context__
    while seen is not None:
        if isinstance(seen, RnnkitError):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return "interrupted; the command stopped before writing its results"
