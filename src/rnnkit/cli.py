"""The ``rnnkit`` command: a thin face over ``rnnkit.tasks``.

User errors (:class:`rnnkit.RnnkitError`) are printed on one line to stderr with exit status 2.
"""

from __future__ import annotations

import sys

import typer

from rnnkit.errors import RnnkitError

app = typer.Typer(
    name="rnnkit",
    help="Recurrent neural networks: train, evaluate and use sequence models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def demo() -> None:
    """Run the main demonstration on bundled data."""
    from rnnkit.demo import run_demo

    run_demo()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; maps RnnkitError to one line and exit status 2."""
    try:
        app(args=argv, standalone_mode=False)
    except RnnkitError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as err:  # click's usage errors carry their own exit code
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise
