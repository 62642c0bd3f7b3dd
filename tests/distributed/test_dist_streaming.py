"""Streaming shards: formats, one-pass vocabulary, buffered bucketing, splits by rank and hash."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data import TextVectorizer, read_text_dataset
from rnnkit.data.text_shards import StreamingLoader, TextShards, scan_texts
from rnnkit.errors import DataError
from rnnkit.tasks import TextClassifier

WORDS = "good bad film plot dull fun great awful story acting".split()


def _examples(n: int, offset: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(offset)
    out = []
    for i in range(n):
        words = rng.choice(WORDS, size=1 + (i + offset) % 9).tolist()
        out.append((f"id{offset + i} " + " ".join(words), "pos" if (i + offset) % 3 else "neg"))
    return out


def write_csv_gz(path: Path, rows: list[tuple[str, str]]) -> Path:
    body = "\r\n".join(["text,label"] + [f'"{t}",{y}' for t, y in rows]) + "\r\n"
    path.write_bytes(gzip.compress(("\ufeff" + body).encode("utf-8")))
    return path


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"review": t, "sentiment": y}) + "\n" for t, y in rows))
    return path


@pytest.fixture
def shards(tmp_path: Path) -> list[Path]:
    files = [write_csv_gz(tmp_path / f"part{i}.csv.gz", _examples(40, 40 * i)) for i in range(3)]
    files.append(write_jsonl(tmp_path / "part3.jsonl", _examples(30, 120)))
    return files


def test_records_match_the_in_memory_reader_for_every_format(shards: list[Path]) -> None:
    stream = TextShards(shards)
    records = list(stream.records())
    memory = read_text_dataset(shards)
    assert [t for t, _, _ in records] == memory.texts
    assert [y for _, y, _ in records] == [str(y) for y in memory.labels]
    tsv = shards[0].with_name("quoted.tsv")
    tsv.write_text('text\tlabel\nsays "hi\tpos\nplain\tneg\n')  # a stray quote in TSV
    assert [t for t, _, _ in TextShards([tsv]).records()] == read_text_dataset(tsv).texts


def test_one_streaming_pass_gives_the_in_memory_vocabulary(shards: list[Path]) -> None:
    vec = TextVectorizer(max_tokens=30, min_freq=2)
    scan = scan_texts(TextShards(shards), vec.tokenize)
    fitted = TextVectorizer(max_tokens=30, min_freq=2).fit(read_text_dataset(shards).texts)
    assert scan.vocabulary(30, 2) == fitted.vocab
    assert scan.examples == 150 and scan.classes() == ["neg", "pos"]
    assert scan.per_file[str(shards[3])] == 30


def _loader(stream: TextShards, scan, rank=0, world=1, **options) -> StreamingLoader:
    vec = TextVectorizer(vocabulary=scan.vocabulary())
    return StreamingLoader(stream, vec, scan.label_index(), rank=rank, world_size=world,
                           examples=scan.examples_for(stream, rank, world), **options)


def _first_tokens(loader: StreamingLoader) -> list[str]:
    vocab = loader.vectorizer.vocabulary
    return [vocab[int(row[0])] for inputs, _ in loader for row in inputs["x"]]


def test_each_epoch_yields_every_example_once_in_length_buckets(shards: list[Path]) -> None:
    stream = TextShards(shards)
    scan = scan_texts(stream, TextVectorizer().tokenize)
    loader = _loader(stream, scan, batch_size=8, buffer_size=32, seed=1)
    batches = list(loader)
    assert len(batches) == len(loader) == 19  # ceil(150 / 8): buffers are whole batches
    ids = _first_tokens(loader)
    assert sorted(ids) == sorted(f"id{i}" for i in range(150))
    spreads = [int(b["lengths"].max() - b["lengths"].min()) for b, _ in batches]
    assert np.mean(spreads) < 3  # sorted inside each buffer of 32
    assert _first_tokens(loader) == ids  # same epoch, same order
    loader.set_epoch(1)
    assert _first_tokens(loader) != ids
    assert Counter(t.item() for _, y in loader for t in y) == Counter({1: 100, 0: 50})


@pytest.mark.parametrize("files", [4, 1])
def test_ranks_read_disjoint_parts_that_cover_the_data(shards: list[Path], files: int) -> None:
    stream = TextShards(shards[:files])
    scan = scan_texts(stream, TextVectorizer().tokenize)
    per_rank = []
    for rank in range(2):
        loader = _loader(stream, scan, rank, 2, batch_size=8)
        tokens = _first_tokens(loader)
        assert len(tokens) == scan.examples_for(stream, rank, 2)
        assert sum(len(y) for _, y in loader) == len(tokens)
        per_rank.append(set(tokens))
    assert not per_rank[0] & per_rank[1]
    assert len(per_rank[0] | per_rank[1]) == scan.examples
    expected = (
        ([str(p) for p in shards[1:files:2]], False) if files >= 2 else ([str(shards[0])], True)
    )
    assert stream.files_for(1, 2) == expected


def test_hash_selection_splits_without_overlap(shards: list[Path]) -> None:
    stream = TextShards(shards, seed=5)
    held = {t for t, _, _ in stream.select(0.0, 0.25).records()}
    kept = {t for t, _, _ in stream.select(0.25, 1.0).records()}
    assert not held & kept and len(held) + len(kept) == 150
    assert 15 < len(held) < 60
    inner = stream.select(0.25, 1.0).select(0.0, 0.5)
    assert {t for t, _, _ in inner.records()} <= kept


def test_directories_expand_and_bad_inputs_fail_clearly(shards: list[Path], tmp_path: Path) -> None:
    assert len(TextShards(tmp_path)) == 4
    with pytest.raises(DataError, match="no such file"):
        TextShards([tmp_path / "missing.csv"])
    lines = tmp_path / "lines.txt"
    lines.write_text("one text\nanother\n")
    assert [t for t, _, _ in TextShards([lines], has_labels=False).records()] == [
        "one text",
        "another",
    ]
    with pytest.raises(DataError, match="plain-text shard"):
        list(TextShards([lines], has_labels=True).records())


def test_text_classifier_trains_and_evaluates_from_shards(
    shards: list[Path], tmp_path: Path
) -> None:
    clf = TextClassifier(epochs=2, hidden_size=8, embedding_dim=8, batch_size=16, verbose=0)
    clf.fit(TextShards(shards[:3]), validation_data=TextShards(shards[3:]))
    assert clf.classes_ == ["neg", "pos"] and len(clf.history_) == 2
    assert "val_accuracy" in clf.history_.last()
    assert clf.metrics_["validation"]["count"] == 30 and clf.metrics_["train_examples"] == 120
    report = clf.evaluate(TextShards(shards[3:]))
    assert report["count"] == 30
    assert report["accuracy"] == pytest.approx(clf.score(*_texts_labels(shards[3])))
    held = TextClassifier(epochs=1, hidden_size=8, embedding_dim=8, verbose=0).fit(
        TextShards(shards)
    )
    assert 0 < held.metrics_["validation"]["count"] < held.metrics_["train_examples"]


def _texts_labels(path: Path) -> tuple[list[str], list[str]]:
    ds = read_text_dataset(path)
    return ds.texts, [str(y) for y in ds.labels]
