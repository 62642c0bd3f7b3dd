"""`--encoding`: the hint for a file that is not UTF-8 names an option that exists (issue 19), on
every command that reads a user's text or table file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import (
    FAST_TEXT,
    assert_one_line_error,
    fingerprint,
    rnnkit,
    write_latin1_sequences,
    write_latin1_series,
    write_reviews,
)

#: Options that make seq and series training take a second.
TINY = ["--epochs", "1", "--hidden-size", "4", "--seed", "0"]


def test_the_encoding_hint_names_an_option_that_reads_the_file(tmp_path: Path) -> None:
    data = write_reviews(tmp_path / "avis.csv", 30, encoding="latin-1")
    data.write_bytes(data.read_bytes().replace(b"fun", "très drôle".encode("latin-1")))
    refused = rnnkit("text", "train", data, "--out", tmp_path / "m", *FAST_TEXT)
    assert_one_line_error(refused, "avis.csv", "--encoding")
    read = rnnkit("text", "train", data, "--out", tmp_path / "m", "--encoding", "latin-1",
                  *FAST_TEXT)
    assert read.returncode == 0, read.stderr
    assert "read 30 training texts" in read.stderr


def test_an_unknown_encoding_is_one_line_before_reading(tmp_path: Path) -> None:
    data = write_reviews(tmp_path / "data.csv", 30)
    before = fingerprint(tmp_path)
    run = rnnkit("text", "train", data, "--out", tmp_path / "m", "--encoding", "klingon",
                 *FAST_TEXT)
    assert_one_line_error(run, "--encoding", "klingon")
    assert fingerprint(tmp_path) == before


def test_report_input_in_another_encoding_is_one_line_naming_the_option(tmp_path: Path) -> None:
    (tmp_path / "bundle").mkdir()  # the examples are read before the bundle is loaded
    examples = tmp_path / "examples.txt"
    examples.write_bytes("un film très drôle\n".encode("latin-1"))
    before = fingerprint(tmp_path)
    run = rnnkit("report", tmp_path / "bundle", "--input", examples, "--out", tmp_path / "r.html")
    assert_one_line_error(run, "examples.txt", "--encoding")
    assert fingerprint(tmp_path) == before


# ------------------------------------------------------------- seq and series read tables too
def test_seq_reads_a_latin1_csv_with_encoding_only(tmp_path: Path) -> None:
    data = write_latin1_sequences(tmp_path / "capteurs.csv")
    out = tmp_path / "m"
    before = fingerprint(tmp_path)
    refused = rnnkit("seq", "train", data, "--out", out, *TINY)
    assert_one_line_error(refused, "capteurs.csv", "--encoding")
    assert fingerprint(tmp_path) == before
    read = rnnkit("seq", "train", data, "--out", out, "--encoding", "latin-1", *TINY)
    assert read.returncode == 0, read.stderr
    assert "read 24 training sequences" in read.stderr and "tiède" in read.stdout
    assert_one_line_error(rnnkit("seq", "evaluate", out, data), "capteurs.csv", "--encoding")
    evaluated = rnnkit("seq", "evaluate", out, data, "--encoding", "latin-1", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout.splitlines()[-1])["count"] == 24
    predicted = rnnkit("seq", "predict", out, data, "--label-column", "4", "--encoding",
                       "latin-1")
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.splitlines()) == 24


def test_series_reads_a_latin1_csv_with_encoding_only(tmp_path: Path) -> None:
    data = write_latin1_series(tmp_path / "météo.csv")
    out = tmp_path / "m"
    before = fingerprint(tmp_path)
    refused = rnnkit("series", "train", data, "--out", out, *TINY, "--ensemble", "1")
    assert_one_line_error(refused, "météo.csv", "--encoding")
    assert fingerprint(tmp_path) == before
    read = rnnkit("series", "train", data, "--out", out, "--encoding", "latin-1", *TINY,
                  "--ensemble", "1", "--test-size", "0")  # no test part: no baselines to fit
    assert read.returncode == 0, read.stderr
    assert "read 36 rows" in read.stderr and "target Température" in read.stderr
    assert_one_line_error(rnnkit("series", "forecast", out, "--csv", data), "--encoding")
    backtest = ["series", "backtest", out, "--csv", data, "--test-size", "0.3"]
    assert_one_line_error(rnnkit(*backtest), "météo.csv", "--encoding")
    done = rnnkit(*backtest, "--encoding", "latin-1", "--json")
    assert done.returncode == 0, done.stderr
    from rnnkit.tasks import Forecaster  # the Python path the CLI's reading mirrors

    again = Forecaster.load(out).read_like_training(data, encoding="latin-1")
    assert again.target_names == ["Température"] and len(again) == 36


@pytest.mark.parametrize("command", [
    ["seq", "train", "{data}", "--out", "{out}"], ["seq", "predict", "{out}", "{data}"],
    ["seq", "evaluate", "{out}", "{data}"], ["series", "train", "{data}", "--out", "{out}"],
    ["series", "forecast", "{out}", "--csv", "{data}"],
    ["series", "backtest", "{out}", "--csv", "{data}"],
    ["inspect", "{out}", "{data}", "--out", "{out}"],
])
def test_an_unknown_encoding_is_refused_first_by_every_reader(
    tmp_path: Path, command: list[str]
) -> None:
    data = write_latin1_series(tmp_path / "data.csv")
    words = [w.format(data=data, out=tmp_path / "m") for w in command]
    before = fingerprint(tmp_path)
    run = rnnkit(*words, "--encoding", "klingon")
    assert_one_line_error(run, "--encoding", "klingon")
    assert fingerprint(tmp_path) == before


#: Every command that reads a user's text or table file (not only a bundle).
READERS = {"text train", "text predict", "text evaluate", "seq train", "seq predict",
           "seq evaluate", "series train", "series forecast", "series backtest", "lm train",
           "lm score", "translate train", "translate run", "report", "inspect"}


def test_every_command_that_reads_files_has_the_same_encoding_option() -> None:
    from typer.core import TyperGroup, TyperOption

    from rnnkit.cli import build_command

    def leaves(command: Any, path: str) -> dict[str, Any]:
        if isinstance(command, TyperGroup):
            return {k: v for name, sub in command.commands.items()
                    for k, v in leaves(sub, f"{path} {name}".strip()).items()}
        return {path: command}

    found = {name: next((p for p in command.params if isinstance(p, TyperOption)
                         and "--encoding" in p.opts), None)
             for name, command in leaves(build_command(), "").items()}
    assert {name for name, option in found.items() if option is not None} == READERS
    assert len({(found[name].help, found[name].default) for name in READERS}) == 1
