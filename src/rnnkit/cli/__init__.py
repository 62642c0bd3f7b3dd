"""The ``rnnkit`` command: a thin face over ``rnnkit.tasks``.

User errors (:class:`rnnkit.RnnkitError`) are printed on one line to stderr with exit status 2;
progress goes to stderr, results to stdout, and ``--json`` makes the last stdout line one JSON
object.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from rnnkit.cli.argv import spread_file_lists
from rnnkit.cli.data import data_app
from rnnkit.cli.info import info
from rnnkit.cli.inspect import inspect_app
from rnnkit.cli.lm import lm_app
from rnnkit.cli.seq import seq_app
from rnnkit.cli.series import series_app
from rnnkit.cli.serve import serve_app
from rnnkit.cli.text import text_app
from rnnkit.cli.translate import translate_app
from rnnkit.errors import RnnkitError
from rnnkit.threads import prepare_environment

#: The exit status after Ctrl-C (128 + SIGINT), typer's and a shell's.
INTERRUPTED = 130

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


@app.command()
def demo(
    time_budget: Annotated[
        float,
        typer.Option(help="Seconds of training at most; 0 = no limit (early stopping decides).",
                     min=0),
    ] = 90.0,
) -> None:
    """Train a sentiment classifier on the bundled UCI sentences and show predictions."""
    from rnnkit.demo import run_demo

    run_demo(time_budget=time_budget or None)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; maps RnnkitError to one line and exit status 2.

    Usage errors (unknown option, missing argument) are typer's own, also with status 2. Ctrl-C
    exits with status 130 and one line saying what was saved (in training: the epoch and the last
    checkpoint, see ``TrainingInterrupted`` in :mod:`rnnkit.train.trainer`). Options that take
    files (``--test a.csv b.csv``) take every word up to the next option, see
    :mod:`rnnkit.cli.argv`.
    """
    prepare_environment()  # OpenMP reads its wait policy once, when torch is imported: before
    try:
        words = spread_file_lists(app, sys.argv[1:] if argv is None else argv)
        app(args=words, prog_name="rnnkit")
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


def _interruption(done: BaseException) -> str:
    """The line for a Ctrl-C: the report of the training it stopped (a ``TrainingInterrupted``
    behind typer's ``Exit(130)``), or a plain one."""
    seen = done.__cause__ or done.__context__
    while seen is not None:
        if isinstance(seen, RnnkitError):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return "interrupted; the command stopped before writing its results"
