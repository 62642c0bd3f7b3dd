"""Small helpers shared by the CLI commands: column parsing, output, JSON last line."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from rnnkit.cells import cells_listed, check_cell
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.options import RULES

T = TypeVar("T")


def column(value: str | None) -> str | int | None:
    """A column given on the command line: a 0-based index when it is all digits, else a name."""
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


def existing(paths: list[Path], what: str) -> list[Path]:
    """Check that every path exists; raise a one-line DataError naming the first that does not."""
    for path in paths:
        if not path.exists():
            raise DataError(f"{what}: {path} does not exist; check the path")
    return paths


def input_lines(path: Path, encoding: str) -> list[str]:
    """The non-blank lines of an ``--input`` file (``-``: standard input), without line ends."""
    if str(path) == "-":
        return [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    existing([path], "--input")
    from rnnkit.data.readers import read_text

    return [line for line in read_text(path, encoding).splitlines() if line.strip()]


def info(message: str) -> None:
    """A progress or status line: stderr, so stdout stays for results (rank 0 only under torchrun).
    """
    if os.environ.get("RANK", "0") != "0":
        return
    typer.echo(message, err=True)


def within_rule(name: str) -> Callable[[T], T]:
    """A typer callback that refuses a value of option ``name`` (``"lr"``) that the estimators
    refuse, by the same rule (:data:`rnnkit.tasks.options.RULES`): while the command line is
    parsed, before any file is read, as one ConfigError line naming the option.

        >>> within_rule("lr")(float("nan"))
        Traceback (most recent call last):
        ...
        rnnkit.errors.ConfigError: --lr: must be a finite number > 0, got nan
    """
    # the words ('auto') and None of the Python API cannot be typed here: not offered
    rule = dataclasses.replace(RULES[name], none=False, words=())
    option = "--" + name.replace("_", "-")

    def check(value: T) -> T:
        problem = None if value is None else rule.problem(value)
        if problem is not None:
            raise ConfigError(f"{option}: {problem}")
        return value

    return check


# --------------------------------------------------------------------------- shared options
# Declared once and used by every command that has them, so that an option reads the same
# everywhere. An option whose default is the task's (None here) shows it in --help through
# :func:`shows_defaults` (see rnnkit.cli.help). A numeric option is checked by the estimators'
# rule (:func:`within_rule`) as soon as it is parsed.
Epochs = Annotated[
    int | None,
    typer.Option("--epochs", callback=within_rule("epochs"),
                 help="Maximum passes over the training data (early stopping may end sooner)."),
]
BatchSize = Annotated[
    int | None,
    typer.Option("--batch-size", callback=within_rule("batch_size"),
                 help="Examples per training step."),
]
LearningRate = Annotated[
    float | None, typer.Option("--lr", callback=within_rule("lr"), help="Learning rate.")
]
OptimizerName = Annotated[
    str | None, typer.Option("--optimizer", metavar="NAME", help="adam, adamw, rmsprop, sgd, ...")
]
TimeBudget = Annotated[
    float | None,
    typer.Option("--time-budget", metavar="SECONDS", callback=within_rule("time_budget"),
                 help="Stop training (validation included) after this many seconds."),
]
Seed = Annotated[
    int, typer.Option("--seed", callback=within_rule("seed"), help="Seed of every random choice.")
]
HiddenSize = Annotated[
    int | None,
    typer.Option("--hidden-size", callback=within_rule("hidden_size"),
                 help="Units per recurrent layer."),
]
NumLayers = Annotated[
    int | None,
    typer.Option("--num-layers", callback=within_rule("num_layers"),
                 help="Stacked recurrent layers."),
]


def _known_cell(value: str | None) -> str | None:
    """``--cell`` checked while the command line is read, before any data is."""
    return None if value is None else check_cell(value, "--cell")


Cell = Annotated[
    str | None,
    typer.Option("--cell", metavar="CELL", help=f"Recurrent cell: {cells_listed()}.",
                 callback=_known_cell),
]
Dropout = Annotated[
    float | None,
    typer.Option("--dropout", metavar="P", callback=within_rule("dropout"),
                 help="Dropout probability."),
]


def _known_schedule(value: str | None) -> str | None:
    """``--schedule`` checked while the command line is read, before any data is."""
    if value is not None:
        from rnnkit.train.optim import check_schedule  # torch: only when a schedule is named

        check_schedule(value)
    return value


# The learning-rate options of ULMFiT's fine-tuning, for `text train` and `lm train`.
Schedule = Annotated[
    str | None,
    typer.Option("--schedule", metavar="NAME", callback=_known_schedule,
                 help="Learning-rate schedule: stlr or one-cycle (every step), cosine, step or "
                      "plateau (every epoch)."),
]
LayerLrDecay = Annotated[
    float | None,
    typer.Option("--layer-lr-decay", metavar="FACTOR", callback=within_rule("layer_lr_decay"),
                 help="Discriminative learning rates: each layer group down trains at the lr of "
                      "the one above divided by FACTOR (2.6 in ULMFiT)."),
]
Workers = Annotated[
    int,
    typer.Option("--workers", min=1,
                 help="Data-parallel training processes on this machine (several machines: "
                      "torchrun, see docs/distributed.md)."),
]
CheckpointDir = Annotated[
    Path | None,
    typer.Option("--checkpoint-dir", metavar="DIR",
                 help="Write a checkpoint after every epoch here (with --workers > 1, --stream "
                      "or --resume: OUT.checkpoints unless given)."),
]
Resume = Annotated[
    bool,
    typer.Option(
        "--resume", help="Continue from the checkpoint of an interrupted run (same options)."
    ),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace a bundle of another task at --out (other files there are never replaced).",
    ),
]
Out = Annotated[
    Path, typer.Option("--out", metavar="DIR", help="Directory to write the model bundle to.")
]
AsJson = Annotated[
    bool, typer.Option("--json", help="Print one JSON object as the last stdout line.")
]
AsJsonLines = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON object per input (JSON Lines) and nothing else."),
]
Encoding = Annotated[
    str,
    typer.Option("--encoding", metavar="NAME", help="Text encoding of the input files, e.g. "
                 "latin-1 or cp1252 (a UTF-8 BOM and UTF-16 are detected)."),
]

#: The options every ``train`` command has (click's names), with the same help everywhere.
TRAINING_OPTIONS = (
    "--epochs", "--batch-size", "--lr", "--time-budget", "--seed", "--hidden-size", "--num-layers",
    "--cell", "--dropout", "--workers", "--checkpoint-dir", "--resume", "--encoding", "--force",
    "--json", "--out",
)

#: The attribute of a command function that :func:`shows_defaults` sets.
DEFAULTS_ATTRIBUTE = "rnnkit_defaults"

F = TypeVar("F", bound=Callable[..., Any])


def shows_defaults(defaults: Mapping[str, Any]) -> Callable[[F], F]:
    """Mark a command whose options left unset (None) take the task's ``defaults`` (by parameter
    name), so that its ``--help`` shows them: ``@shows_defaults(TEXT_DEFAULTS)``."""

    def mark(command: F) -> F:
        setattr(command, DEFAULTS_ATTRIBUTE, dict(defaults))
        return command

    return mark


def given(**options: Any) -> dict[str, Any]:
    """The options set on the command line (not None): the estimator keeps its defaults for the
    others."""
    return {name: value for name, value in options.items() if value is not None}


def refuse_with(source: str, options: dict[str, Any], fixed: tuple[str, ...]) -> None:
    """ConfigError for an option of ``fixed`` set on the command line (in ``options``, the
    :func:`given` ones) next to ``source`` (``--pretrained``), which decides it."""
    for name in fixed:
        if name in options:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag}: with {source} it comes from the language model; "
                              f"drop {flag}")


def run_options(out: Path, workers: int, checkpoint_dir: Path | None, resume: bool,
                long_job: bool = False) -> dict[str, Any]:
    """``fit`` keywords for ``--workers``/``--checkpoint-dir``/``--resume``."""
    if checkpoint_dir is None and (workers > 1 or resume or long_job):
        checkpoint_dir = default_checkpoint_dir(out)
    return {"workers": workers, "checkpoint_dir": checkpoint_dir, "resume": resume}


def say_resume(run: dict[str, Any]) -> None:
    """For an estimator that trains silently (the forecaster): say whether ``--resume`` finds a
    checkpoint to continue from, as the training progress says it for the others."""
    from rnnkit.train.checkpoint import CHECKPOINT_NAME

    if not run["resume"]:
        return
    directory = run["checkpoint_dir"]
    if (directory / CHECKPOINT_NAME).is_file():
        info(f"Resuming from the checkpoint in {directory}")
    else:
        info(f"resume: no checkpoint in {directory}; starting fresh")


def default_checkpoint_dir(out: Path) -> Path:
    """Where checkpoints go without ``--checkpoint-dir``: ``OUT.checkpoints`` beside the bundle."""
    return out.with_name(out.name + ".checkpoints")


def tidy_checkpoints(out: Path, run: dict[str, Any]) -> None:
    """After a run whose bundle is saved: remove the default checkpoint directory (there only to
    resume an interrupted run), or say where the one given by ``--checkpoint-dir`` is and why it
    stays. A default directory holding other files than checkpoints stays too."""
    from rnnkit.train.checkpoint import CHECKPOINT_NAME
    from rnnkit.train.lifeline import LOCK_NAME

    directory = run["checkpoint_dir"]
    if directory is None or not directory.is_dir():
        return
    only_ours = all(p.name in (CHECKPOINT_NAME, LOCK_NAME) for p in directory.iterdir())
    if directory == default_checkpoint_dir(out) and only_ours:
        shutil.rmtree(directory, ignore_errors=True)
        return
    info(f"checkpoints: kept in {directory} (--resume continues this run from them; "
         "delete the directory when it is no longer needed)")


def check_outputs(out: Path, task: str, force: bool, checkpoint_dir: Path | None = None) -> None:
    """Before reading data or training: may a ``task`` bundle go to ``out`` (``--force``: replacing
    one of another task), and may checkpoints go to ``checkpoint_dir``? One-line errors if not."""
    from rnnkit.cli.paths import check_checkpoint_dir
    from rnnkit.io.bundle import check_bundle_target

    check_bundle_target(out, task, force=force)
    check_checkpoint_dir(checkpoint_dir, out)


def is_main_process() -> bool:
    """False on the ranks other than 0 of a torchrun job: they train, rank 0 reports and saves."""
    from rnnkit.train.distributed import is_main_process as main

    return main()


def emit_json(obj: Any) -> None:
    """Print one JSON object as a single line on stdout (the last line a script reads)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=_plain) + "\n")
    sys.stdout.flush()


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def metrics_table(title: str, report: dict[str, Any]) -> str:
    """Per-class precision/recall/F1 and the summary, as aligned plain text."""
    rows = [("class", "precision", "recall", "f1", "support")]
    for name, m in report["per_class"].items():
        rows.append((name, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}",
                     str(m["support"])))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [title]
    for row in rows:
        lines.append(
            "  "
            + "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    lines.append(
        f"  accuracy {report['accuracy']:.4f}   macro F1 {report['macro_f1']:.4f}   "
        f"({report['count']} examples)"
    )
    return "\n".join(lines)


def hold_out(
    items: list[Any], labels: list[Any], label_ids: Any, seed: int, noun: str
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """No ``--test`` given: hold out a stratified 20% of TRAIN as the test split; returns
    (train items, train labels, test items, test labels)."""
    from rnnkit.tasks.classification import stratified_split

    if len(items) < 10:
        raise DataError(f"TRAIN has only {len(items)} {noun}; give at least 10 or a --test file")
    train, test = stratified_split(label_ids, 0.2, seed)
    info(f"held out {len(test)} {noun} (20%, stratified) as the test split")
    return (
        [items[i] for i in train], [labels[i] for i in train],
        [items[i] for i in test], [labels[i] for i in test],
    )


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and the seconds it took (the test evaluation is reported on its own)."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def phase_seconds(
    started: float, train_seconds: float, test_seconds: float | None
) -> dict[str, float]:
    """The JSON's ``seconds`` (the whole command so far), ``train_seconds`` (the training phase,
    which ``--time-budget`` bounds: data preparation, training, validation) and
    ``test_seconds`` (the test evaluation; left out when there is none)."""
    times = {
        "seconds": round(time.perf_counter() - started, 3),
        "train_seconds": round(train_seconds, 3),
    }
    if test_seconds is not None:
        times["test_seconds"] = round(test_seconds, 3)
    return times


def seconds_line(times: dict[str, float]) -> str:
    """The console's reading of :func:`phase_seconds`: ``"12.3 s: training 9.8 s, test 1.2 s"``.
    """
    test = f", test {times['test_seconds']:.1f} s" if "test_seconds" in times else ""
    return f"{times['seconds']:.1f} s: training {times['train_seconds']:.1f} s{test}"


#: ``History.stopped_reason`` in the words of the training report.
STOP_WORDS = {"completed": "all epochs done", "time_budget": "time budget reached",
              "early_stopping": "early stopping (the validation score stopped improving; the "
                                "best epoch's weights kept)"}


def finish_training(
    clf: Any, evaluate: Callable[[], dict[str, Any]], out: Path, started: float, as_json: bool,
    force: bool = False, run: dict[str, Any] | None = None,
    extra_json: dict[str, Any] | None = None,
) -> None:
    """Evaluate on the test split (``evaluate()``, timed on its own), save the bundle with the
    test report, print the table, the seconds and where the bundle went (and the JSON, with
    ``extra_json`` added); then tidy the checkpoints of ``run`` (the ``fit`` keywords of
    :func:`run_options`)."""
    stopped = clf.metrics_.get("stopped_reason")
    if stopped is not None:  # why training ended: all epochs, early stopping or the budget
        shown = STOP_WORDS.get(stopped, stopped)
        info(f"trained {clf.metrics_['epochs_run']} epoch(s); stopped: {shown}")
    report, test_seconds = timed(evaluate)
    bundle = clf.save(out, extra_metrics={"test": report}, force=force)
    times = phase_seconds(started, clf.metrics_["train_seconds"], test_seconds)
    typer.echo(metrics_table("test", report))
    typer.echo(f"bundle: {bundle}  ({seconds_line(times)})")
    if run is not None:
        tidy_checkpoints(out, run)
    if as_json:
        emit_json(
            {
                "test": {
                    "accuracy": report["accuracy"],
                    "macro_f1": report["macro_f1"],
                    "count": report["count"],
                },
                "bundle": str(bundle),
                "epochs_run": clf.metrics_.get("epochs_run"),
                "stopped_reason": stopped,
                **times,
                **(extra_json or {}),
            }
        )
