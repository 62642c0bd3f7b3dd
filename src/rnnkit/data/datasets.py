"""Datasets bundled inside the rnnkit package (small enough to ship, licensed for it).

``uci_sentiment``: the UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015; CC BY 4.0):
1000 one-sentence reviews each from Amazon, IMDB and Yelp, half positive (1), half negative (0).
Attribution and the list of modifications are in ``rnnkit/datasets/uci_sentiment/SOURCE.txt``.

Example:
    >>> ds = load_uci_sentiment("yelp")
    >>> len(ds), ds.classes, ds.labels.count(1)
    (1000, [0, 1], 500)
    >>> ds.texts[0]
    'Wow... Loved this place.'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rnnkit.data.sources import TextDataset, concat, read_table
from rnnkit.errors import DataError

UCI_SENTIMENT_FILES = {
    "amazon": "amazon_cells_labelled.txt",
    "imdb": "imdb_labelled.txt",
    "yelp": "yelp_labelled.txt",
}


def bundled_path(name: str) -> Path:
    """The filesystem path of a bundled dataset file or folder, e.g. ``"uci_sentiment"``.

    Raises DataError when it does not exist.
    """
    resource = resources.files("rnnkit").joinpath("datasets", *Path(name).parts)
    path = Path(str(resource))
    if not path.exists():
        raise DataError(f"bundled dataset {name!r} not found at {path}; reinstall rnnkit")
    return path


def load_uci_sentiment(which: str = "all") -> TextDataset:
    """The UCI sentiment sentences: ``"amazon"``, ``"imdb"``, ``"yelp"`` (1000 each) or ``"all"``.

    Labels are ints, 1 = positive, 0 = negative; ``"all"`` concatenates amazon, imdb, yelp.
    """
    if which == "all":
        names = list(UCI_SENTIMENT_FILES)
    elif which in UCI_SENTIMENT_FILES:
        names = [which]
    else:
        raise DataError(
            f"which={which!r} is not a part of uci_sentiment; use 'all', "
            + ", ".join(repr(n) for n in UCI_SENTIMENT_FILES)
        )
    folder = bundled_path("uci_sentiment")
    parts = [
        read_table(
            folder / UCI_SENTIMENT_FILES[name], "sentence", "score", header=True, delimiter="\t"
        )
        for name in names
    ]
    dataset = concat(parts)
    dataset.source = f"rnnkit uci_sentiment ({which})"
    return dataset


__all__ = ["bundled_path", "load_uci_sentiment", "UCI_SENTIMENT_FILES"]
