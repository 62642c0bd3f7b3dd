"""rnnkit.data: text pipelines (standardize, split, vocabulary, vectorizer), sources and batching.

Typical use, from files to batches the Trainer consumes:

    >>> from rnnkit.data import BucketLoader, TextVectorizer, load_uci_sentiment
    >>> ds = load_uci_sentiment("amazon")
    >>> vec = TextVectorizer(max_tokens=5000).fit(ds.texts)
    >>> loader = BucketLoader(vec.transform(ds.texts), ds.label_ids(), batch_size=32, seed=0)
    >>> inputs, target = next(iter(loader))
    >>> sorted(inputs), inputs["x"].dtype, target.shape[0] == inputs["x"].shape[0]
    (['lengths', 'x'], torch.int64, True)

Modules: ``text`` (standardize/split functions), ``vocabulary`` (Vocabulary), ``vectorizer``
(TextVectorizer), ``readers`` (opening files: bytes, decompression, decoding), ``tables``
(delimited text: delimiter, quoting, header, columns, label coercion, for every reader),
``sources`` (TextDataset, CSV/TSV/JSONL/directory readers, in memory), ``text_shards``
(TextShards, StreamingLoader: labelled texts streamed from shards), ``lm_streams`` (token streams
and truncated-BPTT batches for language models), ``scaling`` (the Scaler), ``batching``
(BucketLoader, PaddedLoader, pad_sequences), ``datasets`` (bundled data), ``catalog`` (every
shipped or generated dataset, written out as plain files: ``rnnkit data``), ``toy_pairs``
(generated translation pairs: reversal, addition, dates).
"""

from __future__ import annotations

from rnnkit.data.batching import IGNORE_INDEX, BucketLoader, PaddedLoader, pad_sequences
from rnnkit.data.catalog import list_datasets, write_dataset
from rnnkit.data.datasets import bundled_path, load_uci_sentiment
from rnnkit.data.sources import (
    TextDataset,
    read_directory,
    read_jsonl,
    read_table,
    read_text_dataset,
)
from rnnkit.data.text import split, standardize
from rnnkit.data.text_shards import StreamingLoader, TextShards
from rnnkit.data.vectorizer import TextVectorizer
from rnnkit.data.vocabulary import OOV_ID, OOV_TOKEN, PAD_ID, PAD_TOKEN, Vocabulary

__all__ = [
    "TextVectorizer",
    "Vocabulary",
    "PAD_ID",
    "OOV_ID",
    "PAD_TOKEN",
    "OOV_TOKEN",
    "standardize",
    "split",
    "TextDataset",
    "read_text_dataset",
    "read_table",
    "read_jsonl",
    "read_directory",
    "load_uci_sentiment",
    "bundled_path",
    "list_datasets",
    "write_dataset",
    "BucketLoader",
    "PaddedLoader",
    "TextShards",
    "StreamingLoader",
    "pad_sequences",
    "IGNORE_INDEX",
]
