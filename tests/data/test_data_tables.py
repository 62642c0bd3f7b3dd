"""One reader for tables: streamed and in-memory reading give the same rows, labels and classes.

The property test writes small delimited files of every dialect the readers accept (comma,
semicolon, pipe or tab; header or not; BOM or not; LF or CRLF; gzip or not; quoted fields with
delimiters, quotes and line breaks; labels that are ints, strings such as ``"1-2"``, or a mix) and
checks that :func:`read_table` and :class:`TextShards` agree to the Python type of every label,
or fail with the same one-line DataError.
"""

from __future__ import annotations

import csv
import gzip
import io
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.sources import read_table
from rnnkit.data.tables import (
    TableOptions,
    coerce_labels,
    column_index,
    detect_layout,
    label_classes,
    read_rows,
    sorted_classes,
)
from rnnkit.data.text_shards import StreamingLoader, TextScan, TextShards, scan_all, scan_texts
from rnnkit.data.vectorizer import TextVectorizer
from rnnkit.errors import ConfigError, DataError

SUFFIX = {",": ".csv", ";": ".csv", "|": ".psv", "\t": ".tsv"}
INT_LABELS = ["0", "1", "-1", "12", " 3 ", "+4"]
TEXT_LABELS = ["pos", "neg", "1-2", "é", "a b", "2.5"]
TEXT_CHARS = st.sampled_from(list('abc xyz,;|\t"\'\n\r-.1é中😀'))


@st.composite
def table_files(draw: Any) -> dict[str, Any]:
    """A delimited file's parts: rows of (text, label), dialect, header, BOM, line ending, gzip."""
    kind = draw(st.sampled_from(["ints", "strings", "mixed"]))
    pool = {"ints": INT_LABELS, "strings": TEXT_LABELS, "mixed": INT_LABELS + TEXT_LABELS}[kind]
    rows = draw(st.lists(
        st.tuples(st.text(TEXT_CHARS, max_size=12), st.sampled_from(pool)), min_size=1, max_size=12
    ))
    return {
        "rows": rows,
        "delimiter": draw(st.sampled_from(list(SUFFIX))),
        "header": draw(st.sampled_from([None, ("text", "label"), ("review", "stars")])),
        "label_first": draw(st.booleans()),
        "bom": draw(st.booleans()),
        "newline": draw(st.sampled_from(["\n", "\r\n"])),
        "gzip": draw(st.booleans()),
        "options": draw(st.sampled_from(["auto", "explicit"])),
    }


def write_table(root: Path, spec: dict[str, Any]) -> Path:
    # csv.writer quotes only the characters of its own line terminator, so with "\n" lines an
    # unquoted "\r" in a text would be a line break to any reader that accepts every line ending
    # (a text ending in "\r" would make a CRLF line): write each row with "\r\n", which quotes
    # both, then end it with the line ending under test.
    lines = []
    order = (
        (lambda text, label: (label, text))
        if spec["label_first"]
        else (lambda text, label: (text, label))
    )
    rows = ([order(*spec["header"])] if spec["header"] else []) + [
        order(text, label) for text, label in spec["rows"]]
    for row in rows:
        out = io.StringIO()
        csv.writer(out, delimiter=spec["delimiter"], lineterminator="\r\n").writerow(row)
        lines.append(out.getvalue()[:-2] + spec["newline"])
    data = (("\ufeff" if spec["bom"] else "") + "".join(lines)).encode()
    name = "data" + SUFFIX[spec["delimiter"]] + (".gz" if spec["gzip"] else "")
    path = root / name
    path.write_bytes(gzip.compress(data) if spec["gzip"] else data)
    return path


def outcome(read: Any) -> tuple[str, Any]:
    """``("ok", value)`` or ``("error", message)``: a bare exception other than DataError fails."""
    try:
        return "ok", read()
    except DataError as err:
        assert "\n" not in str(err)
        return "error", str(err)


def in_memory(path: Path, options: dict[str, Any]) -> tuple[list[str], list[Any], list[Any]]:
    ds = read_table(path, **options)
    assert ds.labels is not None
    return ds.texts, ds.labels, ds.classes


def streamed(path: Path, options: dict[str, Any]) -> tuple[list[str], list[Any], list[Any]]:
    shards = TextShards([path], **options)
    scan = scan_texts(shards, None)
    classes, index = scan.classes(), scan.label_index()
    records = list(shards.records())
    return (
        [text for text, _, _ in records],
        [classes[index[str(raw)]] for _, raw, _ in records],
        classes,
    )


def typed(values: list[Any]) -> list[tuple[type, Any]]:
    return [(type(v), v) for v in values]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_files())
def test_streamed_and_in_memory_readers_agree(spec: dict[str, Any]) -> None:
    options: dict[str, Any] = {}
    if spec["options"] == "explicit":
        options = {
            "delimiter": spec["delimiter"],
            "header": spec["header"] is not None,
            "text_column": 1 if spec["label_first"] else 0,
            "label_column": 0 if spec["label_first"] else 1,
        }
    with tempfile.TemporaryDirectory() as root:
        path = write_table(Path(root), spec)
        memory = outcome(lambda: in_memory(path, options))
        stream = outcome(lambda: streamed(path, options))
    assert memory[0] == stream[0], (memory, stream)
    if memory[0] == "error":
        assert memory[1] == stream[1]
        return
    (texts, labels, classes), (s_texts, s_labels, s_classes) = memory[1], stream[1]
    assert s_texts == texts
    assert typed(s_labels) == typed(labels)
    assert typed(s_classes) == typed(classes)
    if spec["options"] == "explicit" and spec["delimiter"] != "\t":
        # explicit dialect and columns: the rows come back as written (a TSV may read quotes as
        # text)
        assert texts == [text for text, _ in spec["rows"]]
        assert labels == coerce_labels([label for _, label in spec["rows"]])


# ------------------------------------------------------------------------------------ labels
def test_dash_labels_stay_strings_streamed_and_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "ranges.csv"
    path.write_text("text,label\na,1-2\nb,3\nc,1-2\n")
    scan = scan_texts(TextShards([path]), None)
    assert read_table(path).labels == ["1-2", "3", "1-2"]
    assert read_table(path).classes == scan.classes() == ["1-2", "3"]
    assert scan.label_index() == {"1-2": 0, "3": 1}


def test_one_label_rule() -> None:
    assert coerce_labels(["1", " 2", "+3", "-4"]) == [1, 2, 3, -4]
    assert coerce_labels(["1", "1-2"]) == ["1", "1-2"]
    assert coerce_labels(["1", "pos"]) == ["1", "pos"]
    assert sorted_classes([10, 9, 10]) == [9, 10]
    assert label_classes(["01", "1", "2"]) == ([1, 2], {"01": 0, "1": 0, "2": 1})
    assert label_classes(["b", "a", "1-2"]) == (["1-2", "a", "b"], {"b": 2, "a": 1, "1-2": 0})


def test_columns_by_name_or_index_and_errors_list_the_columns() -> None:
    assert column_index("f.csv", ["text", "Label"], 2, "LABEL", "label_column") == 1
    assert column_index("f.csv", None, 3, -1, "label_column") == 2
    with pytest.raises(DataError, match="available columns: text, Label"):
        column_index("f.csv", ["text", "Label"], 2, "stars", "label_column")
    with pytest.raises(DataError, match=r"out of range: f.csv has 2 column\(s\)"):
        column_index("f.csv", ["text", "Label"], 2, 5, "label_column")


def test_layout_and_rows_from_a_stream_or_a_whole_text() -> None:
    text = 'review;stars\r\n"Great; really";1\r\nDull;0\r\n'
    layout = detect_layout(io.StringIO(text, newline=""), "r.csv", TableOptions())
    assert (layout.delimiter, layout.header, layout.text_index, layout.label_index) == (
        ";",
        True,
        0,
        1,
    )
    assert list(read_rows(io.StringIO(text, newline=""), layout, "r.csv")) == [
        ("Great; really", "1", 2), ("Dull", "0", 3)
    ]
    with pytest.raises(DataError, match="is empty"):
        detect_layout(io.StringIO(" \n"), "e.csv", TableOptions())


# ------------------------------------------------------------------------------------ workers
def test_scan_all_merges_what_gather_collects(tmp_path: Path) -> None:
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"p{i}.csv")
        paths[-1].write_text("text,label\n" + "".join(f"film {i} {j},{j % 2}\n" for j in range(5)))
    shards = TextShards(paths)
    tokenize = TextVectorizer().tokenize
    parts = [scan_texts(shards, tokenize, rank, 2) for rank in range(2)]
    gathered = scan_all(shards, tokenize, rank=0, world_size=2, gather=lambda mine: parts)
    alone = scan_all(shards, tokenize)
    assert isinstance(gathered, TextScan)
    assert gathered.tokens == alone.tokens and gathered.per_file == alone.per_file
    assert gathered.classes() == alone.classes() == [0, 1]


def test_streaming_loader_takes_its_rank_as_arguments(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("text,label\ngood,1\nbad,0\n")
    shards = TextShards([path])
    scan = scan_texts(shards, TextVectorizer().tokenize)
    vec = TextVectorizer(vocabulary=scan.vocabulary())
    assert (
        StreamingLoader(shards, vec, scan.label_index()).rank,
        StreamingLoader(shards, vec, None).world_size,
    ) == (0, 1)
    with pytest.raises(ConfigError, match="rank=2"):
        StreamingLoader(shards, vec, None, rank=2, world_size=2)
