"""Bundled UCI sentences and one real IMDB shard read through the CSV source."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rnnkit.data import BucketLoader, TextVectorizer, bundled_path, load_uci_sentiment
from rnnkit.data.sources import read_text_dataset
from rnnkit.errors import DataError


def test_uci_sentiment_all_has_3000_balanced_sentences() -> None:
    ds = load_uci_sentiment()
    assert len(ds) == 3000
    assert Counter(ds.labels) == {0: 1500, 1: 1500}
    assert ds.classes == [0, 1]
    assert all(t.strip() for t in ds.texts)
    assert "sentence" not in ds.texts  # the header line is not data


@pytest.mark.parametrize("which", ["amazon", "imdb", "yelp"])
def test_each_uci_part_has_500_per_class(which: str) -> None:
    ds = load_uci_sentiment(which)
    assert Counter(ds.labels) == {0: 500, 1: 500}


def test_uci_imdb_stray_quotes_do_not_merge_sentences() -> None:
    texts = load_uci_sentiment("imdb").texts
    assert any(t.startswith('"') for t in texts)
    assert not any("\n" in t or "\t" in t for t in texts)


def test_bundled_path_and_attribution() -> None:
    folder = bundled_path("uci_sentiment")
    source = (folder / "SOURCE.txt").read_text(encoding="utf-8")
    assert "Kotzias" in source and "CC BY 4.0" in source
    with pytest.raises(DataError, match="not found"):
        bundled_path("no_such_set")
    with pytest.raises(DataError, match="which='twitter'"):
        load_uci_sentiment("twitter")


def test_uci_pipeline_end_to_end_batches() -> None:
    ds = load_uci_sentiment("yelp")
    vec = TextVectorizer(max_tokens=2000).fit(ds.texts)
    loader = BucketLoader(vec.transform(ds.texts), ds.label_ids(), batch_size=64, seed=1)
    assert sum(inputs["x"].shape[0] for inputs, _ in loader) == 1000


@pytest.mark.shared_data
def test_imdb_shard_reads_5000_balanced_reviews(shared_data: Path) -> None:
    path = shared_data / "imdb_aclImdb" / "imdb_train_00.csv.gz"
    ds = read_text_dataset(path)
    assert len(ds) == 5000
    assert Counter(ds.labels) == {0: 2500, 1: 2500}
    assert ds.texts[0].startswith("Bromwell High is a cartoon comedy.")
    assert sum("<br />" in t for t in ds.texts) > 1000  # the raw reviews keep their HTML
    assert 1000 < sum(map(len, ds.texts)) / len(ds) < 1700
