"""`--test a b c` and `--valid a b` take every file (issue 19): no test file silently becomes
training data, and training, validation and test files may not overlap."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
from cli_support import (
    FAST_TEXT,
    assert_one_line_error,
    fingerprint,
    rnnkit,
    write_pairs,
    write_reviews,
    write_ts,
)

from rnnkit.cli import app
from rnnkit.cli.argv import FILE_LIST_OPTIONS, spread_file_lists


# ------------------------------------------------------------------------------- argv rewriting
def test_a_file_list_option_takes_every_following_file() -> None:
    words = ["text", "train", "a.csv", "--test", "t1", "t2", "t3", "--out", "m", "--json"]
    assert spread_file_lists(app, words) == [
        "text", "train", "a.csv", "--test", "t1", "--test", "t2", "--test", "t3", "--out", "m",
        "--json"
    ]


def test_the_equals_form_and_the_double_dash() -> None:
    assert spread_file_lists(app, ["text", "train", "a", "--valid=v1", "v2", "--out", "m"]) == [
        "text", "train", "a", "--valid=v1", "--valid", "v2", "--out", "m"
    ]
    words = ["text", "train", "--out", "m", "--test", "t1", "--", "a", "b"]
    assert spread_file_lists(app, words) == words


@pytest.mark.parametrize("words", [
    ["text", "predict", "m", "--input", "x.txt", "great film"],  # --input takes one file
    ["text", "train", "a", "--test", "t1", "t2", "--help"],
    ["series", "train", "x.csv", "--test-size", "0.2", "--out", "m"],
    ["nosuch", "--test", "a", "b"],
])
def test_other_options_and_commands_are_left_alone(words: list[str]) -> None:
    assert spread_file_lists(app, words) == words


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    commands = getattr(group, "commands", None)
    if commands is None:
        return [(path, group)]
    return [leaf for name, sub in commands.items() for leaf in _commands(sub, (*path, name))]


def test_every_test_and_valid_file_option_is_a_list() -> None:
    """A single-valued --test would not be spread, and its extra files would become TRAIN again."""
    found = []
    for path, command in _commands(typer.main.get_command(app)):
        for param in getattr(command, "params", []):
            names = [o for o in getattr(param, "opts", []) if o in FILE_LIST_OPTIONS]
            if names and param.param_type_name == "option":
                assert param.multiple, (path, names)
                found.append((path, names[0]))
    assert (("text", "train"), "--test") in found and (("text", "train"), "--valid") in found
    assert (("seq", "train"), "--test-labels") in found
    assert (("translate", "train"), "--valid-target") in found


# --------------------------------------------------------------------------------- end to end
def test_text_train_reads_every_test_and_valid_shard(tmp_path: Path) -> None:
    train = [
        write_reviews(tmp_path / f"imdb_train_0{i}.csv.gz", 20 + 2 * i, 100 * i) for i in range(2)
    ]
    test = [
        write_reviews(tmp_path / f"imdb_test_0{i}.csv.gz", 5 + i, 1000 + 100 * i) for i in range(3)
    ]
    valid = [write_reviews(tmp_path / f"valid_0{i}.csv", 4, 2000 + 100 * i) for i in range(2)]
    run = rnnkit("text", "train", *train, "--test", *test, "--valid", *valid,
                 "--out", tmp_path / "m", "--json", *FAST_TEXT)
    assert run.returncode == 0, run.stderr
    assert "read 42 training texts" in run.stderr  # 20 + 22, no test or validation file among them
    assert json.loads(run.stdout.strip().splitlines()[-1])["test"]["count"] == 5 + 6 + 7


def test_no_train_files_left_is_one_clear_line(tmp_path: Path) -> None:
    test = [write_reviews(tmp_path / f"t{i}.csv", 6) for i in range(2)]
    run = rnnkit("text", "train", "--test", *test, "--out", tmp_path / "m")
    assert_one_line_error(run, "TRAIN", "before")
    assert not (tmp_path / "m").exists()


def _overlapping(root: Path, case: str) -> tuple[list[str | Path], list[str | Path]]:
    data = root / "data"
    write_reviews(data / "train.csv", 30)
    write_reviews(data / "test.csv", 12, 500)
    if case == "directory holds the test file":
        return [data], ["--test", data / "test.csv"]
    if case == "same file":
        return [data / "train.csv"], ["--test", data / "test.csv", data / "train.csv"]
    os.symlink(data / "train.csv", root / "link.csv")  # the same file through a symlink
    return [data / "train.csv"], ["--test", data / "test.csv", "--valid", root / "link.csv"]


@pytest.mark.parametrize("case", ["directory holds the test file", "same file",
                                  "same file through a symlink"])
def test_training_and_test_files_must_not_overlap(tmp_path: Path, case: str) -> None:
    train, options = _overlapping(tmp_path, case)
    before = fingerprint(tmp_path)
    run = rnnkit("text", "train", *train, *options, "--out", tmp_path / "m", *FAST_TEXT)
    assert_one_line_error(run, "overlap")
    assert fingerprint(tmp_path) == before  # nothing read into a bundle, nothing written


def test_seq_train_reads_every_test_file(tmp_path: Path) -> None:
    train = write_ts(tmp_path / "train.ts", 24)
    tests = [write_ts(tmp_path / f"test_{i}.ts", 6 + i, seed=i + 1) for i in range(2)]
    run = rnnkit("seq", "train", train, "--test", *tests, "--out", tmp_path / "m", "--json",
                 "--epochs", "1", "--hidden-size", "8")
    assert run.returncode == 0, run.stderr
    assert "read 24 training sequences" in run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["test"]["count"] == 13


def test_seq_train_refuses_its_training_file_as_test(tmp_path: Path) -> None:
    train = write_ts(tmp_path / "train.ts", 24)
    run = rnnkit("seq", "train", train, "--test", write_ts(tmp_path / "t.ts", 6), train,
                 "--out", tmp_path / "m")
    assert_one_line_error(run, "overlap", "train.ts")


def test_translate_train_reads_every_test_file(tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "pairs.tsv", 40)
    tests = [write_pairs(tmp_path / f"test_{i}.tsv", 4 + i, 50 + 10 * i) for i in range(2)]
    run = rnnkit("translate", "train", pairs, "--test", *tests, "--out", tmp_path / "m", "--json",
                 "--epochs", "1", "--hidden-size", "8", "--embedding-dim", "8")
    assert run.returncode == 0, run.stderr
    assert "read 40 training pairs" in run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["test"]["count"] == 9


def test_translate_train_refuses_a_training_file_as_test_source(tmp_path: Path) -> None:
    (tmp_path / "src.txt").write_text("one two\n" * 30, encoding="utf-8")
    (tmp_path / "tgt.txt").write_text("1 2\n" * 30, encoding="utf-8")
    run = rnnkit("translate", "train", "--source-file", tmp_path / "src.txt", "--target-file",
                 tmp_path / "tgt.txt", "--test-source", tmp_path / "src.txt", "--test-target",
                 tmp_path / "tgt.txt", "--out", tmp_path / "m")
    assert_one_line_error(run, "overlap", "src.txt")
