"""Sources: delimited files in their many dialects, JSON Lines, directory trees, and their errors.
"""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data.sources import TextDataset, read_directory, read_text_dataset
from rnnkit.data.tables import detect_header, sniff_delimiter
from rnnkit.errors import DataError

ROWS = [("a fine film", "pos"), ("dull, and far too long", "neg"), ("loved it", "pos"),
        ("meh", "neg"), ("superb acting", "pos")]  # fmt: skip


def write(path: Path, text: str, newline: str = "\n", encoding: str = "utf-8") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def csv_text(header: bool = True, sep: str = ",") -> str:
    lines = [f"text{sep}label"] if header else []
    for text, label in ROWS:
        cell = f'"{text}"' if sep in text else text
        lines.append(f"{cell}{sep}{label}")
    return "\n".join(lines) + "\n"


def check(ds: TextDataset) -> None:
    assert ds.texts == [t for t, _ in ROWS]
    assert ds.labels == [y for _, y in ROWS]
    assert ds.classes == ["neg", "pos"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("header", [True, False])
def test_csv_with_any_line_ending_with_or_without_header(
    tmp_path: Path, newline: str, header: bool
) -> None:
    check(read_text_dataset(write(tmp_path / "d.csv", csv_text(header), newline)))


@pytest.mark.parametrize(("sep", "name"), [("\t", "d.tsv"), (";", "d.csv"), ("|", "d.txt")])
def test_delimiter_is_sniffed(tmp_path: Path, sep: str, name: str) -> None:
    path = write(tmp_path / name, csv_text(True, sep))
    assert sniff_delimiter(path.read_text(), name) == sep
    check(read_text_dataset(path))


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text().encode())
    ds = read_text_dataset(path, "text", "label")  # the BOM must not glue itself to "text"
    check(ds)


@pytest.mark.parametrize("name", ["d.csv.gz", "d.csv"])
def test_gzip_is_recognised_by_magic_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(csv_text().encode()))
    check(read_text_dataset(path))


def test_bzip2_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv.bz2"
    path.write_bytes(bz2.compress(csv_text(True, "\t").encode()))
    check(read_text_dataset(path))


def test_quoted_field_with_embedded_newlines_and_quotes(tmp_path: Path) -> None:
    content = 'id,review,sentiment\r\n1,"line one\r\nline ""two""\nthree",pos\r\n2,short,neg\r\n'
    ds = read_text_dataset(write(tmp_path / "q.csv", content, "\n"))
    assert ds.texts == ['line one\r\nline "two"\nthree', "short"]
    assert ds.labels == ["pos", "neg"]


def test_tsv_with_stray_quotes_reads_quotes_as_text(tmp_path: Path) -> None:
    content = 'sentence\tscore\n" Great opener.\t1\nBad "twist" here.\t0\n"Fun!\t1\nok\t0\n'
    ds = read_text_dataset(write(tmp_path / "s.tsv", content))
    assert ds.texts == ['" Great opener.', 'Bad "twist" here.', '"Fun!', "ok"]
    assert ds.labels == [1, 0, 1, 0]


def test_columns_by_index_and_by_name_and_negative_index(tmp_path: Path) -> None:
    content = "id,label,body\n7,1,first text here\n8,0,second text here\n9,1,third one\n"
    path = write(tmp_path / "c.csv", content)
    by_name = read_text_dataset(path, text_column="body", label_column="label")
    by_index = read_text_dataset(path, text_column=2, label_column=1)
    by_negative = read_text_dataset(path, text_column=-1, label_column=-2)
    for ds in (by_name, by_index, by_negative):
        assert ds.texts == ["first text here", "second text here", "third one"]
        assert ds.labels == [1, 0, 1]
    ids_as_labels = read_text_dataset(path, text_column=2, label_column="ID")  # case-insensitive
    assert ids_as_labels.labels == [7, 8, 9]


def test_default_columns_without_header_are_longest_text_and_last_other(tmp_path: Path) -> None:
    content = "3,a long text about films,x\n4,another long review text,y\n5,and a third text,x\n"
    ds = read_text_dataset(write(tmp_path / "n.csv", content))
    assert ds.texts[0] == "a long text about films"
    assert ds.labels == ["x", "y", "x"]


def test_single_column_file_has_no_labels_and_has_labels_false_drops_them(tmp_path: Path) -> None:
    ds = read_text_dataset(write(tmp_path / "one.txt", "just text\nmore text\n"))
    assert ds.labels is None and ds.texts == ["just text", "more text"] and ds.classes == []
    ds2 = read_text_dataset(write(tmp_path / "d.csv", csv_text()), has_labels=False)
    assert ds2.labels is None and len(ds2) == 5


def test_integer_labels_sort_numerically_and_label_ids_follow_classes(tmp_path: Path) -> None:
    content = "text,stars\nok,10\nbad,2\ngood,9\nfine,10\n"
    ds = read_text_dataset(write(tmp_path / "s.csv", content))
    assert ds.classes == [2, 9, 10]
    assert ds.label_ids().tolist() == [2, 0, 1, 2]
    with pytest.raises(DataError, match="not one of the classes"):
        ds.label_ids(classes=[2, 9])


def test_header_detection_rules() -> None:
    assert detect_header([["text", "label"], ["x", "1"]])  # known names
    assert detect_header([["words", "klass"], ["a", "1"], ["b", "0"], ["c", "1"]])  # not numeric
    labels = [["w", "pos"], ["v", "neg"], ["u", "pos"], ["t", "neg"], ["s", "pos"]]
    assert detect_header([["comment_body", "verdict"], *labels])  # unseen among few labels
    assert not detect_header(labels)
    assert not detect_header([["a great text", "1"], ["b", "0"], ["c", "1"]])


def test_header_can_be_forced(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "text,label\nx,1\ny,0\n")
    ds = read_text_dataset(path, header=False, text_column=0, label_column=1)
    assert ds.texts == ["text", "x", "y"] and ds.labels == ["label", "1", "0"]


def test_jsonl_by_extension_and_by_content(tmp_path: Path) -> None:
    lines = '{"text": "good", "label": 1, "id": 3}\n\n{"text": "bad", "label": 0, "id": 4}\n'
    for name in ("d.jsonl", "d.data"):
        ds = read_text_dataset(write(tmp_path / name, lines, "\r\n"))
        assert ds.texts == ["good", "bad"] and ds.labels == [1, 0]
    ds = read_text_dataset(tmp_path / "d.jsonl", text_column=0, label_column="id")
    assert ds.labels == [3, 4]
    arr = write(tmp_path / "a.json", '[{"review": "x", "sentiment": "pos"}]')
    assert read_text_dataset(arr).labels == ["pos"]


def test_shards_are_concatenated_in_order(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "text,label\none,1\ntwo,0\n")
    b = tmp_path / "b.csv.gz"
    b.write_bytes(gzip.compress(b"text,label\nthree,1\n"))
    ds = read_text_dataset([a, b])
    assert ds.texts == ["one", "two", "three"] and ds.labels == [1, 0, 1]
    assert ds.source.endswith("+ 1 more")


def make_tree(root: Path) -> None:
    for split, n in (("train", 3), ("test", 2)):
        for label in ("pos", "neg", "unsup"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in (10, 2, 1)[:n]:
                (folder / f"{i}_7.txt").write_text(f"{split} {label} {i}", encoding="utf-8")
    (root / "train" / "notes").mkdir()  # no .txt files: not a class
    (root / "train" / "notes" / "readme.md").write_text("x")


def test_directory_tree_with_split_classes_and_natural_file_order(tmp_path: Path) -> None:
    make_tree(tmp_path)
    ds = read_text_dataset(tmp_path, split="train", classes=["pos", "neg"])
    assert ds.classes == ["neg", "pos"]
    assert ds.texts[:3] == ["train neg 1", "train neg 2", "train neg 10"]
    assert ds.labels == ["neg"] * 3 + ["pos"] * 3
    every = read_directory(tmp_path / "test")
    assert every.classes == ["neg", "pos", "unsup"] and len(every) == 6


def test_directory_errors_say_what_to_pass(tmp_path: Path) -> None:
    make_tree(tmp_path)
    with pytest.raises(DataError, match="pass split='test'"):
        read_directory(tmp_path)
    with pytest.raises(DataError, match="available: test, train"):
        read_directory(tmp_path, split="valid")
    with pytest.raises(DataError, match=r"\['neutral'\] are not folders"):
        read_directory(tmp_path, split="train", classes=["neutral"])
    with pytest.raises(DataError, match="no such directory"):
        read_directory(tmp_path / "nope")


def test_error_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_text_dataset(tmp_path / "missing.csv")


def test_error_unknown_column_lists_the_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", csv_text())
    with pytest.raises(DataError, match="text_column='review' .* available columns: text, label"):
        read_text_dataset(path, text_column="review")


def test_error_index_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", csv_text())
    with pytest.raises(DataError, match=r"label_column=5 is out of range.*2 column\(s\)"):
        read_text_dataset(path, label_column=5)


def test_error_column_name_without_header(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", csv_text(header=False))
    with pytest.raises(DataError, match="no header row"):
        read_text_dataset(path, text_column="text", header=False)


@pytest.mark.parametrize("content", [b"", b"\n\r\n  \n", b"\xef\xbb\xbf"])
def test_error_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match="is empty"):
        read_text_dataset(path)
    with pytest.raises(DataError, match="is empty"):
        read_text_dataset(path.rename(tmp_path / "e.jsonl"))


def test_error_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data rows"):
        read_text_dataset(write(tmp_path / "h.csv", "text,label\n"))


def test_error_undecodable_bytes_name_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"text,label\nok,1\ncaf\xe9,0\n")
    with pytest.raises(DataError, match=r"bad.csv: line 3 \(byte offset 19\) is not valid utf-8"):
        read_text_dataset(path)
    assert read_text_dataset(path, encoding="latin-1").texts == ["ok", "café"]


def test_error_corrupt_gzip_and_bad_jsonl_line(tmp_path: Path) -> None:
    gz = tmp_path / "x.csv.gz"
    gz.write_bytes(gzip.compress(b"text,label\na,1\n")[:15])
    with pytest.raises(DataError, match="cannot be decompressed"):
        read_text_dataset(gz)
    bad = write(tmp_path / "b.jsonl", '{"text": "a", "label": 1}\n{"text": \n')
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        read_text_dataset(bad)


def test_error_short_row_and_empty_label(tmp_path: Path) -> None:
    short = write(tmp_path / "s.csv", "text,label,extra\na,1,x\nb\n")
    with pytest.raises(DataError, match="line 3 has 1 field"):
        read_text_dataset(short, "text", "extra")
    empty = write(tmp_path / "e.csv", "text,label\na,1\nb,\n")
    with pytest.raises(DataError, match="line 3 has an empty label"):
        read_text_dataset(empty)


def test_label_ids_are_int64_arrays(tmp_path: Path) -> None:
    ds = read_text_dataset(write(tmp_path / "d.csv", csv_text()))
    ids = ds.label_ids()
    assert ids.dtype == np.int64 and ids.tolist() == [1, 0, 1, 0, 1]


def test_field_longer_than_the_csv_default_limit(tmp_path: Path) -> None:
    long_text = "word, " * 30_000  # 180 kB, above csv's default 128 KiB field limit
    ds = read_text_dataset(write(tmp_path / "l.csv", f'text,label\n"{long_text}",1\nshort,0\n'))
    assert ds.texts == [long_text, "short"] and ds.labels == [1, 0]
