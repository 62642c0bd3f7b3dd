"""Bad input files: each is one clear DataError, the same with and without streaming (issue 19).

Stray CSV quotes, truncated compressed files, invalid UTF-8 past the streaming sample, devices and
FIFOs, all-empty texts, hold-outs that cannot be made, and labels such as ``"1-2"``. Every case is
checked in-process and through the CLI (exit status 2, one ``error:`` line, files left as they
were).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from rnnkit.data import TextVectorizer
from rnnkit.data.readers import check_file, read_text
from rnnkit.data.sources import read_text_dataset
from rnnkit.data.text_shards import TextShards, scan_texts
from rnnkit.errors import DataError, TrainingError
from rnnkit.tasks import TextClassifier
from rnnkit.train import Trainer
from warm_cli import run_rnnkit

FAST = ["--epochs", "1", "--hidden-size", "8", "--max-tokens", "100", "--seed", "0"]
WORDS = "good bad film plot actor boring great awful fine nice".split()
#: More than the 256 KiB a stream samples to decide the layout, so the bad byte comes later.
BIG_ROWS = 12_000


# ------------------------------------------------------------------------------------ helpers
def reviews(n: int, quoted: bool = True) -> list[str]:
    """``n`` CSV rows ``text,label``; with ``quoted`` every third text is quoted with a comma."""
    rows = []
    for i in range(n):
        text = f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} film {i}"
        rows.append(f'"{text}, really",{i % 2}' if quoted and i % 3 == 0 else f"{text},{i % 2}")
    return rows


def write_csv(path: Path, rows: list[str], header: str = "text,label") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def stream_scan(path: Path | str) -> object:
    """One streaming pass over ``path`` (what ``--stream`` does first)."""
    return scan_texts(TextShards([path]), TextVectorizer().tokenize)


def error_of(read: Callable[[], object]) -> str:
    with pytest.raises(DataError) as info:
        read()
    message = str(info.value)
    assert "\n" not in message
    return message


def sha256_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def cli(*args: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "MPLBACKEND": "Agg"}
    return run_rnnkit(args, env=env, cwd=cwd, timeout=timeout)


def train_fails(tmp_path: Path, data: str | Path, *extra: str, timeout: float = 120) -> str:
    """``rnnkit text train DATA`` exits 2 with one error line and changes no file; the line."""
    before = sha256_tree(tmp_path)
    run = cli("text", "train", data, "--out", "model", *FAST, *extra, cwd=tmp_path, timeout=timeout)
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    lines = [ln for ln in run.stderr.strip().splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.stderr.strip().splitlines()[-1] == lines[0]
    assert not (tmp_path / "model").exists()
    after = sha256_tree(tmp_path)
    assert {name: after.get(name) for name in before} == before
    return lines[0]


# ------------------------------------------------------------------ 1. a stray quote in a CSV
def stray_quote_csv(path: Path) -> Path:
    """Line 17 opens a quote that is never closed; the rows after it hold no quote."""
    rows = reviews(15) + ['"a stray quote opens this review,1'] + reviews(30, quoted=False)
    return write_csv(path, rows)


def test_unclosed_quote_names_its_line_instead_of_rereading(tmp_path: Path) -> None:
    path = stray_quote_csv(tmp_path / "reviews.csv")
    for read in (lambda: read_text_dataset(path), lambda: stream_scan(path)):
        message = error_of(read)
        assert message.startswith(f"{path} line 17: a quote opened here is never closed;")


def test_quote_that_swallows_rows_until_a_later_quote_names_where_it_opened(tmp_path: Path) -> None:
    rows = reviews(15) + ['"a stray quote opens this review,1'] + reviews(30)  # quotes later on
    path = write_csv(tmp_path / "reviews.csv", rows)
    for read in (lambda: read_text_dataset(path), lambda: stream_scan(path)):
        assert error_of(read).startswith(f"{path} line 17: a quote opened here is not closed")


def test_text_after_a_closing_quote_is_refused_on_its_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", reviews(4) + ['"closed" and more text,1'] + reviews(4))
    assert error_of(lambda: read_text_dataset(path)).startswith(f"{path} line 6: text follows")


def test_rfc4180_quoting_still_parses_in_memory_and_streamed(tmp_path: Path) -> None:
    rows = reviews(20) + ['"two\nlines, ""quoted"" and, commas",1', '"",0', "plain,1"]
    path = write_csv(tmp_path / "q.csv", rows)
    ds = read_text_dataset(path)
    assert ds.texts[20:] == ['two\nlines, "quoted" and, commas', "", "plain"]
    assert ds.texts[0] == f"{WORDS[0]} {WORDS[0]} film 0, really"
    assert ds.classes == [0, 1]
    streamed = [t for t, _, _ in TextShards([path]).records()]
    assert streamed == ds.texts


def test_tsv_with_stray_quotes_still_reads_quotes_as_text(tmp_path: Path) -> None:
    path = tmp_path / "s.tsv"
    path.write_text('text\tlabel\n"Fun!\t1\nsays "hi\t0\nok\t1\nfine\t0\n', encoding="utf-8")
    ds = read_text_dataset(path)
    assert ds.texts == ['"Fun!', 'says "hi', "ok", "fine"]
    assert [t for t, _, _ in TextShards([path]).records()] == ds.texts


def test_cli_stray_quote_is_one_line_exit_2(tmp_path: Path) -> None:
    stray_quote_csv(tmp_path / "reviews.csv")
    line = train_fails(tmp_path, "reviews.csv")
    assert "reviews.csv line 17: a quote opened here is never closed" in line


# ------------------------------------------- 2. streaming: truncated archives, bad UTF-8
def big_csv_bytes() -> bytes:
    rows = "".join(f"row number {i} is a good film,{i % 2}\n" for i in range(BIG_ROWS))
    return ("text,label\n" + rows).encode()


COMPRESSORS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_truncated_archive_streamed_gives_the_in_memory_message(
    tmp_path: Path, suffix: str
) -> None:
    packed = COMPRESSORS[suffix](big_csv_bytes())
    path = tmp_path / f"data.csv.{suffix}"
    path.write_bytes(packed[: len(packed) // 2])
    streamed = error_of(lambda: stream_scan(path))
    in_memory = error_of(lambda: read_text_dataset(path))
    assert "cannot be decompressed" in streamed and streamed.startswith(str(path))
    assert streamed.split(" (")[0] == in_memory.split(" (")[0]


def bad_utf8_files(root: Path) -> list[Path]:
    """CSV, JSONL and plain-text files whose only invalid byte lies past the first 256 KiB."""
    csv_path = root / "bad.csv"
    csv_path.write_bytes(big_csv_bytes() + b"caf\xe9 film,1\n")
    records = "".join(
        json.dumps({"text": f"good film {i}", "label": i % 2}) + "\n" for i in range(BIG_ROWS)
    )
    jsonl_path = root / "bad.jsonl"
    jsonl_path.write_bytes(records.encode() + b'{"text": "caf\xe9", "label": 1}\n')
    txt_path = root / "bad.txt"
    txt_path.write_bytes(
        "".join(f"line {i} of text\n" for i in range(BIG_ROWS * 2)).encode() + b"caf\xe9\n"
    )
    for path in (csv_path, jsonl_path, txt_path):
        assert path.stat().st_size > 1 << 18
    return [csv_path, jsonl_path, txt_path]


def where_bad(raw: bytes, bad: bytes = b"\xe9") -> str:
    """``line N (byte offset M)`` of the first ``bad`` byte in ``raw``."""
    offset = raw.index(bad)
    line = raw.count(b"\n", 0, offset) + 1
    return f"line {line} (byte offset {offset})"


def test_bad_utf8_past_the_sample_streamed_names_line_and_offset(tmp_path: Path) -> None:
    for path in bad_utf8_files(tmp_path):
        expected = error_of(lambda p=path: read_text(p))
        assert expected.startswith(f"{path}: {where_bad(path.read_bytes())} is not valid utf-8")
        streamed = error_of(lambda p=path: list(TextShards([p], has_labels=False).texts()))
        assert streamed == expected


def test_bad_utf8_in_a_gzip_stream_names_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv.gz"
    raw = big_csv_bytes() + b"caf\xe9 film,1\n"
    path.write_bytes(gzip.compress(raw))
    message = error_of(lambda: stream_scan(path))
    assert f"{path}: {where_bad(raw)} is not valid utf-8" in message
    assert message == error_of(lambda: read_text_dataset(path))


@pytest.mark.parametrize("name", ["trunc.csv.gz", "bad.jsonl"])
def test_cli_stream_bad_file_is_one_line_exit_2(tmp_path: Path, name: str) -> None:
    if name == "bad.jsonl":
        bad_utf8_files(tmp_path)
        words = ["bad.jsonl: line", "byte offset", "not valid utf-8"]
    else:
        packed = gzip.compress(big_csv_bytes())
        (tmp_path / name).write_bytes(packed[: len(packed) // 2])
        words = ["trunc.csv.gz looks gzip-compressed but cannot be decompressed"]
    line = train_fails(tmp_path, name, "--stream")
    for word in words:
        assert word in line


# ------------------------------------------------------- 3. devices, FIFOs and sockets
def test_devices_fifos_and_sockets_are_refused_before_opening(tmp_path: Path) -> None:
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)  # opening it would block until someone writes
    assert "is a FIFO (named pipe), not a regular file" in error_of(lambda: check_file(fifo))
    assert "character device" in error_of(lambda: check_file("/dev/zero"))
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s.csv"))
        assert "is a socket" in error_of(lambda: check_file(tmp_path / "s.csv"))
    assert "FIFO" in error_of(lambda: TextShards([fifo]))  # refused up front: no open()


@pytest.mark.parametrize(("target", "options"), [("pipe.csv", ["--stream"]), ("pipe.csv", []),
                                                 ("/dev/zero", [])])
def test_cli_refuses_fifo_and_dev_zero_promptly(
    tmp_path: Path, target: str, options: list[str]
) -> None:
    if target == "pipe.csv":
        os.mkfifo(tmp_path / target)  # without the check: blocks until the timeout
    line = train_fails(tmp_path, target, *options, timeout=60)
    assert "not a regular file" in line


# ----------------------------------------------------------------- 4. all-empty texts
def test_all_empty_texts_are_refused_by_every_reader(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [f"  ,{i % 2}" for i in range(30)])
    jsonl = tmp_path / "e.jsonl"
    jsonl.write_text("".join(json.dumps({"text": "", "label": i % 2}) + "\n" for i in range(8)))
    for cls in ("a", "b"):
        (tmp_path / "tree" / cls).mkdir(parents=True)
        (tmp_path / "tree" / cls / "1.txt").write_text("\n")
    assert error_of(lambda: read_text_dataset(path)).startswith(
        f"{path}: all 30 texts (text column 'text') are empty"
    )
    assert "all 30 texts" in error_of(lambda: stream_scan(path))
    assert "all 8 texts (text column 'text') are empty" in error_of(
        lambda: read_text_dataset(jsonl)
    )
    assert "all 8 texts" in error_of(lambda: stream_scan(jsonl))
    assert "all 2 texts are empty" in error_of(lambda: read_text_dataset(tmp_path / "tree"))


def test_some_empty_texts_are_kept_alike_in_memory_and_streamed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", reviews(10) + [",1", " ,0"] + reviews(5))
    ds = read_text_dataset(path)
    streamed = [t for t, _, _ in TextShards([path]).records()]
    assert len(ds) == 17 and streamed == ds.texts and ds.texts[10:12] == ["", " "]


def test_cli_all_empty_texts_is_one_line_exit_2(tmp_path: Path) -> None:
    write_csv(tmp_path / "empty.csv", [f",{i % 2}" for i in range(30)])
    line = train_fails(tmp_path, "empty.csv", "--stream")
    assert "empty.csv: all 30 texts (text column 'text') are empty" in line


# ------------------------------------------------------ 5. hold-outs that cannot be made
def test_validation_split_of_singleton_classes_says_what_is_wrong() -> None:
    texts = [f"{WORDS[i % 10]} film {i}" for i in range(24)]
    clf = TextClassifier(epochs=1, hidden_size=8, max_tokens=50)
    with pytest.raises(DataError, match="24 examples in 24 classes and every class has a single"):
        clf.fit(texts, [f"class {i}" for i in range(24)])
    with pytest.raises(DataError, match="no class is large enough to hold out 10% of it"):
        clf.fit(texts[:12], [i // 2 for i in range(12)])


def test_trainer_refuses_an_empty_validation_loader_before_training() -> None:
    model = torch.nn.Linear(2, 2)
    batches = [(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))]
    trainer = Trainer(loss="cross_entropy", metrics=[], verbose=0)
    with pytest.raises(TrainingError, match="the validation set is empty"):
        trainer.fit(model, batches, validation_data=[], epochs=1)
    assert model.weight.grad is None  # refused before the first step


@pytest.mark.parametrize("labels", ["unique", "pairs"])
def test_cli_impossible_validation_split_is_one_line_exit_2(tmp_path: Path, labels: str) -> None:
    n = 30 if labels == "unique" else 12
    rows = [
        f"{WORDS[i % 10]} film {i},{'c' + str(i if labels == 'unique' else i // 2)}"
        for i in range(n)
    ]
    write_csv(tmp_path / "f.csv", rows)
    line = train_fails(tmp_path, "f.csv")
    assert "cannot hold out a validation split" in line and "--valid" in line
    assert ("every class has a single example" in line) == (labels == "unique")


# ----------------------------------------------------- 6. labels such as "1-2" when streamed
def test_streamed_dash_labels_are_strings_like_in_memory(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv",
                     [f"film {i},{['1-2', '3-4', '10'][i % 3]}" for i in range(12)])
    scan = stream_scan(path)
    assert scan.classes() == read_text_dataset(path).classes == ["1-2", "10", "3-4"]
    assert scan.label_index() == {"1-2": 0, "10": 1, "3-4": 2}
    ints = write_csv(tmp_path / "i.csv",
                     [f"film {i},{['-1', '+2', '03'][i % 3]}" for i in range(6)])
    assert stream_scan(ints).classes() == read_text_dataset(ints).classes == [-1, 2, 3]


def test_cli_stream_dash_labels_are_read_then_an_unseen_one_is_named(tmp_path: Path) -> None:
    write_csv(tmp_path / "d.csv",
              [f"{WORDS[i % 10]} film {i},{['1-2', '3-4'][i % 2]}" for i in range(20)])
    write_csv(tmp_path / "v.csv", ["good film,1-2", "bad film,5-6"])
    line = train_fails(tmp_path, "d.csv", "--stream", "--valid", "v.csv")
    assert "'5-6'" in line  # before the fix: a ValueError traceback from int('1-2')


def test_hints_name_options_a_cli_user_has() -> None:
    """A hint such as "pass delimiter=" is Python-only advice; CLI users read the same messages of
    the readers, so every such hint in ``rnnkit.data`` must say it is for Python (or name the CLI
    option beside it)."""
    import re

    import rnnkit

    src = Path(rnnkit.__file__).parent / "data"
    python_only = [
        f"{path.relative_to(src)}:{n}: {line.strip()}"
        for path in sorted(src.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bpass [a-z_]+=", line) and not re.search(r"Python|CLI", line)
    ]
    assert not python_only, python_only
