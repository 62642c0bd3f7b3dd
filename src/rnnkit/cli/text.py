"""``rnnkit text``: train, evaluate and use a text classifier from files.

    rnnkit text train reviews.csv --out model            # holds out a stratified test split
    rnnkit text train aclImdb/train --test aclImdb/test --out imdb --json
    rnnkit text train train_0*.csv.gz --test test_0*.csv.gz --out imdb   # --test takes every file
    rnnkit text predict model "a fine film" "not good at all"
    rnnkit text evaluate model test.tsv --json
    # transfer from a word-level language model (ULMFiT): its vocabulary and encoder
    rnnkit text train reviews.csv --pretrained reviews_lm --window 70 --out model
    # larger than memory
    rnnkit text train shards/ --stream --test test_shards/ --out big --workers 2
    torchrun --nnodes 2 --nproc-per-node 2 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \
        -m rnnkit text train shards/ --stream --test test_shards/ --out big      # several machines
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
    LayerLrDecay,
    LearningRate,
    NumLayers,
    Out,
    Resume,
    Schedule,
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
    input_lines,
    is_main_process,
    metrics_table,
    refuse_with,
    run_options,
    shows_defaults,
)
from rnnkit.cli.paths import check_disjoint, check_encoding
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.defaults import CLASSIFIER_HEADS, TEXT_TASK
from rnnkit.tasks.defaults import TEXT_DEFAULTS as D

text_app = typer.Typer(help="Text classification (sentiment, topics).", no_args_is_help=True)

TextColumn = Annotated[
    str | None,
    typer.Option("--text-column", metavar="COLUMN", help="Text column: name or 0-based index."),
]
LabelColumn = Annotated[
    str | None,
    typer.Option("--label-column", metavar="COLUMN", help="Label column: name or 0-based index."),
]
Header = Annotated[
    bool | None,
    typer.Option("--header/--no-header", help="Whether files have a header row.",
                 show_default="detect"),
]


def _read(paths: list[Path], what: str, text_col: str | None, label_col: str | None,
          header: bool | None, has_labels: bool | None = True, encoding: str = "utf-8") -> Any:
    existing(paths, what)
    from rnnkit.data import read_text_dataset

    return read_text_dataset(
        [str(p) for p in paths], column(text_col), column(label_col), header=header,
        has_labels=has_labels, encoding=encoding,
    )


@text_app.command("train")
@shows_defaults(D)
def train(
    train_paths: Annotated[
        list[Path],
        typer.Argument(
            help="Training files (CSV/TSV/JSONL, plain or gzip) or a class-per-folder directory.",
            metavar="TRAIN...",
        ),
    ],
    out: Out,
    test: Annotated[
        list[Path] | None,
        typer.Option("--test", help="Test file(s), every file up to the next option.",
                     show_default="hold out a stratified 20%"),
    ] = None,
    valid: Annotated[
        list[Path] | None,
        typer.Option("--valid", help="Validation file(s) for early stopping, every file up to "
                     "the next option.", show_default="10% of TRAIN"),
    ] = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    header: Header = None,
    cell: Cell = None,
    bidirectional: Annotated[
        bool | None, typer.Option("--bidirectional/--unidirectional", help="Read both ways.")
    ] = None,
    hidden_size: HiddenSize = None,
    num_layers: NumLayers = None,
    pooling: Annotated[
        str | None,
        typer.Option(metavar="POOLING", help="max, mean, last, attention or concat ([last, max, "
                     "mean]; the default with --pretrained, else max)."),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option(metavar="HEAD", callback=_known_head,
                     help="linear or batchnorm (ULMFiT's batch-normalised head; the default with "
                          "--pretrained, else linear)."),
    ] = None,
    dropout: Dropout = None,
    max_length: Annotated[int | None, typer.Option(help="Tokens kept per text.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Vocabulary size cap.")] = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    lr: LearningRate = None,
    time_budget: TimeBudget = None,
    schedule: Schedule = None,
    layer_lr_decay: LayerLrDecay = None,
    gradual_unfreezing: Annotated[
        bool,
        typer.Option("--gradual-unfreezing",
                     help="Train only the top layer group in epoch 1, one group more in each "
                          "epoch after."),
    ] = False,
    seed: Seed = 0,
    workers: Workers = 1,
    checkpoint_dir: CheckpointDir = None,
    resume: Resume = False,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="Stream TRAIN (many CSV/JSONL shards, files or directories) instead of loading "
                 "it; memory stays flat. Without --test, 20% is held out by hash.",
        ),
    ] = False,
    encoding: Encoding = "utf-8",
    force: Force = False,
    as_json: AsJson = False,
    pretrained: Annotated[
        Path | None,
        typer.Option(metavar="LM_BUNDLE",
                     help="Start from a word-level language model (`rnnkit lm train --level "
                          "word`): its vocabulary, embedding and recurrent layers."),
    ] = None,
    window: Annotated[
        int | None,
        typer.Option(metavar="N", help="Read each text whole in windows of N tokens, the state "
                     "carried over (unidirectional encoders, e.g. --pretrained); --max-length "
                     "then does not apply."),
    ] = None,
) -> None:
    """Train a text classifier and save it as a bundle.

    Give the TRAIN files first: --test and --valid take every file up to the next option
    (`--test test_0*.csv`). Training, validation and test files must not overlap.
    """
    started = time.perf_counter()
    run = run_options(out, workers, checkpoint_dir, resume, long_job=stream)
    check_outputs(out, TEXT_TASK, force, run["checkpoint_dir"])
    check_encoding(encoding)
    check_disjoint({"TRAIN": train_paths, "--test": test or [], "--valid": valid or []})
    params = given(
        cell=cell, bidirectional=bidirectional, hidden_size=hidden_size, num_layers=num_layers,
        pooling=pooling, dropout=dropout, max_length=max_length, max_tokens=max_tokens,
        epochs=epochs, batch_size=batch_size, lr=lr, time_budget=time_budget, window=window,
        schedule=schedule, layer_lr_decay=layer_lr_decay, head=head,
        unfreeze="gradual" if gradual_unfreezing else None,
    )
    _check_options(params)
    if pretrained is not None:
        refuse_with("--pretrained", params,
                    ("cell", "bidirectional", "hidden_size", "num_layers", "max_tokens"))
        _check_pretrained(pretrained)
        params["pretrained"] = str(pretrained)
    options: dict[str, Any] = {"text_col": text_column, "label_col": label_column, "header": header,
                               "encoding": encoding}
    if stream:
        _train_stream(train_paths, out, test, valid, options, seed, params, run, as_json, started,
                      force)
        return
    data = _read(train_paths, "TRAIN", **options)
    info(f"read {len(data)} training texts from {data.source} ({len(data.classes)} classes)")
    if test:
        test_data = _read(test, "--test", **options)
        _check_known_labels(data, test_data, test, "--test", options)
        test_texts, test_labels = test_data.texts, test_data.labels
        train_texts, train_labels = data.texts, data.labels
    else:
        train_texts, train_labels, test_texts, test_labels = hold_out(
            data.texts, data.labels, data.label_ids(), seed, "texts"
        )
    validation = None
    if valid:
        v = _read(valid, "--valid", **options)
        _check_known_labels(data, v, valid, "--valid", options)
        validation = (v.texts, v.labels)
    from rnnkit.tasks import TextClassifier  # torch: only after the checks that need none

    clf = TextClassifier(seed=seed, verbose=1, **params)
    clf.fit(train_texts, train_labels, validation_data=validation, **run)
    if not is_main_process():
        return  # torchrun: rank 0 evaluates, saves and reports
    finish_training(clf, lambda: clf.evaluate(test_texts, test_labels), out, started, as_json,
                    force, run, _transfer_report(clf))


def _check_pretrained(path: Path) -> None:
    """Refuse a bundle that is not a word-level language model before any data is read."""
    from rnnkit.tasks.transfer import check_word_level, load_language_model

    lm, _ = load_language_model(path, "--pretrained")
    check_word_level(lm, str(path))


def _transfer_report(clf: Any) -> dict[str, Any]:
    """Say how much of the training data the pretrained vocabulary missed; the JSON entry."""
    report = clf.metrics_.get("pretrained")
    if report is None:
        return {}
    from rnnkit.tasks.transfer import oov_line

    info(oov_line(report, "--pretrained"))
    return {"pretrained": report}


def _known_head(value: str | None) -> str | None:
    """``--head`` checked while the command line is read, before any data is."""
    if value is not None and value not in CLASSIFIER_HEADS:
        raise ConfigError(f"--head: {value!r} is unknown; use {' or '.join(CLASSIFIER_HEADS)}")
    return value


def _check_options(params: dict[str, Any]) -> None:
    """The numeric options, before any data is read (one line each; --schedule is checked as the
    command line is read)."""
    from rnnkit.tasks.options import check_options

    check_options("TextClassifier", params)


def _check_known_labels(
    train: Any, other: Any, paths: list[Path], what: str, options: dict[str, Any]
) -> None:
    """Refuse a label of ``--test``/``--valid`` that TRAIN does not have, before any training (an
    unseen class cannot be scored): one line naming the label and its file."""
    known = set(train.classes)
    unseen = [label for label in dict.fromkeys(other.labels or []) if label not in known]
    if not unseen:
        return
    label, source = unseen[0], other.source
    if len(paths) > 1:  # name the file that has it
        source = next((str(p) for p in paths
                       if label in set(_read([p], what, **options).labels or [])), source)
    raise DataError(
        f"{what}: label {label!r} in {source} is not among the training labels "
        f"({', '.join(map(str, train.classes))}); give {what} files with the classes of TRAIN"
    )


def _train_stream(
    train_paths: list[Path],
    out: Path,
    test: list[Path] | None,
    valid: list[Path] | None,
    options: dict[str, Any],
    seed: int,
    params: dict[str, Any],
    run: dict[str, Any],
    as_json: bool,
    started: float,
    force: bool,
) -> None:
    """``--stream``: shards in, one streaming pass for the vocabulary, one read per epoch."""
    from rnnkit.tasks import TextClassifier

    shards = _shards(train_paths, "TRAIN", options, seed)
    info(f"streaming {len(shards)} training shard(s) from {shards.source}")
    if test:
        test_shards = _shards(test, "--test", options, seed)
    else:
        test_shards, shards = shards.select(0.0, 0.2), shards.select(0.2, 1.0)
        info("held out 20% of the examples (by hash) as the test split")
    validation = _shards(valid, "--valid", options, seed) if valid else None
    clf = TextClassifier(seed=seed, verbose=1, **params)
    clf.fit(shards, validation_data=validation, **run)
    if not is_main_process():
        return
    finish_training(clf, lambda: clf.evaluate(test_shards), out, started, as_json, force, run,
                    _transfer_report(clf))


def _shards(paths: list[Path], what: str, options: dict[str, Any], seed: int) -> Any:
    from rnnkit.data.text_shards import TextShards

    return TextShards(existing(paths, what), column(options["text_col"]),
                      column(options["label_col"]),
                      header=options["header"], encoding=options["encoding"], seed=seed)


@text_app.command("predict")
def predict(
    bundle: Annotated[
        Path, typer.Argument(help="A bundle written by `rnnkit text train`.", metavar="BUNDLE")
    ],
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to classify.", metavar="TEXT...")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="A file of texts: one per line (.txt, or - for stdin), "
                 "or CSV/TSV/JSONL with --text-column.",
        ),
    ] = None,
    text_column: TextColumn = None,
    header: Header = None,
    encoding: Encoding = "utf-8",
    as_json: AsJsonLines = False,
) -> None:
    """Classify texts: a line per text with its label.

    A CSV/TSV --input has its header row detected as in training (or say --header/--no-header).
    A text without any word (empty, or only punctuation) is refused: its label would be a guess.
    """
    from rnnkit.tasks import TextClassifier

    check_encoding(encoding)
    clf = TextClassifier.load(bundle)
    items = list(texts or [])
    if input_file is not None:
        items += _input_texts(input_file, text_column, encoding, header)
    if not items:
        raise DataError("no texts given; pass texts as arguments or use --input FILE")
    wordless = clf.wordless(items)
    if wordless:
        first, from_args = wordless[0], len(texts or [])
        where, number = (("TEXT", first + 1) if first < from_args
                         else ("--input", first - from_args + 1))
        more = f" (and {len(wordless) - 1} more)" if len(wordless) > 1 else ""
        raise DataError(f"{where}: text {number} ({items[first]!r}) has no words to classify"
                        f"{more}; give texts with words")
    proba = clf.predict_proba(items)
    for text, row in zip(items, proba, strict=True):
        best = int(row.argmax())
        label = clf.classes_[best]
        if as_json:
            emit_json(
                {
                    "text": text,
                    "label": label,
                    "probability": round(float(row[best]), 6),
                    "probabilities": {
                        str(c): round(float(p), 6) for c, p in zip(clf.classes_, row, strict=True)
                    },
                }
            )
        else:
            snippet = " ".join(text.split())
            snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
            typer.echo(f"{label}\t{row[best]:.3f}\t{snippet}")


def _input_texts(
    path: Path, text_column: str | None, encoding: str, header: bool | None = None
) -> list[str]:
    name = path.name.lower().removesuffix(".gz")
    tabular = name.endswith((".csv", ".tsv", ".jsonl", ".json")) or text_column is not None
    if str(path) == "-" or not tabular:
        return input_lines(path, encoding)
    existing([path], "--input")
    from rnnkit.data import read_text_dataset

    return read_text_dataset([str(path)], column(text_column), None, header=header,
                             has_labels=False, encoding=encoding).texts


@text_app.command("evaluate")
def evaluate(
    bundle: Annotated[
        Path, typer.Argument(help="A bundle written by `rnnkit text train`.", metavar="BUNDLE")
    ],
    data: Annotated[
        list[Path], typer.Argument(help="Labelled data in any supported format.", metavar="DATA...")
    ],
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    header: Header = None,
    encoding: Encoding = "utf-8",
    as_json: AsJson = False,
) -> None:
    """Accuracy, macro F1 and per-class numbers on labelled data."""
    from rnnkit.tasks import TextClassifier

    check_encoding(encoding)
    clf = TextClassifier.load(bundle)
    ds = _read(data, "DATA", text_column, label_column, header, encoding=encoding)
    report = clf.evaluate(ds.texts, ds.labels)
    typer.echo(metrics_table(f"{ds.source}", report))
    if as_json:
        emit_json({"accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
                   "count": report["count"], "per_class": report["per_class"],
                   "confusion_matrix": report["confusion_matrix"]})
