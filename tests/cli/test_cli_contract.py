"""One contract for every command: ``--json`` everywhere (one object as the last stdout line, or
JSON Lines for the commands that answer per input), the same training options on the five
``train`` commands, ``--version``, rnnkit's warnings as one line.

Every leaf of the command tree must appear in :data:`COMMANDS`, so that a new command without a
``--json`` (or without a test of it) fails here. The commands run in-process through
``rnnkit.cli.main`` (torch is imported once); ``serve`` runs as a subprocess, it keeps serving.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import select
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cli_support import rnnkit, write_pairs, write_reviews, write_ts
from typer.core import TyperGroup, TyperOption

from rnnkit.cli import JSON_LINES_COMMANDS, app, build_command, main, warnings_as_lines
from rnnkit.cli.argv import renew_option_names
from rnnkit.cli.common import TRAINING_OPTIONS
from rnnkit.errors import warn_user

TRAIN_COMMANDS = ("text train", "seq train", "series train", "lm train", "translate train")


@dataclass
class Run:
    status: int
    out: str
    err: str

    def last_object(self) -> dict[str, Any]:
        lines = self.out.strip().splitlines()
        assert lines, self.err
        result = json.loads(lines[-1])
        assert isinstance(result, dict)
        return result


def run(*argv: str | Path) -> Run:
    """``rnnkit ARGV`` in this process: exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    status: Any = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main([str(a) for a in argv])
        except SystemExit as done:
            status = done.code or 0
    return Run(int(status), out.getvalue(), err.getvalue())


def leaves(command: Any, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every runnable command of the tree by its words, ``{"text train": <command>, ...}``."""
    if isinstance(command, TyperGroup):
        found: dict[str, Any] = {}
        for name, sub in command.commands.items():
            found.update(leaves(sub, (*path, name)))
        return found
    return {" ".join(path): command}


# ----------------------------------------------------------------------------------- the data
def write_daily_series(path: Path, days: int = 90) -> Path:
    """A weekly-seasonal daily series with one date missing (read_series warns about it)."""
    import math

    start = datetime.date(2024, 1, 1)
    rows = [f"{start + datetime.timedelta(days=i)},{20 + 5 * math.sin(2 * math.pi * i / 7):.3f}"
            for i in range(days) if i != 40]
    path.write_text("\n".join(["day,visits", *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> SimpleNamespace:
    """The five train commands, run once with --json on tiny data (their runs are checked by
    the contract test like any other command's)."""
    root = tmp_path_factory.mktemp("contract")
    files = SimpleNamespace(
        root=root,
        reviews=write_reviews(root / "reviews.csv", 40),
        sequences=write_ts(root / "train.ts", 30),
        series_csv=write_daily_series(root / "visits.csv"),
        corpus=root / "corpus.txt",
        pairs=write_pairs(root / "pairs.tsv", 40),
        phrases=root / "phrases.txt",
    )
    files.corpus.write_text("to be or not to be, that is the question\n" * 30, encoding="utf-8")
    files.phrases.write_text("three four\n\nfive six\n", encoding="utf-8")
    tiny = ["--epochs", "1", "--hidden-size", "8", "--seed", "0", "--json"]
    train_args = {
        "text train": ["text", "train", files.reviews, "--max-tokens", "100"],
        "seq train": ["seq", "train", files.sequences],
        "series train": ["series", "train", files.series_csv, "--ensemble", "1"],
        "lm train": ["lm", "train", files.corpus, "--num-layers", "1", "--embedding-dim", "4",
                     "--bptt", "8", "--batch-size", "4", "--sample-length", "5"],
        "translate train": ["translate", "train", files.pairs, "--embedding-dim", "4",
                            "--min-freq", "1", "--batch-size", "16", "--beam-size", "1"],
    }
    files.runs = {}
    for name, args in train_args.items():
        task = name.split()[0]
        files.runs[name] = run(*args, "--out", root / task, *tiny)
        setattr(files, task, root / task)
    return files


def _predict_lines(cmd: str, files: SimpleNamespace) -> tuple[list[str | Path], int]:
    """(the arguments, the number of inputs) of the commands that answer per input."""
    if cmd == "text predict":
        return ["text", "predict", files.text, "a great film", "a dull mess"], 2
    if cmd == "seq predict":
        return ["seq", "predict", files.seq, files.sequences], 30
    # translate run: two texts as arguments and two non-blank lines of --input
    return ["translate", "run", files.translate, "one two", "seven", "--input", files.phrases], 4


#: How each command is run with --json (the train commands ran in the fixture).
COMMANDS: dict[str, Callable[[SimpleNamespace], list[str | Path]] | None] = {
    "text train": None, "seq train": None, "series train": None, "lm train": None,
    "translate train": None,
    "text evaluate": lambda f: ["text", "evaluate", f.text, f.reviews],
    "seq evaluate": lambda f: ["seq", "evaluate", f.seq, f.sequences],
    "lm generate": lambda f: ["lm", "generate", f.lm, "--prime", "to", "--length", "5",
                              "--seed", "1"],
    "lm score": lambda f: ["lm", "score", f.lm, f.corpus],
    "series forecast": lambda f: ["series", "forecast", f.series, "--steps", "3"],
    "series backtest": lambda f: ["series", "backtest", f.series, "--csv", f.series_csv],
    "text predict": lambda f: _predict_lines("text predict", f)[0],
    "seq predict": lambda f: _predict_lines("seq predict", f)[0],
    "translate run": lambda f: _predict_lines("translate run", f)[0],
    "export": lambda f: ["export", f.text, "--format", "torchscript", "--out", f.root / "m.pt"],
    "report": lambda f: ["report", f.text, "--out", f.root / "report.html", "--example",
                         "a great film"],
    "inspect": lambda f: ["inspect", f.text, "a great film", "--out", f.root / "inside"],
    "memory": lambda f: ["memory", "--out", f.root / "memory", "--cells", "rnn", "--lengths",
                         "5", "--time-budget", "0.2", "--hidden-size", "4"],
    "info": lambda f: ["info"],
    "data list": lambda f: ["data", "list"],
    "data get": lambda f: ["data", "get", "airline_passengers", "--out", f.root / "air_data"],
    "demo": lambda f: ["demo"],
    "serve": lambda f: ["serve", f.text, "--port", "0"],
}


def test_every_command_has_json_and_a_contract_test() -> None:
    commands = leaves(build_command())
    assert set(commands) == set(COMMANDS), "a command without an entry in COMMANDS"
    for name, command in commands.items():
        opts = {o for p in command.params if isinstance(p, TyperOption) for o in p.opts}
        assert "--json" in opts, f"rnnkit {name} has no --json"
    assert JSON_LINES_COMMANDS <= set(commands)


@pytest.mark.parametrize("cmd", sorted(set(COMMANDS) - {"serve", "demo"}))
def test_json_contract(cmd: str, trained: SimpleNamespace) -> None:
    if cmd in TRAIN_COMMANDS:
        result = trained.runs[cmd]
    else:
        make = COMMANDS[cmd]
        assert make is not None
        result = run(*make(trained), "--json")
    assert result.status == 0, result.err
    if cmd in JSON_LINES_COMMANDS:  # one object per input, nothing else on stdout
        lines = result.out.splitlines()
        assert len(lines) == _predict_lines(cmd, trained)[1], result.out
        assert all(isinstance(json.loads(line), dict) for line in lines)
    else:
        result.last_object()
    if cmd in TRAIN_COMMANDS:
        assert Path(result.last_object()["bundle"]).is_dir()


def test_demo_json_is_one_object_last(monkeypatch, tmp_path) -> None:
    """The demo on a small part of its data: the contract, not the accuracy."""
    import rnnkit.demo as demo
    from rnnkit.tasks import TextClassifier

    full = demo.load_uci_sentiment("all")
    part = SimpleNamespace(texts=full.texts[:30] + full.texts[-30:],
                           labels=list(full.labels[:30]) + list(full.labels[-30:]))
    monkeypatch.setattr(demo, "load_uci_sentiment", lambda split: part)
    monkeypatch.setattr(demo, "TextClassifier", lambda **kw: TextClassifier(
        **kw, epochs=1, hidden_size=8, max_tokens=200))
    monkeypatch.chdir(tmp_path)
    result = run("demo", "--json")
    assert result.status == 0, result.err
    answer = result.last_object()
    assert set(answer) >= {"accuracy", "baseline_accuracy", "bundle", "seconds"}
    assert (tmp_path / answer["bundle"]).is_dir()


def test_serve_json_says_where_once_ready(trained: SimpleNamespace) -> None:
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", f"reviews={trained.text}",
                             "--port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "serve printed nothing in 120 s"
        assert proc.stdout is not None
        answer = json.loads(proc.stdout.readline())
        assert answer["models"] == {"reviews": str(trained.text)}
        assert answer["url"].startswith("http://127.0.0.1:") and not answer["url"].endswith(":0/")
        assert proc.poll() is None  # still serving
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


# ----------------------------------------------------------------------- the training options
def test_the_five_train_commands_share_the_training_options() -> None:
    commands = leaves(build_command())
    shared: dict[str, tuple[Any, ...]] = {}
    for name in TRAIN_COMMANDS:
        options = {o: p for p in commands[name].params if isinstance(p, TyperOption)
                   for o in p.opts}
        missing = set(TRAINING_OPTIONS) - set(options)
        assert not missing, f"rnnkit {name} lacks {sorted(missing)}"
        for opt in TRAINING_OPTIONS:
            p = options[opt]
            seen = (p.help, p.metavar, p.type_descriptor.annotation, p.is_flag)
            assert shared.setdefault(opt, seen) == seen, f"{opt} differs in rnnkit {name}"


def test_help_shows_each_task_default_once() -> None:
    commands = leaves(build_command())
    for name, hidden in [("text train", "64"), ("seq train", "128"), ("lm train", "256"),
                         ("series train", "8"), ("translate train", "256")]:
        option = next(p for p in commands[name].params if p.name == "hidden_size")
        assert option.show_default == hidden, name  # from the task's defaults table


@pytest.mark.parametrize("cmd", ["text train", "seq train", "lm generate", "serve", "export"])
def test_help_reads_like_click(cmd: str) -> None:
    result = run(*cmd.split(), "--help")
    assert result.status == 0
    usage = result.out.splitlines()[0]
    assert "{" not in usage and "}" not in usage, usage
    for bad in ("<bool>", "<int>", "<path>", "<list", "<str>", "╭", "(default", "x>=1"):
        assert bad not in result.out, (bad, result.out)


@pytest.mark.parametrize("group", ["text", "seq", "series", "lm", "translate"])
def test_a_bare_group_lists_its_commands(group: str) -> None:
    result = run(group)  # click's answer to a group without a command: its help, status 2
    assert result.status == 2 and "Traceback" not in result.err
    assert f"Usage: rnnkit {group} [OPTIONS] COMMAND" in result.err
    assert "Commands:" in result.err and "train" in result.err


def test_every_command_summary_fits_a_group_listing() -> None:
    """The first sentence of each command's help fits beside its name in an 80-column terminal
    (click would cut it with '...')."""
    def walk(command: Any, path: str) -> None:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                summary = sub.get_short_help_str(60)
                assert not summary.endswith("..."), (f"{path} {name}".strip(), summary)
                walk(sub, f"{path} {name}")

    walk(build_command(), "")


def test_old_option_name_still_works_with_a_warning(capsys) -> None:
    words = renew_option_names(app, ["lm", "train", "a.txt", "--layers", "2", "--out=--layers"])
    assert words == ["lm", "train", "a.txt", "--num-layers", "2", "--out=--layers"]
    assert capsys.readouterr().err == "warning: --layers is now --num-layers; please use " \
                                      "--num-layers\n"
    assert renew_option_names(app, ["serve", "--layers"]) == ["serve", "--layers"]  # not its own
    seq = run("seq", "evaluate", "bundle", "data.ts", "--format", "ts")
    assert seq.status == 2 and "No such option: --format" in seq.err


# -------------------------------------------------------------------------------- resuming
@pytest.mark.parametrize("task", ["translate", "series"])
def test_resume_continues_from_the_checkpoint(task: str, trained: SimpleNamespace) -> None:
    """One epoch with --checkpoint-dir, then --resume --epochs 2: the run goes on at epoch 2."""
    data = {"translate": [trained.pairs, "--embedding-dim", "4", "--min-freq", "1",
                          "--beam-size", "1"],
            "series": [trained.series_csv, "--ensemble", "1"]}[task]
    checkpoints = trained.root / f"{task}-ck"
    common = [task, "train", *data, "--hidden-size", "4", "--checkpoint-dir", checkpoints]
    first = run(*common, "--epochs", "1", "--out", trained.root / f"{task}-1")
    assert first.status == 0, first.err
    assert f"checkpoints: kept in {checkpoints}" in first.err
    again = run(*common, "--epochs", "2", "--resume", "--out", trained.root / f"{task}-2",
                "--json")
    assert again.status == 0, again.err
    assert "Resuming from" in again.err and str(checkpoints) in again.err
    if task == "translate":  # the forecaster trains silently: its CLI says it before training
        assert "at epoch 2" in again.err
    metrics = json.loads((trained.root / f"{task}-2" / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2


# ------------------------------------------------------------------------ version, warnings
def test_version_names_rnnkit_torch_and_python() -> None:
    from rnnkit import __version__

    for flag in ("--version", "-V"):
        result = rnnkit(flag)
        assert result.returncode == 0, result.stderr
        line = result.stdout.strip()
        assert line.startswith(f"rnnkit {__version__} (torch ") and "Python 3." in line


def test_rnnkit_warnings_are_one_line_in_the_cli(trained: SimpleNamespace) -> None:
    # the series has a missing date: read_series warns, the CLI prints one line
    err = trained.runs["series train"].err
    lines = [line for line in err.splitlines() if "missing" in line and "2024-02-10" in line]
    assert lines and all(line.startswith("warning: ") for line in lines), err
    assert "RnnkitWarning" not in err and "rnnkit:0" not in err
    captured = io.StringIO()
    with redirect_stderr(captured), warnings_as_lines():
        warn_user("fonts are missing")
    assert captured.getvalue() == "warning: fonts are missing\n"
