"""Time series from CSV/TSV files: reading, checks, missing values and chronological splits.

A :class:`SeriesData` holds one or more target columns ``values (n, C)``, optional extra feature
columns ``features (n, F)`` (past covariates: the model sees them over the lookback window), the
dates when there is a date column, and the column names. :func:`read_series` builds one from a
file with pandas: any delimiter (sniffed), any column order, a UTF-8 byte-order mark, gzip/bzip2/xz
(recognised by magic bytes), LF/CRLF/CR line endings.

Mistakes raise :class:`rnnkit.errors.DataError` with one line that says what to do: a missing
column, non-numeric values (with the first offending rows), duplicated or unsorted dates, and
missing values -- refused unless ``fill`` is ``"interpolate"``, ``"ffill"`` or ``"drop"``.

Windows, scalers, transforms and season detection live in :mod:`rnnkit.data.series_transforms`.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
    >>> _ = path.write_text("month;sales;price\\n2020-01;10;1.5\\n2020-02;12;1.4\\n2020-03;;1.6\\n")
    >>> read_series(path, target="sales", date_column="month")
    Traceback (most recent call last):
    ...
    rnnkit.errors.DataError: sales.csv: 1 missing value (column sales: 1 at line 4); pass fill='interpolate', 'ffill' or 'drop' (CLI: --fill)
    >>> data = read_series(path, target="sales", date_column="month", features=["price"],
    ...                    fill="interpolate")
    >>> data.values[:, 0].tolist(), data.feature_names, data.frequency
    ([10.0, 12.0, 12.0], ['price'], 'MS')
"""  # noqa: E501 (the doctest's expected exception message is one line)

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.readers import read_text
from rnnkit.data.tables import INTEGER, column_index, sniff_delimiter
from rnnkit.errors import ConfigError, DataError, warn_user

FILL_METHODS = ("interpolate", "ffill", "drop")
#: Bundled series that ``read_series`` and the CLI accept by name instead of a path.
BUNDLED_SERIES = {
    "airline_passengers": ("airline_passengers/airline-passengers.csv", "Passengers", "Month"),
}


@dataclass
class SeriesData:
    """A (multivariate) time series.

    Attributes:
        values: ``(n, C)`` float64, the target column(s), oldest first.
        features: ``(n, F)`` float64 extra input columns (``F`` may be 0).
        target_names, feature_names: column names.
        dates: ``pandas.DatetimeIndex`` of length n, or None (row order is time order).
        source: where the data came from (for messages).
    """

    values: np.ndarray
    features: np.ndarray
    target_names: list[str]
    feature_names: list[str] = field(default_factory=list)
    dates: pd.DatetimeIndex | None = None
    source: str = "series"

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.ndim == 1:
            self.values = self.values[:, None]
        n = self.values.shape[0]
        if self.features is None or np.size(self.features) == 0:
            self.features = np.zeros((n, 0))
        self.features = np.asarray(self.features, dtype=np.float64).reshape(n, -1)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def frequency(self) -> str | None:
        """The pandas frequency alias of the dates (``"MS"``, ``"D"``, ...), or None."""
        return infer_frequency(self.dates)

    def slice(self, start: int | None = None, stop: int | None = None) -> SeriesData:
        """Rows ``start:stop`` as a new SeriesData."""
        part = slice(start, stop)
        return SeriesData(
            self.values[part], self.features[part], list(self.target_names),
            list(self.feature_names), None if self.dates is None else self.dates[part], self.source,
        )

    @classmethod
    def from_arrays(
        cls,
        values: Any,
        features: Any = None,
        dates: Any = None,
        target_names: Sequence[str] | None = None,
        feature_names: Sequence[str] | None = None,
        source: str = "array",
    ) -> SeriesData:
        """Build from arrays: ``values`` (n,) or (n, C), ``features`` (n, F), ``dates`` (n,).

        Raises DataError on non-finite values, mismatched lengths or bad dates.
        """
        y = np.asarray(values, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[0] == 0:
            raise DataError("values: expected a non-empty (n,) or (n, C) array, "
                            f"got shape {y.shape}")
        n, c = y.shape
        f = np.zeros((n, 0)) if features is None else np.asarray(features, dtype=np.float64)
        if f.ndim == 1:
            f = f[:, None]
        if f.shape[0] != n:
            raise DataError(f"features: has {f.shape[0]} rows but values has {n}; "
                            "give one row per step")
        for name, arr in (("values", y), ("features", f)):
            if arr.size and not np.all(np.isfinite(arr)):
                bad = np.argwhere(~np.isfinite(arr))[:3, 0].tolist()
                raise DataError(f"{name}: missing or infinite values at rows {bad}; "
                                "fill or drop them first")
        index = None
        if dates is not None:
            index = _as_dates(pd.Series(list(dates)), "dates", lambda i: f"row {i}")
            _check_dates(index, "dates", lambda i: f"row {i}")
            if len(index) != n:
                raise DataError(f"dates: has {len(index)} entries but values has {n}")
        names = list(target_names) if target_names is not None else (
            ["y"] if c == 1 else [f"y{i}" for i in range(c)])
        fnames = (
            list(feature_names)
            if feature_names is not None
            else [f"x{i}" for i in range(f.shape[1])]
        )
        return cls(y, f, names, fnames, index, source)


def infer_frequency(dates: pd.DatetimeIndex | None) -> str | None:
    """``pandas.infer_freq`` of the dates; when the steps are irregular (a few missing days), the
    most common step: ``"h"``, ``"D"``, ``"W"``, ``"MS"``, ``"QS"`` or ``"YS"``; else None."""
    if dates is None or len(dates) < 3:
        return None
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas 3 announces an offset return type
            freq = pd.infer_freq(dates)
    except (TypeError, ValueError):
        freq = None
    if freq is not None:
        return str(getattr(freq, "freqstr", freq))
    steps = np.diff(dates.asi8) / 86400e9 * _unit_scale(dates)  # in days
    if steps.size == 0:
        return None
    values, counts = np.unique(np.round(steps, 3), return_counts=True)
    common = float(values[np.argmax(counts)])
    for alias, low, high in (
        ("h", 1 / 24 - 1e-3, 1 / 24 + 1e-3),
        ("D", 0.999, 1.001),
        ("W", 6.99, 7.01),
        ("MS", 27.9, 31.1),
        ("QS", 89.9, 92.1),
        ("YS", 364.9, 366.1),
    ):
        if low <= common <= high:
            return alias
    return None


def missing_dates(dates: pd.DatetimeIndex | None) -> pd.DatetimeIndex:
    """The dates a regular series lacks between its first and last date (two missing 31 Decembers
    in ten years of daily data), by the frequency :func:`infer_frequency` finds; empty when the
    dates have no regular step or do not fall on it.

    Example:
        >>> days = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-04", "2020-01-05"])
        >>> [str(d.date()) for d in missing_dates(days)]
        ['2020-01-03']
    """
    freq = infer_frequency(dates)
    if dates is None or freq is None:
        return pd.DatetimeIndex([])
    try:
        full = pd.date_range(dates[0], dates[-1], freq=freq)
    except (TypeError, ValueError):
        return pd.DatetimeIndex([])
    if len(full) > 50 * len(dates) or not dates.isin(full).all():
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(full.difference(dates))


def missing_dates_note(name: str, gaps: pd.DatetimeIndex, freq: str | None) -> str:
    """One line naming the missing dates (the first three) of series ``name``."""
    shown = ", ".join(str(d.date()) for d in gaps[:3]) + (", ..." if len(gaps) > 3 else "")
    step = {"D": "daily", "h": "hourly", "W": "weekly", "MS": "monthly"}.get(str(freq), str(freq))
    plural = "s" if len(gaps) != 1 else ""
    return (f"{name}: {len(gaps)} date{plural} missing from the {step} series ({shown}); "
            "the values around each gap are read as consecutive steps")


def _unit_scale(dates: pd.DatetimeIndex) -> float:
    # asi8 counts in the index's unit (ns, us, ms or s); scale the day arithmetic to nanoseconds
    unit = (
        np.datetime_data(dates.dtype)[0]
        if hasattr(dates.dtype, "kind") and dates.dtype.kind == "M"
        else "ns"
    )
    return {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}.get(unit, 1.0)


def bundled_series_path(name: str) -> Path:
    """The file of a bundled series by name (``"airline_passengers"``)."""
    from rnnkit.data.datasets import bundled_path

    if name not in BUNDLED_SERIES:
        raise DataError(f"unknown bundled series {name!r}; known: {', '.join(BUNDLED_SERIES)}")
    return bundled_path(BUNDLED_SERIES[name][0])


def load_airline_passengers() -> SeriesData:
    """The bundled airline passengers series: 144 months, 1949-01..1960-12, thousands.

    Example:
        >>> data = load_airline_passengers()
        >>> len(data), data.target_names, data.frequency, data.values[:3, 0].tolist()
        (144, ['Passengers'], 'MS', [112.0, 118.0, 132.0])
    """
    _, target, date = BUNDLED_SERIES["airline_passengers"]
    return read_series(bundled_series_path("airline_passengers"), target=target, date_column=date)


def read_series(
    path: str | os.PathLike[str],
    target: str | Sequence[str] | None = None,
    date_column: str | None = None,
    features: Sequence[str] | None = None,
    fill: str | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> SeriesData:
    """Read a time series from a CSV/TSV file (plain or compressed).

    Args:
        path: the file, or the name of a bundled series (``"airline_passengers"``).
        target: the column(s) to forecast, by name or 0-based index. None: the only numeric
            column that is not a date or a feature.
        date_column: parsed as dates; rows must be in increasing date order without repeats.
            None: a column whose values all parse as dates is used when there is one, else the
            row order is the time order.
        features: extra numeric input columns (past covariates).
        fill: what to do with missing values: None refuses with a message naming how many are
            missing, in which columns and the first lines; ``interpolate`` (linear, ends filled
            with the nearest value), ``ffill`` (last value carried forward, a leading gap filled
            backward) or ``drop`` (the rows are removed).
        delimiter: None sniffs it among ``,`` ``;`` TAB ``|``.
        encoding: the file's text encoding, e.g. ``"latin-1"`` or ``"cp1252"`` (a UTF-8 BOM and
            UTF-16 are detected; the CLI's ``--encoding``).

    Raises:
        DataError: unreadable file, unknown column, non-numeric values, bad or unsorted dates,
            missing values without ``fill``.
    """
    if fill is not None and fill not in FILL_METHODS:
        raise ConfigError(f"fill: expected one of {', '.join(FILL_METHODS)}, got {fill!r}")
    path_str = str(path)
    if not Path(path_str).exists() and path_str in BUNDLED_SERIES:
        _, default_target, default_date = BUNDLED_SERIES[path_str]
        path = bundled_series_path(path_str)
        target = target if target is not None else default_target
        date_column = date_column if date_column is not None else default_date
    name = Path(path).name
    frame = _read_frame(path, delimiter, encoding)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    feature_cols = [_resolve(columns, f, name, "--features") for f in (features or [])]
    date_col = (
        _resolve(columns, date_column, name, "--date-column") if date_column is not None else None
    )
    if isinstance(target, (str, int)):
        target = [target]  # type: ignore[list-item]
    if target:
        target_cols = [_resolve(columns, t, name, "--target") for t in target]
    else:
        target_cols = []
    if date_col is None:
        date_col = _detect_date_column(frame, exclude=set(target_cols) | set(feature_cols))
    if not target_cols:
        target_cols = _default_target(frame, name, exclude={date_col, *feature_cols})
    overlap = set(target_cols) & set(feature_cols)
    if overlap or (date_col is not None and date_col in set(target_cols) | set(feature_cols)):
        clash = sorted(overlap) or [str(date_col)]
        raise DataError(f"{name}: column {clash[0]!r} is used twice (target, feature or date); "
                        "use it once")
    numeric = {c: _numeric(frame[c], c, name) for c in [*target_cols, *feature_cols]}
    table = pd.DataFrame(numeric)
    dates = None
    if date_col is not None:
        dates = _as_dates(frame[date_col], f"{name}: date column {date_col!r}", _line)
        _check_dates(dates, f"{name}: date column {date_col!r}", _line)
        table.index = dates
    table = _handle_missing(table, fill, name)
    if dates is not None:
        dates = pd.DatetimeIndex(table.index)
    if len(table) == 0:
        raise DataError(f"{name}: no data rows; the file needs a header and at least a few rows")
    if dates is not None:
        gaps = missing_dates(dates)
        if len(gaps):
            warn_user(missing_dates_note(name, gaps, infer_frequency(dates)))
    return SeriesData(
        table[target_cols].to_numpy(np.float64), table[feature_cols].to_numpy(np.float64),
        target_cols, feature_cols, dates, str(path),
    )


def _line(i: int) -> str:
    # data row i (0-based) sits on line i + 2 of the file: line 1 is the header
    return f"line {i + 2}"


def _read_frame(
    path: str | os.PathLike[str], delimiter: str | None, encoding: str = "utf-8"
) -> pd.DataFrame:
    text = read_text(path, encoding)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    name = Path(path).name
    if not text.strip():
        raise DataError(f"{name} is empty; give a CSV/TSV file with a header row")
    sep = delimiter or sniff_delimiter(text, name)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True, dtype=str,
                            keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, csv.Error) as err:
        raise DataError(f"{name}: cannot parse as CSV/TSV ({str(err).splitlines()[0]}); "
                        "check the delimiter") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _resolve(columns: list[str], key: str | int, name: str, option: str) -> str:
    """The column ``key`` names (a header name in any case, or a 0-based index, which may come
    as digits from the command line), by the rule of :func:`rnnkit.data.tables.column_index`."""
    if isinstance(key, str) and key not in columns and INTEGER.fullmatch(key.strip()):
        key = int(key)
    index = column_index(name, columns, len(columns), key, option)
    assert index is not None  # key is not None
    return columns[index]


def _numeric(column: pd.Series, col: str, name: str) -> pd.Series:
    raw = column.astype(str).str.strip()
    missing = raw.isin(["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"])
    values = pd.to_numeric(raw.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        shown = ", ".join(f"{_line(int(i))} ({raw.iloc[i]!r})" for i in rows[:3])
        more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
        raise DataError(f"{name}: column {col!r} has non-numeric values at {shown}{more}; "
                        "fix or remove them")
    return values.astype(np.float64)


def _as_dates(column: pd.Series, what: str, where: Any) -> pd.DatetimeIndex:
    import warnings

    raw = column.astype(str).str.strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        shown = ", ".join(f"{where(int(i))} ({raw.iloc[i]!r})" for i in bad[:3])
        raise DataError(f"{what} has values that are not dates at {shown}; "
                        "fix them or drop --date-column")
    return pd.DatetimeIndex(parsed)


def _check_dates(dates: pd.DatetimeIndex, what: str, where: Any) -> None:
    dup = np.flatnonzero(dates.duplicated())
    if dup.size:
        raise DataError(f"{what} repeats {dates[dup[0]].date()} ({where(int(dup[0]))}); "
                        "keep one row per date")
    steps = np.diff(dates.asi8)
    back = np.flatnonzero(steps < 0)
    if back.size:
        i = int(back[0]) + 1
        raise DataError(
            f"{what} is not sorted: {dates[i].date()} ({where(i)}) comes after "
            f"{dates[i - 1].date()}; sort the file by date"
        )


def _detect_date_column(frame: pd.DataFrame, exclude: set[str]) -> str | None:
    import warnings

    for col in frame.columns:
        if col in exclude:
            continue
        raw = frame[col].astype(str).str.strip()
        if raw.empty or pd.to_numeric(raw, errors="coerce").notna().mean() > 0.5:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
        if parsed.notna().all():
            return col
    return None


def _default_target(frame: pd.DataFrame, name: str, exclude: set[Any]) -> list[str]:
    numeric = [
        c
        for c in frame.columns
        if c not in exclude
        and pd.to_numeric(frame[c].astype(str).str.strip(), errors="coerce").notna().mean() > 0.5
    ]
    if len(numeric) == 1:
        return numeric
    raise DataError(
        f"{name}: cannot tell which column to forecast ({len(numeric)} numeric columns: "
        f"{', '.join(numeric) or 'none'}); pass --target COLUMN"
    )


def _handle_missing(table: pd.DataFrame, fill: str | None, name: str) -> pd.DataFrame:
    missing = table.isna()
    total = int(missing.to_numpy().sum())
    if total == 0:
        return table
    if fill is None:
        parts = []
        for col in table.columns:
            rows = np.flatnonzero(missing[col].to_numpy())
            if rows.size:
                lines = ", ".join(_line(int(i)).removeprefix("line ") for i in rows[:3])
                more = ", ..." if rows.size > 3 else ""
                parts.append(f"column {col}: {rows.size} at line{'s' if rows.size > 1 else ''} "
                             f"{lines}{more}")
        plural = "s" if total > 1 else ""
        raise DataError(
            f"{name}: {total} missing value{plural} ({'; '.join(parts)}); "
            "pass fill='interpolate', 'ffill' or 'drop' (CLI: --fill)"
        )
    if fill == "drop":
        return table.dropna()
    if fill == "ffill":
        return table.ffill().bfill()
    return (
        table.reset_index(drop=True)
        .interpolate(method="linear", limit_direction="both")
        .set_axis(table.index)
    )


def chronological_split(
    n: int,
    test_size: float = 0.33,
    validation_size: float = 0.0,
    test_start: Any = None,
    dates: pd.DatetimeIndex | None = None,
) -> tuple[int, int]:
    """Split points ``(train_end, test_start)``: train ``[0, train_end)``, validation
    ``[train_end, test_start)``, test ``[test_start, n)``.

    ``test_size`` is a fraction of all rows (the test part starts at ``int(n * (1 - test_size))``,
    the tutorials' ``int(len * 0.67)``) or a number of rows when >= 1; ``test_start`` a date (needs
    ``dates``) or a row index. ``validation_size`` is a fraction of the rows before the test part.

    Example:
        >>> chronological_split(144, 0.33)
        (96, 96)
        >>> chronological_split(100, 0.2, validation_size=0.25)
        (60, 80)
    """
    if test_start is not None:
        if isinstance(test_start, (int, np.integer)):
            start = int(test_start)
        else:
            if dates is None:
                raise ConfigError("test_start: a date needs a date column (--date-column)")
            try:
                when = pd.Timestamp(test_start)
            except (ValueError, TypeError):
                raise ConfigError(f"test_start: {test_start!r} is not a date") from None
            start = int(dates.searchsorted(when))
    elif test_size >= 1:
        start = n - int(test_size)
    elif 0 <= test_size < 1:
        start = int(n * (1 - test_size)) if test_size > 0 else n
    else:
        raise ConfigError("test_size: expected a fraction in [0, 1) or a row count, "
                          f"got {test_size}")
    if not 0 < start <= n:
        raise ConfigError(f"test split: the test part would start at row {start} of {n}; "
                          "choose a smaller test part")
    if not 0 <= validation_size < 1:
        raise ConfigError(f"validation_size: expected a fraction in [0, 1), got {validation_size}")
    train_end = start - int(round(start * validation_size))
    return train_end, start


__all__ = [
    "SeriesData",
    "read_series",
    "load_airline_passengers",
    "bundled_series_path",
    "chronological_split",
    "infer_frequency",
    "missing_dates",
    "FILL_METHODS",
    "BUNDLED_SERIES",
]
