"""``rnnkit memory`` / ``rnnkit inspect`` / ``rnnkit report``: seeing inside recurrent networks.

    rnnkit memory --cells rnn,lstm,gru --lengths 25,50,100,200 --time-budget 20 --out memory/
    rnnkit inspect model "a surprisingly good film" --out inside/
    rnnkit report model --input examples.txt --out report.html
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rnnkit.cells import cells_listed, check_cell
from rnnkit.cli.common import AsJson, Encoding, Seed, emit_json, existing, info
from rnnkit.cli.paths import check_encoding, check_output_dir, check_output_file
from rnnkit.errors import ConfigError, DataError

inspect_app = typer.Typer(help="Seeing inside: memory benchmark, heat maps, saliency, reports.")


@inspect_app.command("memory")
def memory(
    out: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", help="Directory for memory.png, memory.json, "
                     "memory.md."),
    ],
    cells: Annotated[
        str, typer.Option(help=f"Comma-separated cells: {cells_listed('and')}.")
    ] = "rnn,lstm,gru",
    lengths: Annotated[
        str, typer.Option(help="Comma-separated sequence lengths T.")
    ] = "25,50,100,200",
    tasks: Annotated[str, typer.Option(help="Comma-separated tasks: adding, copy.")] = "adding",
    time_budget: Annotated[
        float, typer.Option("--time-budget", metavar="SECONDS",
                     help="Training seconds per cell and length.")
    ] = 20.0,
    hidden_size: Annotated[int, typer.Option(help="Units of every cell.")] = 64,
    init: Annotated[
        str, typer.Option(help="Gate biases: default, or chrono (timescales up to T; "
                          "rnnkit.nn.chrono_init_).")
    ] = "default",
    lr: Annotated[float, typer.Option(help="Adam learning rate, the same for every cell.")] = 2e-3,
    seed: Seed = 0,
    as_json: AsJson = False,
) -> None:
    """How long a sequence each cell can remember.

    Trains each cell on the adding problem (and/or the copy task) at each length T, then plots
    which solved it against T. --init chrono gives every gated cell memory timescales up to T at
    the start, which is what lets it learn dependencies across hundreds of steps.
    """
    from rnnkit.inspect.gradients import trained_gradient_flow_figures
    from rnnkit.inspect.memory import (
        check_init,
        check_lr,
        memory_benchmark,
        parse_list,
        results_table,
    )
    from rnnkit.viz.figures import save_figure
    from rnnkit.viz.inside import plot_memory

    cell_list = [check_cell(cell, "--cells") for cell in parse_list(cells, "--cells")]
    length_list = parse_list(lengths, "--lengths", int)
    task_list = parse_list(tasks, "--tasks")
    if time_budget <= 0:
        raise ConfigError(
            f"--time-budget: expected a positive number of seconds, got {time_budget}"
        )
    check_init(init, "--init")
    check_lr(lr, "--lr")
    check_output_dir(out, "--out")
    results = memory_benchmark(
        cell_list, length_list, task_list, time_budget=time_budget, hidden_size=hidden_size,
        seed=seed, init=init, lr=lr,
        progress=lambda r: info(f"{r.task} {r.cell} T={r.length}: score {r.score:.4f} "
                                f"({'solved' if r.solved else 'not solved'}, {r.steps} steps)"),
    )
    out.mkdir(parents=True, exist_ok=True)
    table = results_table(results)
    title = f"Memory length, {time_budget:g} s per cell and length" + (
        ", chrono initialization" if init == "chrono" else "")
    save_figure(plot_memory(results, title),
                out / "memory.png")
    (out / "memory.md").write_text(table + "\n\n![memory](memory.png)\n", encoding="utf-8")
    for name, fig in trained_gradient_flow_figures(results).items():
        info(f"wrote {save_figure(fig, out / f'{name}.png')}")
    (out / "memory.json").write_text(json.dumps([r.to_dict() for r in results], indent=1),
                                     encoding="utf-8")
    typer.echo(table)
    if as_json:
        emit_json({"results": [r.to_dict() for r in results], "out": str(out)})


@inspect_app.command("inspect")
def inspect(
    bundle: Annotated[Path, typer.Argument(help="A saved model bundle directory.")],
    value: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="Text (or a file of texts) for a text model; a .npy/CSV sequence for a sequence "
                 "model.",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Directory to write the pictures to.")
    ],
    encoding: Encoding = "utf-8",
    as_json: AsJson = False,
) -> None:
    """Heat maps of hidden states, gates and saliency for an input."""
    from rnnkit.inspect.views import inspect_bundle

    check_encoding(encoding)
    existing([bundle], "BUNDLE")
    check_output_dir(out, "--out")
    files = inspect_bundle(bundle, value, out, encoding)
    for file in files:
        typer.echo(str(file))
    if as_json:
        emit_json({"files": [str(f) for f in files]})


@inspect_app.command("report")
def report(
    bundle: Annotated[Path, typer.Argument(help="A saved model bundle directory.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="HTML file to write.",
                     show_default="BUNDLE_report.html"),
    ] = None,
    examples: Annotated[
        list[str] | None,
        typer.Option("--example", metavar="TEXT",
                     help="A text to explain (repeatable; text classifiers)."),
    ] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input", help="A file of example texts, one per line.")
    ] = None,
    encoding: Encoding = "utf-8",
    as_json: AsJson = False,
) -> None:
    """Write one self-contained HTML page about a bundle.

    The page shows the configuration, metrics, plots and examples with saliency.
    """
    from rnnkit.inspect.report import write_report

    check_encoding(encoding)
    existing([bundle], "BUNDLE")
    target = out or Path(f"{bundle.resolve().name}_report.html")
    check_output_file(target, "--out", (".html", ".htm"))
    texts = list(examples or [])
    if input_file is not None:
        existing([input_file], "--input")
        texts += _example_lines(input_file, encoding)
    path = write_report(bundle, target, texts or None)
    typer.echo(str(path))
    if as_json:
        emit_json({"report": str(path)})


def _example_lines(path: Path, encoding: str) -> list[str]:
    """The non-empty lines of ``--input`` (the first few), read with the shared checks, so that a
    file in another encoding is a one-line error naming ``--encoding``."""
    from rnnkit.data.readers import read_text
    from rnnkit.inspect.views import MAX_TEXTS

    lines = [line.strip() for line in read_text(path, encoding).splitlines() if line.strip()]
    if not lines:
        raise DataError(f"--input: {path} has no non-empty lines")
    return lines[:MAX_TEXTS]
