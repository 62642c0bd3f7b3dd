"""One scaler for series and sequences; both spellings of scaler.json load."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.scaling import Scaler
from rnnkit.data.sequences import FeatureScaler
from rnnkit.data.series_transforms import Scaler as SeriesScaler
from rnnkit.errors import ConfigError, DataError


def test_series_and_sequences_share_the_scaler() -> None:
    assert SeriesScaler is Scaler and issubclass(FeatureScaler, Scaler)


def test_old_sequence_bundle_spelling_still_loads() -> None:
    old = {"mode": "global", "mean": [1.0, 1.0], "scale": [2.0, 2.0]}  # scaler.json before issue 21
    scaler = FeatureScaler.from_dict(old)
    assert scaler.mode == "global" and scaler.feature_size == 2
    assert scaler.transform([np.array([[3.0, 5.0]])])[0].tolist() == [[1.0, 2.0]]
    again = FeatureScaler.from_dict(scaler.to_dict())
    assert again.to_dict() == {"kind": "global", "shift": [1.0, 1.0], "scale": [2.0, 2.0]}


def test_feature_kind_floors_the_scale_at_a_tenth_of_the_range() -> None:
    x = np.zeros((100, 1))
    x[0] = 100.0  # std about 9.95, range 100: the floor (10) wins
    scaler = Scaler("feature").fit(x)
    assert scaler.fitted()[1].tolist() == [10.0]
    assert Scaler("global").fit(np.array([[0.0, 2.0]])).fitted()[0].tolist() == [1.0, 1.0]


def test_errors_say_what_to_do() -> None:
    with pytest.raises(ConfigError, match="expected one of"):
        Scaler("zscore")
    with pytest.raises(DataError, match="standardize='zscore' is unknown"):
        FeatureScaler("zscore")
    with pytest.raises(DataError, match="not fitted"):
        FeatureScaler().transform([np.zeros((1, 1))])
    with pytest.raises(DataError, match="same length"):
        Scaler.from_dict({"kind": "standard", "shift": [0.0], "scale": [1.0, 2.0]})
