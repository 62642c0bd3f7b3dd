"""``rnnkit data``: the datasets that ship with rnnkit (or that it generates), as plain files.

Example:
    rnnkit data list
    rnnkit data get japanese_vowels --out data/vowels
    rnnkit data get dates --out data/dates --rows 5000 --seed 0
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnnkit.cli.common import AsJson, emit_json, info

data_app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Datasets that ship with rnnkit, written out as plain files.",
)


@data_app.command("list")
def list_command(as_json: AsJson = False) -> None:
    """The datasets `rnnkit data get` writes, with sources."""
    from rnnkit.data.catalog import list_datasets  # rnnkit.data imports torch: not for --help
    entries = list_datasets()
    if as_json:
        emit_json({"datasets": [
            {"name": d.name, "rows": d.rows, "generated": d.generated, "license": d.license,
             "source": d.source, "description": d.description,
             "files": {f.name: f.rows for f in d.files}}
            for d in entries
        ]})
        return
    width = max(len(d.name) for d in entries)
    typer.echo(f"{'name':<{width}}  {'rows':>6}  what")
    for d in entries:
        rows = f"{d.rows:>6}" if not d.generated else f"{'--rows':>6}"
        typer.echo(f"{d.name:<{width}}  {rows}  {d.description}")
        typer.echo(f"{'':<{width}}          source: {d.source}; license: {d.license}")


@data_app.command("get")
def get_command(
    name: Annotated[str, typer.Argument(help="A dataset of `rnnkit data list`.")],
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the files (created; SOURCE.txt too).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace files of the same names already in --out.")
    ] = False,
    rows: Annotated[
        int | None,
        typer.Option("--rows", help="Generated sets only: training rows (dates: default 5000; "
                     "the test file gets a tenth as many)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Generated sets only: random seed (default 0).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Write dataset NAME into --out as plain files.

    One path per stdout line (with --json, one JSON object instead).
    """
    from rnnkit.data.catalog import SOURCE_FILE, dataset_info, write_dataset

    written = write_dataset(name, out, force=force, rows=rows, seed=seed)
    entry = dataset_info(name)
    if as_json:
        emit_json({"dataset": name, "files": [str(p) for p in written]})
    else:
        for path in written:
            typer.echo(str(path))
    about = (f"generated; how: {out / SOURCE_FILE}" if entry.generated
             else f"license: {entry.license}; attribution: {out / SOURCE_FILE}")
    info(f"{name}: {len(written) - 1} file(s) and {SOURCE_FILE} in {out} ({about})")
