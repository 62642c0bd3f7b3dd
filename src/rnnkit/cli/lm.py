"""``rnnkit lm``: train a character- or word-level language model on text files, tables or class
folders, and generate from it.

    rnnkit lm train input.txt --out shakespeare --time-budget 900 --json
    rnnkit lm train reviews.csv --text-column review --level word --output adaptive --out imdb_lm
    rnnkit lm generate shakespeare --prime "ROMEO:" --length 300 --temperature 0.8 --seed 1
    rnnkit lm score shakespeare held_out.txt --json
    rnnkit lm train target.csv --text-column review --init imdb_lm --out target_lm \
        --schedule stlr --layer-lr-decay 2.6  # fine-tune (ULMFiT's stage 2)

Options left unset take the defaults of ``rnnkit.tasks.defaults.LM_DEFAULTS``.
"""

from __future__ import annotations

import codecs
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from rnnkit.cli.common import (
    AsJson,
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
    OptimizerName,
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
    given,
    info,
    is_main_process,
    phase_seconds,
    refuse_with,
    run_options,
    seconds_line,
    shows_defaults,
    tidy_checkpoints,
)
from rnnkit.cli.paths import check_encoding
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.defaults import LM_DEFAULT_EPOCHS, LM_DEFAULTS, LM_TASK

lm_app = typer.Typer(help="Language models: learn a text, generate from it.", no_args_is_help=True)

Bundle = Annotated[Path, typer.Argument(help="A bundle written by `rnnkit lm train`.")]


#: File names read as tables of documents (after a compression suffix), besides directories.
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json")


def _is_table(path: Path) -> bool:
    name = path.name.lower()
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    return path.is_dir() or name.endswith(TABLE_SUFFIXES)


def _documents(
    paths: list[Path], text_column: str | None, header: bool | None, encoding: str
) -> list[str] | None:
    """The texts of CSV/TSV/JSONL files or class folders (one document each), or None when the
    paths are plain text files (and no ``--text-column`` is given)."""
    existing(paths, "TEXT")
    tables = [_is_table(p) for p in paths]
    if text_column is None and not any(tables):
        return None
    if not all(tables) and text_column is None:
        plain = paths[tables.index(False)]
        raise DataError(f"TEXT: {plain} is a plain text file among tables or folders; give "
                        "either text files or tables/class folders (or --text-column for all)")
    from rnnkit.data import read_text_dataset

    return read_text_dataset([str(p) for p in paths], column(text_column), None, header=header,
                             has_labels=False, encoding=check_encoding(encoding)).texts


def _cutoffs(value: str | None) -> list[int] | None:
    """``--cutoffs 2000,10000`` -> [2000, 10000] (checked by the estimator)."""
    if value is None:
        return None
    try:
        return [int(part) for part in value.split(",")]
    except ValueError:
        raise ConfigError(f"--cutoffs {value!r}: expected increasing integers separated by "
                          "commas, e.g. 2000,10000") from None


def _corpus(paths: list[Path], encoding: str) -> list[Path] | str:
    """What the model reads: the files themselves, or their text when not in UTF-8 (a ``str``
    is read as text, so the files are decoded here with the given encoding)."""
    existing(paths, "TEXT")
    if codecs.lookup(check_encoding(encoding)).name == "utf-8":
        return list(paths)
    from rnnkit.data.lm_streams import read_corpus

    return read_corpus(paths, encoding)


def _check_init(path: Path) -> None:
    """Refuse a bundle that is not a language model before any text is read."""
    from rnnkit.tasks.transfer import load_language_model

    load_language_model(path, "--init")


def _unescape(value: str | None) -> str | None:
    """``\\n`` and ``\\t`` typed on a command line -> newline and tab."""
    if value is None:
        return None
    return value.replace("\\n", "\n").replace("\\t", "\t")


def _known_standardize(value: str | None) -> str | None:
    """``--standardize`` checked while the command line is read, before any text is."""
    if value is None:
        return None
    from rnnkit.data.text import STANDARDIZE_MODES  # loads torch (rnnkit.data): only when given

    if value not in STANDARDIZE_MODES:
        names = ", ".join(m for m in STANDARDIZE_MODES if m is not None)
        raise ConfigError(f"--standardize: {value!r} is unknown; use one of {names}")
    return value


@lm_app.command("train")
@shows_defaults({**LM_DEFAULTS, "epochs": f"{LM_DEFAULT_EPOCHS}, or until --time-budget"})
def train(
    text_paths: Annotated[
        list[Path],
        typer.Argument(
            help="Plain-text files (UTF-8; gzip/bz2/xz ok), read in order; or CSV/TSV/JSONL "
                 "files or class folders, one document per row or file.",
            metavar="TEXT...",
        ),
    ],
    out: Out,
    level: Annotated[
        str | None, typer.Option(metavar="LEVEL", help="char or word.", show_default="char")
    ] = None,
    cell: Cell = None,
    hidden_size: HiddenSize = None,
    num_layers: NumLayers = None,
    embedding_dim: Annotated[
        int | None, typer.Option(help="Embedding width; 0 = one-hot input.")
    ] = None,
    dropout: Dropout = None,
    tie_weights: Annotated[
        bool,
        typer.Option(
            "--tie-weights",
            help="Share embedding and output weights (needs embedding-dim = hidden-size).",
        ),
    ] = False,
    bptt: Annotated[int | None, typer.Option(help="Steps per truncated-BPTT window.")] = None,
    batch_size: BatchSize = None,
    random_windows: Annotated[
        bool,
        typer.Option(
            "--random-windows",
            help="Shuffled windows with state reset, instead of stateful streams.",
        ),
    ] = False,
    epochs: Epochs = None,
    lr: LearningRate = None,
    optimizer: OptimizerName = None,
    weight_decay: Annotated[
        float | None,
        typer.Option(metavar="X", help="Weight decay (decoupled with adamw: 0.1 brings "
                     "--cell mingru --block residual level with the LSTM on Tiny Shakespeare).",
                     show_default="0"),
    ] = None,
    schedule: Schedule = None,
    layer_lr_decay: LayerLrDecay = None,
    valid_fraction: Annotated[
        float, typer.Option(metavar="X", help="Contiguous tail of the text held out for "
                            "validation.")
    ] = 0.1,
    max_tokens: Annotated[
        int | None, typer.Option(help="Vocabulary size cap (useful at word level).")
    ] = None,
    time_budget: TimeBudget = None,
    seed: Seed = 0,
    sample_length: Annotated[
        int, typer.Option(help="Tokens in the sample printed after training.")
    ] = 200,
    workers: Workers = 1,
    checkpoint_dir: CheckpointDir = None,
    resume: Resume = False,
    encoding: Encoding = "utf-8",
    force: Force = False,
    as_json: AsJson = False,
    text_column: Annotated[
        str | None,
        typer.Option("--text-column",
                     help="Text column of CSV/TSV/JSONL input: name or 0-based index."),
    ] = None,
    header: Annotated[
        bool | None,
        typer.Option("--header/--no-header", help="Whether tables have a header row "
                     "(default: detect)."),
    ] = None,
    weight_drop: Annotated[
        float | None,
        typer.Option(help="DropConnect on the recurrent weights, one mask per batch (AWD-LSTM)."),
    ] = None,
    embedding_dropout: Annotated[
        float | None,
        typer.Option(help="Drop whole words of the embedding in training."),
    ] = None,
    locked_dropout: Annotated[
        bool,
        typer.Option("--locked-dropout",
                     help="Draw --dropout once per sequence instead of per step (variational)."),
    ] = False,
    ar: Annotated[
        float | None, typer.Option(help="Activation regularisation weight (AWD-LSTM uses 2).")
    ] = None,
    tar: Annotated[
        float | None,
        typer.Option(help="Temporal activation regularisation weight (AWD-LSTM uses 1)."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(help="full (softmax) or adaptive (adaptive softmax: faster training on "
                          "large word vocabularies)."),
    ] = None,
    cutoffs: Annotated[
        str | None,
        typer.Option(help="Adaptive softmax cluster bounds, e.g. 2000,10000 (default: by "
                          "frequency)."),
    ] = None,
    standardize: Annotated[
        str | None,
        typer.Option(metavar="MODE", callback=_known_standardize,
                     help="Clean text before splitting: lower_and_split_punctuation (lower case, "
                          "punctuation marks as words: for a model classifiers build on), lower, "
                          "... (default: as it is)."),
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(metavar="BLOCK",
                     help="plain (layers stacked) or residual (pre-norm residual blocks with a "
                          "causal convolution: the better stack for scan cells such as mingru).",
                     show_default="plain"),
    ] = None,
    conv_kernel: Annotated[
        int | None,
        typer.Option(help="Width of the residual blocks' causal convolution (1 = none).",
                     show_default="4"),
    ] = None,
    init: Annotated[
        Path | None,
        typer.Option(metavar="LM_BUNDLE",
                     help="Continue training this language model (fine-tuning on TEXT): its "
                          "vocabulary (new words read as [UNK]), network and weights."),
    ] = None,
) -> None:
    """Train a language model on texts or tables; save a bundle."""
    started = time.perf_counter()
    run = run_options(out, workers, checkpoint_dir, resume)
    check_outputs(out, LM_TASK, force, run["checkpoint_dir"])
    documents = _documents(text_paths, text_column, header, encoding)
    corpus: Any = documents if documents is not None else _corpus(text_paths, encoding)

    params = given(cell=cell, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout,
                   bptt=bptt, batch_size=batch_size, epochs=epochs, lr=lr, optimizer=optimizer,
                   weight_decay=weight_decay, max_tokens=max_tokens,
                   weight_drop=weight_drop, embedding_dropout=embedding_dropout, ar=ar, tar=tar,
                   output=output, cutoffs=_cutoffs(cutoffs), level=level, schedule=schedule,
                   layer_lr_decay=layer_lr_decay, standardize=standardize, block=block,
                   conv_kernel=conv_kernel)
    if embedding_dim is not None:
        params["embedding_dim"] = embedding_dim or None
    if tie_weights:
        params["tie_weights"] = True
    if init is not None:
        from rnnkit.tasks.transfer import LM_OPTIONS  # what the model of --init decides

        refuse_with("--init", params, (*LM_OPTIONS, "max_tokens"))
        _check_init(init)
        params["init"] = str(init)
    if locked_dropout:
        params["locked_dropout"] = True
    if documents is not None and init is None:  # with --init: the separator of its model
        from rnnkit.tasks.language_model import DOCUMENT_SEPARATOR

        params["document_separator"] = DOCUMENT_SEPARATOR
    if random_windows:
        params["windows"] = "random"
    from rnnkit.tasks import LanguageModel  # torch: only after the checks that need none

    lm = LanguageModel(valid_fraction=valid_fraction, time_budget=time_budget, seed=seed,
                       verbose=1, **params)
    lm.fit(corpus, **run)
    if not is_main_process():
        return  # torchrun: rank 0 samples, saves and reports
    sample = lm.generate(length=sample_length, temperature=0.8, seed=seed)
    times = phase_seconds(started, lm.metrics_["train_seconds"], None)  # no test split
    bundle = lm.save(out, extra_metrics={"sample": sample}, force=force)
    tidy_checkpoints(out, run)
    valid = lm.metrics_.get("validation")
    documents_read = f" of {len(documents):,} documents" if documents is not None else ""
    info(f"trained {lm.metrics_['epochs_run']} epoch(s) on {lm.metrics_['train_tokens']:,} tokens"
         f"{documents_read} ({lm.metrics_['stopped_reason']}); vocabulary "
         f"{lm.metrics_['vocabulary_size']}")
    init_report = lm.metrics_.get("init")
    if init_report is not None:
        from rnnkit.tasks.transfer import oov_line

        info(oov_line(init_report, "--init"))
    if valid:
        bpc = f"   bpc {valid['bpc']:.4f}" if valid["bpc"] is not None else ""
        typer.echo(f"validation: loss {valid['loss']:.4f} nats/token   perplexity "
                   f"{valid['perplexity']:.2f}{bpc}")
    typer.echo(f"sample:\n{sample}")
    typer.echo(f"bundle: {bundle}  ({seconds_line(times)})")
    if as_json:
        emit_json({
            "valid": {k: valid[k] for k in ("loss", "bpc", "perplexity")} if valid else None,
            "sample": sample,
            "bundle": str(bundle),
            **times,
            **({"init": init_report} if init_report is not None else {}),
        })


@lm_app.command("generate")
def generate(
    bundle: Bundle,
    prime: Annotated[
        str, typer.Option(help="Text to continue (\\n = line break); empty = start of a line.")
    ] = "",
    length: Annotated[int, typer.Option(help="Tokens to generate (characters or words).")] = 200,
    temperature: Annotated[
        float, typer.Option(help="0 = greedy; lower = safer, higher = wilder.")
    ] = 1.0,
    top_k: Annotated[
        int | None, typer.Option(help="Sample among the k most likely tokens only.")
    ] = None,
    top_p: Annotated[
        float | None, typer.Option(help="Sample within the smallest set of probability >= p.")
    ] = None,
    stop: Annotated[
        str | None, typer.Option(help="Stop before this string (\\n = line break).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Makes the sample repeatable.")] = None,
    oov: Annotated[
        bool,
        typer.Option(
            "--oov", help="Read unknown characters/words of the prime as [UNK] instead of failing."
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Generate text, printed as it is sampled.

    With --json the text is printed once it is done, in one JSON object.
    """
    from rnnkit.tasks import LanguageModel

    lm = LanguageModel.load(bundle)
    prime_text = _unescape(prime) or ""
    pieces = lm.stream(prime_text, length=length, temperature=temperature, top_k=top_k, top_p=top_p,
                       stop=_unescape(stop), seed=seed, unknown="oov" if oov else "error")
    if as_json:
        text = "".join(pieces)
        emit_json({"prime": prime_text, "text": prime_text + text, "continuation": text})
        return
    out = sys.stdout
    out.write(prime_text)
    out.flush()
    for piece in pieces:
        out.write(piece)
        out.flush()
    out.write("\n")
    out.flush()


@lm_app.command("score")
def score(
    bundle: Bundle,
    text_paths: Annotated[
        list[Path], typer.Argument(help="Text files to score.", metavar="TEXT...")
    ],
    encoding: Encoding = "utf-8",
    as_json: AsJson = False,
    text_column: Annotated[
        str | None,
        typer.Option("--text-column",
                     help="Text column of CSV/TSV/JSONL input: name or 0-based index."),
    ] = None,
) -> None:
    """Loss, perplexity and bits per character on texts.

    The loss is in nats per token.
    """
    from rnnkit.tasks import LanguageModel

    documents = _documents(text_paths, text_column, None, encoding)
    corpus: Any = documents if documents is not None else _corpus(text_paths, encoding)
    lm = LanguageModel.load(bundle)
    report = lm.evaluate(corpus)
    bpc = f"   bpc {report['bpc']:.4f}" if report["bpc"] is not None else ""
    typer.echo(f"loss {report['loss']:.4f} nats/token   perplexity {report['perplexity']:.2f}{bpc}"
               f"   ({report['tokens']:,} tokens)")
    if as_json:
        emit_json(report)
