"""Reading series from CSV: formats, columns, missing values and the one-line errors."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from series_helpers import write_csv

from rnnkit.data.series import (
    SeriesData,
    chronological_split,
    infer_frequency,
    load_airline_passengers,
    read_series,
)
from rnnkit.data.series_transforms import detect_season
from rnnkit.errors import ConfigError, DataError

MONTHS = [f"2020-{m:02d}" for m in range(1, 13)]


def test_reads_bom_crlf_semicolon_any_column_order(tmp_path) -> None:
    rows = [f"{i * 0.5};{m};{10 + i}" for i, m in enumerate(MONTHS)]
    path = write_csv(tmp_path / "a.csv", "price;month;sales", rows, newline="\r\n", bom=True)
    data = read_series(path, target="sales", date_column="month", features=["price"])
    assert data.target_names == ["sales"] and data.feature_names == ["price"]
    assert data.values[:, 0].tolist() == [10.0 + i for i in range(12)]
    assert data.features[3, 0] == 1.5
    assert data.frequency == "MS" and data.dates[0] == pd.Timestamp("2020-01-01")


def test_reads_gzip_tsv_with_cr_line_endings_and_detects_date_and_target(tmp_path) -> None:
    text = "\r".join(["day\tvalue", *[f"2021-01-{d:02d}\t{d * 1.5}" for d in range(1, 11)]])
    path = tmp_path / "series.bin"  # the name says nothing: gzip is recognised by its bytes
    path.write_bytes(gzip.compress(text.encode()))
    data = read_series(path)
    assert data.target_names == ["value"] and data.dates is not None and data.frequency == "D"
    assert data.values[-1, 0] == 15.0


def test_several_targets_by_index(tmp_path) -> None:
    path = write_csv(tmp_path / "m.csv", "a,b,c", [f"{i},{2 * i},{3 * i}" for i in range(8)])
    data = read_series(path, target=["2", "a"])
    assert data.target_names == ["c", "a"] and data.values[4].tolist() == [12.0, 4.0]
    assert data.dates is None


def test_missing_values_are_refused_with_counts_columns_and_lines(tmp_path) -> None:
    rows = ["2020-01,1,5", "2020-02,,6", "2020-03,3,", "2020-04,,8", "2020-05,5,9"]
    path = write_csv(tmp_path / "gaps.csv", "month,y,x", rows)
    with pytest.raises(DataError) as err:
        read_series(path, target="y", features=["x"])
    message = str(err.value)
    assert "3 missing values" in message and "column y: 2 at lines 3, 5" in message
    assert "column x: 1 at line 4" in message and "--fill" in message and "\n" not in message


@pytest.mark.parametrize("fill, expected", [
    ("interpolate", [1.0, 2.0, 3.0, 4.0, 5.0]),
    ("ffill", [1.0, 1.0, 3.0, 3.0, 5.0]),
    ("drop", [1.0, 3.0, 5.0]),
])
def test_fill_methods(tmp_path, fill, expected) -> None:
    rows = ["2020-01,1", "2020-02,", "2020-03,3", "2020-04,NA", "2020-05,5"]
    path = write_csv(tmp_path / "gaps.csv", "month,y", rows)
    data = read_series(path, target="y", fill=fill)
    assert data.values[:, 0].tolist() == expected
    assert len(data.dates) == len(expected)


def test_leading_gap_is_filled_backward(tmp_path) -> None:
    path = write_csv(tmp_path / "g.csv", "t,y", ["1,", "2,2", "3,3"])
    assert read_series(path, target="y", fill="ffill").values[:, 0].tolist() == [2.0, 2.0, 3.0]
    assert read_series(path, target="y", fill="interpolate").values[:, 0].tolist() == [
        2.0,
        2.0,
        3.0,
    ]


@pytest.mark.parametrize("rows, fragment", [
    (["2020-01,1", "2020-02,abc", "2020-03,3"], "column 'y' has non-numeric values at line 3 "
                                                "('abc')"),
    (["2020-01,1", "2020-02,2", "2020-02,3"], "repeats 2020-02-01 (line 4); keep one row per date"),
    (["2020-01,1", "2020-03,2", "2020-02,3"], "is not sorted: 2020-02-01 "
                                              "(line 4) comes after 2020-03-01"),
    (["2020-01,1", "someday,2", "2020-03,3"], "not dates at line 3 ('someday')"),
])
def test_bad_input_messages(tmp_path, rows, fragment) -> None:
    path = write_csv(tmp_path / "bad.csv", "month,y", rows)
    with pytest.raises(DataError) as err:
        read_series(path, target="y", date_column="month")
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_unknown_column_and_ambiguous_target(tmp_path) -> None:
    path = write_csv(tmp_path / "two.csv", "a,b", ["1,2", "3,4"])
    unknown = "--target='sales' is not a column of two.csv; available columns: a, b"
    with pytest.raises(DataError, match=unknown):
        read_series(path, target="sales")
    with pytest.raises(DataError, match="cannot tell which column to forecast"):
        read_series(path)
    with pytest.raises(ConfigError, match="fill"):
        read_series(path, target="a", fill="mean")


def test_bundled_airline_passengers() -> None:
    data = load_airline_passengers()
    assert len(data) == 144 and data.values.sum() == 40363 and data.frequency == "MS"
    assert read_series("airline_passengers").values.shape == (144, 1)


def test_chronological_split_by_fraction_rows_and_date() -> None:
    assert chronological_split(144, 0.33) == (96, 96)
    assert chronological_split(100, 20) == (80, 80)
    dates = pd.date_range("2000-01-01", periods=24, freq="MS")
    assert chronological_split(24, test_start="2001-01", dates=dates) == (12, 12)
    assert chronological_split(100, 0.2, validation_size=0.25) == (60, 80)
    with pytest.raises(ConfigError):
        chronological_split(10, test_start="2001-01")


def test_irregular_daily_dates_still_have_a_frequency() -> None:
    dates = pd.date_range("2001-01-01", periods=40, freq="D").delete([10, 25])
    assert pd.infer_freq(dates) is None and infer_frequency(dates) == "D"


def test_detect_season_from_autocorrelation_and_frequency(make_seasonal) -> None:
    assert detect_season(make_seasonal(120, 12)) == 12
    assert detect_season(make_seasonal(200, 7, noise=0.2)) == 7
    rng = np.random.default_rng(0)
    # white noise: whatever, no crash
    assert detect_season(rng.standard_normal(100)) in range(1, 51)
    assert detect_season(np.ones(3), "MS") == 1
    # a peak at 350 in daily data snaps to the yearly period
    t = np.arange(1500)
    assert detect_season(np.sin(2 * np.pi * t / 350) + 0.01 * t, "D") == 365


def test_series_data_from_arrays_checks() -> None:
    with pytest.raises(DataError, match="missing or infinite values at rows \\[2\\]"):
        SeriesData.from_arrays([1.0, 2.0, np.nan])
    with pytest.raises(DataError, match="features: has 2 rows"):
        SeriesData.from_arrays([1.0, 2.0, 3.0], features=[[1.0], [2.0]])
    data = SeriesData.from_arrays(np.ones((5, 2)), dates=pd.date_range("2020", periods=5, freq="D"))
    assert data.target_names == ["y0", "y1"] and data.frequency == "D"
