"""`--encoding`: the hint for a file that is not UTF-8 names an option that exists (issue 19)."""

from __future__ import annotations

from pathlib import Path

from cli_support import FAST_TEXT, assert_one_line_error, fingerprint, rnnkit, write_reviews


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
