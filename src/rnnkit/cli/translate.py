"""``rnnkit translate``: train an encoder-decoder with attention on sentence pairs, and use it.

    rnnkit translate train pairs.tsv --out model                      # source<TAB>target per line
    rnnkit translate train --source-file train.de.gz --target-file train.en.gz \\
        --valid-source val.de.gz --valid-target val.en.gz \\
        --test-source test.de.gz --test-target test.en.gz --time-budget 1800 --out de-en --json
    rnnkit translate run model "ein mann fährt fahrrad ." --beam-size 5 --plot-attention att.png

--test, --valid and their -source/-target forms take every file up to the next option; the
training, validation and test files must not overlap.
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
    Out,
    Resume,
    Seed,
    TimeBudget,
    Workers,
    check_outputs,
    column,
    emit_json,
    existing,
    given,
    info,
    input_lines,
    is_main_process,
    phase_seconds,
    run_options,
    seconds_line,
    shows_defaults,
    tidy_checkpoints,
    timed,
)
from rnnkit.cli.paths import check_disjoint, check_encoding, check_output_file
from rnnkit.errors import DataError
from rnnkit.tasks.defaults import TRANSLATE_DEFAULTS as D
from rnnkit.tasks.defaults import TRANSLATE_TASK

translate_app = typer.Typer(help="Translation: encoder-decoder with attention.",
                            no_args_is_help=True)


def _pairs(paths: list[Path], source_files: list[Path], target_files: list[Path], what: str,
           columns: tuple[str | None, str | None], encoding: str) -> Any:
    """Pairs files, or line-aligned source and target files, read and joined (None: none given)."""
    if len(source_files) != len(target_files):
        raise DataError(f"{what}: give one target file per source file "
                        f"({len(source_files)} source, {len(target_files)} target)")
    if source_files and paths:
        raise DataError(f"{what}: give either pairs files or parallel source and target files, "
                        "not both")
    existing([*paths, *source_files, *target_files], what)
    from rnnkit.data.pairs import read_pairs, read_parallel

    src_col, tgt_col = column(columns[0]), column(columns[1])
    parts = [
        read_parallel(src, tgt, encoding)
        for src, tgt in zip(source_files, target_files, strict=True)
    ]
    parts += [read_pairs(path, 0 if src_col is None else src_col, 1 if tgt_col is None else tgt_col,
                         encoding=encoding) for path in paths]
    return _join(parts) if parts else None


def _join(parts: list[Any]) -> Any:
    """Several pair datasets as one, in order."""
    from rnnkit.data.pairs import PairDataset

    if len(parts) == 1:
        return parts[0]
    return PairDataset([s for p in parts for s in p.sources], [t for p in parts for t in p.targets],
                       f"{parts[0].origin} + {len(parts) - 1} more", sum(p.skipped for p in parts))


def _listed(*paths: Path | None) -> list[Path]:
    return [p for p in paths if p is not None]


@translate_app.command("train")
@shows_defaults(D)
def train(
    out: Out,
    pairs: Annotated[
        Path | None,
        typer.Argument(
            help="Pairs file: TSV/CSV (plain or gzip), source<TAB>target per line.", metavar="PAIRS"
        ),
    ] = None,
    source_file: Annotated[
        Path | None,
        typer.Option("--source-file", help="Parallel source file (one sentence per line)."),
    ] = None,
    target_file: Annotated[
        Path | None,
        typer.Option(
            "--target-file", help="Parallel target file, line-aligned with --source-file."
        ),
    ] = None,
    valid: Annotated[
        list[Path] | None,
        typer.Option("--valid", help="Validation pairs file(s).", show_default="5% of PAIRS"),
    ] = None,
    valid_source: Annotated[
        list[Path] | None,
        typer.Option("--valid-source", help="Validation source file(s) (with --valid-target)."),
    ] = None,
    valid_target: Annotated[
        list[Path] | None,
        typer.Option(
            "--valid-target", help="Validation target file(s), one per --valid-source file."
        ),
    ] = None,
    test: Annotated[
        list[Path] | None,
        typer.Option("--test", help="Test pairs file(s).", show_default="hold out 10% of PAIRS"),
    ] = None,
    test_source: Annotated[
        list[Path] | None,
        typer.Option("--test-source", help="Test source file(s) (with --test-target)."),
    ] = None,
    test_target: Annotated[
        list[Path] | None,
        typer.Option("--test-target", help="Test target file(s), one per --test-source file."),
    ] = None,
    source_column: Annotated[
        str | None,
        typer.Option("--source-column", metavar="COLUMN", help="Source column: 0-based index or "
                     "name.", show_default="0"),
    ] = None,
    target_column: Annotated[
        str | None,
        typer.Option("--target-column", metavar="COLUMN", help="Target column: 0-based index or "
                     "name.", show_default="1"),
    ] = None,
    source_level: Annotated[
        str, typer.Option("--source-level", metavar="LEVEL", help="auto, word or char.")
    ] = "auto",
    target_level: Annotated[
        str, typer.Option("--target-level", metavar="LEVEL", help="auto, word or char.")
    ] = "auto",
    attention: Annotated[
        str | None, typer.Option(metavar="KIND", help="bahdanau, luong or none.")
    ] = None,
    cell: Cell = None,
    hidden_size: HiddenSize = None,
    embedding_dim: Annotated[int | None, typer.Option(help="Embedding width (both sides).")] = None,
    num_layers: NumLayers = None,
    dropout: Dropout = None,
    teacher_forcing: Annotated[
        float | None, typer.Option(metavar="P", help="Probability of feeding the gold previous "
                                   "token.")
    ] = None,
    label_smoothing: Annotated[
        float | None, typer.Option(metavar="X", help="Label smoothing of the loss.")
    ] = None,
    min_freq: Annotated[int | None, typer.Option(help="Rarer tokens become [UNK].")] = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    lr: LearningRate = None,
    beam_size: Annotated[
        int | None,
        typer.Option("--beam-size", help="Beam for the test translations (1 = greedy)."),
    ] = None,
    time_budget: TimeBudget = None,
    seed: Seed = 0,
    workers: Workers = 1,
    checkpoint_dir: CheckpointDir = None,
    resume: Resume = False,
    encoding: Encoding = "utf-8",
    force: Force = False,
    as_json: AsJson = False,
) -> None:
    """Train a translation model; save a bundle, report test BLEU.

    Give PAIRS first: --test and --valid (and their -source/-target forms) take every file up to
    the next option. Training, validation and test files must not overlap.
    """
    started = time.perf_counter()
    run = run_options(out, workers, checkpoint_dir, resume)
    check_outputs(out, TRANSLATE_TASK, force, run["checkpoint_dir"])
    check_encoding(encoding)
    test_files = (test or [], test_source or [], test_target or [])
    valid_files = (valid or [], valid_source or [], valid_target or [])
    check_disjoint({"PAIRS": _listed(pairs, source_file, target_file),
                    "--test": [p for group in test_files for p in group],
                    "--valid": [p for group in valid_files for p in group]})
    columns = (source_column, target_column)
    if (source_file is None) != (target_file is None):
        raise DataError("PAIRS: give both a source file and a target file (--source-file, "
                        "--target-file)")
    data = _pairs(_listed(pairs), _listed(source_file), _listed(target_file), "PAIRS", columns,
                  encoding)
    if data is None:
        raise DataError("no training data; give a PAIRS file before the options, or --source-file "
                        "and --target-file")
    info(
        f"read {len(data)} training pairs from {data.origin}"
        + (f" ({data.skipped} empty skipped)" if data.skipped else "")
    )
    test_data = _pairs(*test_files, "--test", columns, encoding)
    sources, targets = data.sources, data.targets
    if test_data is None:
        if len(sources) < 20:
            raise DataError(f"PAIRS has only {len(sources)} pairs; give at least 20 or a --test "
                            "file")
        import numpy as np

        perm = np.random.default_rng(seed).permutation(len(sources))
        n_test = max(1, len(sources) // 10)
        test_src = [sources[i] for i in perm[:n_test]]
        test_tgt = [targets[i] for i in perm[:n_test]]
        sources = [sources[i] for i in perm[n_test:]]
        targets = [targets[i] for i in perm[n_test:]]
        info(f"held out {n_test} pairs (10%) as the test split")
    else:
        test_src, test_tgt = test_data.sources, test_data.targets
    valid_data = _pairs(*valid_files, "--valid", columns, encoding)
    validation = (valid_data.sources, valid_data.targets) if valid_data is not None else None
    from rnnkit.tasks import Translator  # torch: only after the checks that need none

    model = Translator(
        source_level=source_level, target_level=target_level, seed=seed, verbose=1,
        **given(attention=attention, cell=cell, hidden_size=hidden_size,
                embedding_dim=embedding_dim, num_layers=num_layers, dropout=dropout,
                teacher_forcing=teacher_forcing, label_smoothing=label_smoothing,
                min_freq=min_freq, epochs=epochs, batch_size=batch_size, lr=lr,
                beam_size=beam_size, time_budget=time_budget),
    )
    model.fit(sources, targets, validation_data=validation, **run)
    if not is_main_process():
        return  # torchrun: rank 0 evaluates, saves and reports
    info(f"levels: source {model.source_level_}, target {model.target_level_}; "
         f"{model.metrics_['epochs_run']} epoch(s), stopped: {model.metrics_['stopped_reason']}")
    report, test_seconds = timed(lambda: model.evaluate(test_src, test_tgt))
    times = phase_seconds(started, model.metrics_["train_seconds"], test_seconds)
    bundle = model.save(out, extra_metrics={"test": report}, example=test_src[0], force=force)
    tidy_checkpoints(out, run)
    typer.echo(
        f"test: BLEU {report['bleu']:.2f}  exact match {report['exact_match']:.4f}  "
        f"loss {report['loss']:.4f}  token accuracy {report['token_accuracy']:.4f}  "
        f"({report['count']} pairs, beam {report['beam_size']})"
    )
    typer.echo(f"sacrebleu: {report['signature']}")
    typer.echo(f"bundle: {bundle}  ({seconds_line(times)})")
    if as_json:
        emit_json({
            "test": {"bleu": round(report["bleu"], 4), "loss": round(report["loss"], 6),
                     "exact_match": round(report["exact_match"], 6),
                     "token_accuracy": round(report["token_accuracy"], 6), "count": report["count"],
                     "signature": report["signature"]},
            "bundle": str(bundle),
            **times,
        })


@translate_app.command("run")
def run(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `rnnkit translate train`.")],
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to translate.", metavar="TEXT...")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="A file of texts, one per line (- for stdin)."),
    ] = None,
    beam_size: Annotated[
        int | None,
        typer.Option("--beam-size", help="1 = greedy.", show_default="the model's"),
    ] = None,
    plot_attention: Annotated[
        Path | None,
        typer.Option("--plot-attention", help="Save the attention map of the first text as PNG."),
    ] = None,
    encoding: Encoding = "utf-8",
    as_json: AsJsonLines = False,
) -> None:
    """Translate texts: a line per text."""
    from rnnkit.tasks import Translator

    existing([bundle], "BUNDLE")
    check_encoding(encoding)
    if plot_attention is not None:
        check_output_file(plot_attention, "--plot-attention", (".png",))
    items = list(texts or [])
    if input_file is not None:
        items += input_lines(input_file, encoding)
    if not items:
        raise DataError("no texts given; pass texts as arguments or use --input FILE")
    model = Translator.load(bundle)
    results = model.translate_with_attention(items, beam_size=beam_size)
    if plot_attention is not None:
        if model.params["attention"] == "none":
            raise DataError("--plot-attention: this model has no attention "
                            "(trained with --attention none)")
        from rnnkit.viz import save_figure
        from rnnkit.viz.attention import plot_attention as plot

        first = results[0]
        save_figure(
            plot(first.weights, first.source_tokens, first.target_tokens, title=first.source),
            plot_attention,
        )
        info(f"attention map of text 1 written to {plot_attention}")
    for r in results:
        if as_json:
            emit_json({"source": r.source, "translation": r.text, "score": round(r.score, 6),
                       "source_tokens": r.source_tokens, "target_tokens": r.target_tokens,
                       "attention": [[round(float(v), 5) for v in row] for row in r.weights]})
        else:
            typer.echo(r.text)
