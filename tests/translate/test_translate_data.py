"""Pair readers (TSV with extra columns, headers, CSV, parallel plain/gzip files, CJK),
tokenization.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from rnnkit.data.pairs import (
    PairLoader,
    detect_level,
    detokenize,
    read_pairs,
    read_parallel,
    tokenize,
)
from rnnkit.errors import DataError


def test_tsv_with_attribution_column_is_read_as_source_target(tmp_path: Path) -> None:
    path = tmp_path / "fra.txt"
    path.write_text(
        "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n"
        "Hi.\tSalut !\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123 (CM)\n"
        "\tempty source\tx\n",
        encoding="utf-8",
    )
    ds = read_pairs(path)
    assert ds.sources == ["Go.", "Hi."] and ds.targets == ["Va !", "Salut !"]
    assert ds.skipped == 1
    swapped = read_pairs(path, source_column=1, target_column=0)
    assert swapped.sources == ["Va !", "Salut !"]


def test_header_names_and_csv_quotes(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text('id,en,de\n1,"A man, smiling.",Ein Mann lächelt.\n2,A dog.,Ein Hund.\n',
                    encoding="utf-8")
    ds = read_pairs(path, source_column="de", target_column="en")
    assert ds.sources == ["Ein Mann lächelt.", "Ein Hund."]
    assert ds.targets == ["A man, smiling.", "A dog."]
    with pytest.raises(DataError, match="available columns"):
        read_pairs(path, source_column="fr", target_column="en")


def test_parallel_files_plain_and_gzip(tmp_path: Path) -> None:
    src, tgt = tmp_path / "train.de.gz", tmp_path / "train.en"
    src.write_bytes(gzip.compress(b"Ein Hund .\nZwei Katzen .\n"))
    tgt.write_text("A dog .\nTwo cats .\n", encoding="utf-8")
    ds = read_parallel(src, tgt)
    assert ds.sources == ["Ein Hund .", "Zwei Katzen ."] and ds.targets == ["A dog .", "Two cats ."]
    bad = tmp_path / "short.en"
    bad.write_text("A dog .\n", encoding="utf-8")
    with pytest.raises(DataError, match="line-aligned"):
        read_parallel(src, bad)


def test_cjk_source_is_detected_and_split_by_character(tmp_path: Path) -> None:
    path = tmp_path / "cmn.tsv"
    path.write_text("我爱你。\tI love you.\n你好吗？\tHow are you?\n", encoding="utf-8")
    ds = read_pairs(path)
    assert detect_level(ds.sources) == "char" and detect_level(ds.targets) == "word"
    assert tokenize(ds.sources[0], "char") == ["我", "爱", "你", "。"]
    assert tokenize(ds.targets[1], "word") == ["how", "are", "you", "?"]
    assert detokenize(["我", "爱", "你"], "word") == "我爱你"  # no spaces between CJK words
    assert detect_level(["535+61", "1+2"]) == "char"


def test_word_tokens_keep_contractions_and_split_punctuation() -> None:
    assert tokenize("Don't stop, T-shirt!", "word") == ["don't", "stop", ",", "t-shirt", "!"]
    assert tokenize("A  b", "char", lowercase=False) == ["A", " ", "b"]


def test_pair_loader_shifts_targets_and_pads_with_ignore() -> None:
    import numpy as np

    loader = PairLoader([np.array([5, 6, 7]), np.array([8])],
                        [np.array([9, 10]), np.array([11, 12, 13])],
                        bos_id=2, eos_id=3, batch_size=2)
    (inputs, target), = list(loader)
    assert inputs["x"].tolist() == [[8, 0, 0], [5, 6, 7]] and inputs["lengths"].tolist() == [1, 3]
    assert inputs["y_in"].tolist() == [[2, 11, 12, 13], [2, 9, 10, 0]]
    assert target.tolist() == [[11, 12, 13, 3], [9, 10, 3, -100]]
    shuffled = PairLoader([np.arange(n) + 4 for n in range(1, 30)], [np.array([4])] * 29, bos_id=2,
                          eos_id=3, batch_size=4, shuffle=True, seed=1)
    first = [b.tolist() for b in shuffled.batch_indices()]
    shuffled.set_epoch(1)
    assert first != [b.tolist() for b in shuffled.batch_indices()]
    assert sorted(i for b in first for i in b) == list(range(29))
