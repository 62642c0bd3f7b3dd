"""``rnnkit seq``: train, evaluate and use a numeric sequence classifier from files.

    rnnkit seq train JapaneseVowels_TRAIN.ts --test JapaneseVowels_TEST.ts --out vowels --json
    rnnkit seq train train.npz --test test_a.npz test_b.npz --out m   # --test takes every file
    rnnkit seq train mnist_5k.csv.gz --timesteps 28 --features 28 \\
        --test t10k-images-idx3-ubyte.gz --out mnist           # CSV train, idx test
    rnnkit seq predict vowels JapaneseVowels_TEST.ts --json
    rnnkit seq evaluate mnist t10k-images-idx3-ubyte.gz

Formats (``--input-format``/``--test-format``, default: from the file name or content):
``npz``/``npy``, ``ts`` (sktime/UEA), ``csv`` (one sequence per row) and ``idx`` (MNIST images, a
row per step).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from rnnkit.cli.common import (
    AsJson,
    AsJsonLines,
    BatchSize,
    Cell,
    CheckpointDir,
    Dropout,
    Encoding,
    Epochs,
    Force,
    HiddenSize,
    LearningRate,
    NumLayers,
    OptimizerName,
    Out,
    Resume,
    Seed,
    TimeBudget,
    Workers,
    check_outputs,
    column,
    emit_json,
    existing,
    finish_training,
    given,
    hold_out,
    info,
    is_main_process,
    metrics_table,
    run_options,
    shows_defaults,
)
from rnnkit.cli.paths import check_disjoint, check_encoding
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.defaults import SEQ_DEFAULTS, SEQ_TASK

seq_app = typer.Typer(
    help="Sequence classification: sensors, speech features, images.",
    no_args_is_help=True,
)

InputFormat = Annotated[
    str | None,
    typer.Option("--input-format", metavar="FORMAT", help="npz, npy, ts, csv or idx.",
                 show_default="from the file name or content"),
]
Labels = Annotated[
    Path | None,
    typer.Option(
        "--labels", help="Labels file for idx images or a .npy of x.",
        show_default="idx: the *-labels-idx1-ubyte file beside the images",
    ),
]
LabelColumn = Annotated[
    str | None,
    typer.Option("--label-column", metavar="COLUMN",
                 help="CSV label column: name or 0-based index.",
                 show_default="the last"),
]
Header = Annotated[
    bool | None,
    typer.Option("--header/--no-header", help="CSV: whether the file has a header row.",
                 show_default="detect"),
]
Timesteps = Annotated[
    int | None,
    typer.Option(
        "--timesteps",
        help="CSV: time steps per row (values are reshaped row-major to timesteps x features).",
    ),
]
Features = Annotated[
    int | None,
    typer.Option(
        "--features",
        help="CSV: features per time step.", show_default="1; evaluate, predict: the model's",
    ),
]
Missing = Annotated[
    str,
    typer.Option("--missing", metavar="HOW",
                 help="ts: what to do with '?' values: error or interpolate."),
]
ImageSteps = Annotated[
    str,
    typer.Option("--image-steps", metavar="STEPS",
                 help="idx: rows (28 steps of 28) or pixels (784 steps of 1)."),
]

def _read(path: Path, what: str, fmt: str | None, *, labels: Path | None = None,
          label_column: str | None = None, header: bool | None = None,
          timesteps: int | None = None, features: int | None = None, missing: str = "error",
          image_steps: str = "rows", has_labels: bool = True, encoding: str = "utf-8") -> Any:
    existing([path], what)
    if labels is not None:
        existing([labels], "--labels")
    from rnnkit.data.sequences import read_sequences

    ds = read_sequences(
        path, fmt, labels=labels, label_column=_column(label_column), header=header,
        timesteps=timesteps, features=features, missing=missing, image_steps=image_steps,
        has_labels=has_labels, encoding=encoding,
    )
    if has_labels and ds.labels is None:
        raise DataError(f"{what}: {path} has no labels; give a labelled file (or --labels)")
    return ds


def _column(value: str | None) -> str | int | None:
    """Like :func:`rnnkit.cli.common.column`, also reading ``-1`` as the last column."""
    if value is not None and value.strip().startswith("-") and value.strip()[1:].isdigit():
        return int(value)
    return column(value)


@seq_app.command("train")
@shows_defaults(SEQ_DEFAULTS)
def train(
    train_path: Annotated[
        Path,
        typer.Argument(
            help="Training file: .npz/.npy, .ts, .csv or idx images (plain or gzip).",
            metavar="TRAIN",
        ),
    ],
    out: Out,
    test: Annotated[
        list[Path] | None,
        typer.Option("--test", help="Test file(s), every file up to the next option.",
                     show_default="hold out a stratified 20%"),
    ] = None,
    fmt: InputFormat = None,
    test_format: Annotated[
        str | None,
        typer.Option("--test-format", metavar="FORMAT", help="Format of --test.",
                     show_default="from the file name or content"),
    ] = None,
    labels: Labels = None,
    test_labels: Annotated[
        list[Path] | None,
        typer.Option(
            "--test-labels", help="Labels file(s) for --test (idx or .npy), one per --test file."
        ),
    ] = None,
    label_column: LabelColumn = None,
    header: Header = None,
    timesteps: Timesteps = None,
    features: Features = None,
    missing: Missing = "error",
    image_steps: ImageSteps = "rows",
    cell: Cell = None,
    bidirectional: Annotated[
        bool | None, typer.Option("--bidirectional/--unidirectional", help="Read both ways.")
    ] = None,
    hidden_size: HiddenSize = None,
    num_layers: NumLayers = None,
    pooling: Annotated[
        str | None, typer.Option(metavar="POOLING", help="max, mean, last or attention.")
    ] = None,
    dropout: Dropout = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    lr: LearningRate = None,
    optimizer: OptimizerName = None,
    time_budget: TimeBudget = None,
    seed: Seed = 0,
    workers: Workers = 1,
    checkpoint_dir: CheckpointDir = None,
    resume: Resume = False,
    encoding: Encoding = "utf-8",
    force: Force = False,
    as_json: AsJson = False,
) -> None:
    """Train a sequence classifier and save it as a bundle.

    Give TRAIN first: --test (and --test-labels) take every file up to the next option. The
    training and test files must differ.
    """
    import numpy as np

    started = time.perf_counter()
    run = run_options(out, workers, checkpoint_dir, resume)
    check_outputs(out, SEQ_TASK, force, run["checkpoint_dir"])
    check_encoding(encoding)
    check_disjoint({"TRAIN": [train_path, labels], "--test": [*(test or []), *(test_labels or [])]})
    test_label_files = _labels_per_file(test or [], test_labels or [])
    csv_opts: dict[str, Any] = {"label_column": label_column, "header": header,
                                "timesteps": timesteps, "missing": missing,
                                "image_steps": image_steps, "encoding": encoding}
    data = _read(train_path, "TRAIN", fmt, labels=labels, features=features, **csv_opts)
    info(f"read {len(data)} training sequences from {data.source} "
         f"({data.feature_size} features, {len(data.classes)} classes)")
    if test:
        test_data = _concat([
            _read(path, "--test", test_format, labels=labels_file,
                  features=features or data.feature_size, **csv_opts)
            for path, labels_file in zip(test, test_label_files, strict=True)
        ])
        train_x, train_y = data.sequences, data.labels
        test_x, test_y = test_data.sequences, test_data.labels
    else:
        index = {c: i for i, c in enumerate(data.classes)}
        ids = np.array([index[y] for y in data.labels], dtype=np.int64)
        train_x, train_y, test_x, test_y = hold_out(
            data.sequences, data.labels, ids, seed, "sequences"
        )
    params = given(cell=cell, bidirectional=bidirectional, hidden_size=hidden_size,
                   num_layers=num_layers, pooling=pooling, dropout=dropout, epochs=epochs,
                   batch_size=batch_size, lr=lr, optimizer=optimizer, time_budget=time_budget)
    from rnnkit.tasks import SequenceClassifier  # torch: only after the checks that need none

    clf = SequenceClassifier(seed=seed, verbose=1, **params)
    clf.fit(train_x, train_y, **run)
    if not is_main_process():
        return  # torchrun: rank 0 evaluates, saves and reports
    finish_training(clf, lambda: clf.evaluate(test_x, test_y), out, started, as_json, force, run)


def _labels_per_file(test: list[Path], test_labels: list[Path]) -> list[Path | None]:
    """The ``--test-labels`` file of each ``--test`` file (None: the format's own labels)."""
    if not test_labels:
        return [None] * len(test)
    if len(test_labels) != len(test):
        raise ConfigError(f"--test-labels: give one labels file per --test file "
                          f"({len(test_labels)} for {len(test)})")
    return list(test_labels)


def _concat(parts: list[Any]) -> Any:
    """Several labelled sequence files as one dataset (same number of features in each)."""
    from rnnkit.data.sequences import SequenceDataset

    if len(parts) == 1:
        return parts[0]
    sizes = {p.feature_size for p in parts if len(p)}
    if len(sizes) > 1:
        raise DataError(f"--test: the files have different numbers of features ({sorted(sizes)}); "
                        "give files of one kind")
    labels = [y for p in parts for y in p.labels]
    if len({isinstance(y, int) for y in labels}) > 1:
        labels = [str(y) for y in labels]
    return SequenceDataset([x for p in parts for x in p.sequences], labels,
                           f"{parts[0].source} + {len(parts) - 1} more")


def _load(bundle: Path) -> Any:
    from rnnkit.tasks import SequenceClassifier

    return SequenceClassifier.load(bundle)


@seq_app.command("predict")
def predict(
    bundle: Annotated[
        Path, typer.Argument(help="A bundle written by `rnnkit seq train`.", metavar="BUNDLE")
    ],
    data: Annotated[
        Path,
        typer.Argument(
            help="Sequences to classify, in any supported format (labels, if any, are ignored)."
        ),
    ],
    fmt: InputFormat = None,
    label_column: Annotated[
        str | None,
        typer.Option("--label-column", metavar="COLUMN", help="CSV: a label column to drop.",
                     show_default="none, every column is a value"),
    ] = None,
    header: Header = None,
    timesteps: Timesteps = None,
    features: Features = None,
    missing: Missing = "error",
    image_steps: ImageSteps = "rows",
    encoding: Encoding = "utf-8",
    as_json: AsJsonLines = False,
) -> None:
    """Classify sequences: a line per sequence with its label.

    Each line holds the index of the sequence, its label and the label's probability.
    """
    check_encoding(encoding)
    clf = _load(bundle)
    ds = _read(data, "DATA", fmt, label_column=label_column, header=header, timesteps=timesteps,
               features=features or clf.feature_size, missing=missing, image_steps=image_steps,
               has_labels=label_column is not None, encoding=encoding)
    if not len(ds):
        raise DataError(f"DATA: {data} holds no sequences")
    proba = clf.predict_proba(ds.sequences)
    for i, row in enumerate(proba):
        best = int(row.argmax())
        label = clf.classes_[best]
        if as_json:
            emit_json(
                {
                    "index": i,
                    "label": label,
                    "probability": round(float(row[best]), 6),
                    "probabilities": {
                        str(c): round(float(p), 6) for c, p in zip(clf.classes_, row, strict=True)
                    },
                }
            )
        else:
            typer.echo(f"{i}\t{label}\t{row[best]:.3f}")


@seq_app.command("evaluate")
def evaluate(
    bundle: Annotated[
        Path, typer.Argument(help="A bundle written by `rnnkit seq train`.", metavar="BUNDLE")
    ],
    data: Annotated[Path, typer.Argument(help="Labelled sequences in any supported format.")],
    fmt: InputFormat = None,
    labels: Labels = None,
    label_column: LabelColumn = None,
    header: Header = None,
    timesteps: Timesteps = None,
    features: Features = None,
    missing: Missing = "error",
    image_steps: ImageSteps = "rows",
    encoding: Encoding = "utf-8",
    as_json: AsJson = False,
) -> None:
    """Accuracy, macro F1 and per-class numbers on labelled data."""
    check_encoding(encoding)
    clf = _load(bundle)
    ds = _read(data, "DATA", fmt, labels=labels, label_column=label_column, header=header,
               timesteps=timesteps, features=features or clf.feature_size, missing=missing,
               image_steps=image_steps, encoding=encoding)
    report = clf.evaluate(ds.sequences, ds.labels)
    typer.echo(metrics_table(ds.source, report))
    if as_json:
        emit_json({"accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
                   "count": report["count"], "per_class": report["per_class"],
                   "confusion_matrix": report["confusion_matrix"]})
