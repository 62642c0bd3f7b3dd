"""`rnnkit data list` and `rnnkit data get` as a user runs them: stdout contract, one-line errors,
files never overwritten without --force; and `rnnkit demo` saying what bounds its training."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import assert_one_line_error, fingerprint, rnnkit

from rnnkit.data.catalog import list_datasets


def test_data_list_names_every_dataset_with_rows_and_license() -> None:
    run = rnnkit("data", "list")
    assert run.returncode == 0, run.stderr
    for entry in list_datasets():
        (line,) = [x for x in run.stdout.splitlines() if x.startswith(entry.name + " ")]
        assert (str(entry.rows) in line) != entry.generated
    assert "license: CC BY 4.0" in run.stdout and "Kotzias" in run.stdout


def test_data_get_writes_plain_files_then_refuses_to_overwrite_them(tmp_path: Path) -> None:
    out = tmp_path / "vowels"
    run = rnnkit("data", "get", "japanese_vowels", "--out", out)
    assert run.returncode == 0, run.stderr
    names = ["JapaneseVowels_TRAIN.ts", "JapaneseVowels_TEST.ts", "SOURCE.txt"]
    assert run.stdout.splitlines() == [str(out / n) for n in names]
    assert len(run.stderr.strip().splitlines()) == 1 and "CC BY 4.0" in run.stderr
    assert "@data" in (out / names[0]).read_text()  # plain text, not gzip
    (out / names[1]).write_text("mine\n")
    before = fingerprint(out)
    again = rnnkit("data", "get", "japanese_vowels", "--out", out)
    assert_one_line_error(again, "JapaneseVowels_TRAIN.ts already exists", "--force")
    assert fingerprint(out) == before  # --force replaces: tests/data/test_data_catalog.py


def test_data_get_errors_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    # The other refusals are write_dataset's (tests/data/test_data_catalog.py), printed alike.
    run = rnnkit("data", "get", "shakespeare", "--out", tmp_path / "out")
    assert_one_line_error(run, "no dataset named 'shakespeare'", "tiny_shakespeare")
    assert not (tmp_path / "out").exists()


def test_demo_says_what_bounds_its_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rnnkit import demo
    from rnnkit.data import load_uci_sentiment
    from rnnkit.data.sources import TextDataset

    assert demo.TIME_BUDGET == 90  # the README's `make demo` paragraph states this number
    yelp = load_uci_sentiment("yelp")  # a small part of the sentences: the demo's steps, fast
    few = TextDataset(yelp.texts[:60], (yelp.labels or [])[:60], "yelp")
    monkeypatch.setattr(demo, "load_uci_sentiment", lambda which: few)
    demo.run_demo(tmp_path / "bundle", verbose=0, time_budget=0.01)
    out = capsys.readouterr().out
    assert "up to 15 epochs with early stopping, at most 0.01 s (--time-budget)" in out
    assert "trained 1 epoch(s) in" in out and "stopped: time budget reached" in out
