"""Numeric sequences for classification: readers (NumPy, sktime ``.ts``, CSV, MNIST idx), a masked
per-feature scaler and a synthetic demo set.

Every reader returns a :class:`SequenceDataset`: a list of float32 arrays ``(T_i, F)`` (ragged
lengths allowed, one F), labels (ints when every label is an integer, else strings) or ``None``,
and the source. :func:`read_sequences` picks the reader from the format name or the file:

========  ==========================================================================================
format    file
========  ==========================================================================================
``npz``   ``np.savez`` archive with ``x`` ``(N, T, F)`` or ``(N, T)`` (univariate), optional ``y``
          ``(N,)`` and ``lengths`` ``(N,)`` (the real steps of right-padded ``x``). ``.npy``: ``x``
          alone, labels from ``labels=`` (another ``.npy``). Never unpickles: object arrays are
          refused (store ragged data padded, with ``lengths``).
``ts``    sktime / UEA ``.ts`` text: ``@`` header lines, then one case per line, dimensions
          separated by ``:``, values by ``,``, the class label last. Variable length and
          multivariate. Missing values ``?``: refused (``missing="error"``, the default) or
          ``missing="interpolate"`` (linear in time within each dimension, the nearest value at
          the ends; an all-missing dimension becomes 0).
``csv``   one sequence per row (delimiter sniffed; header auto-detected or ``header=``). The label
          column is given by name or 0-based index (default: the last); the other values, in order,
          are reshaped to ``(timesteps, features)`` row-major (``features`` defaults to 1). Rows may
          be ragged (trailing empty cells are dropped) when their value count is a multiple of F.
``idx``   MNIST-style idx files (gzip or plain): an images file ``(N, R, C)`` read as ``R`` steps of
          ``C`` features (``image_steps="rows"``) or ``R*C`` steps of 1 (``"pixels"``). Labels come
          from ``labels=`` or the file beside it: ``*-images-idx3-ubyte*`` ->
          ``*-labels-idx1-ubyte*``.
========  ==========================================================================================

Any file may be gzip/bzip2/xz-compressed (see :mod:`rnnkit.data.readers`); the format is taken
from the name (``.npz``, ``.npy``, ``.ts``, ``.csv``/``.tsv``/``.txt``, ``idx``) or else the
content. Malformed files raise :class:`rnnkit.errors.DataError` naming the file, the line and what
to do.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.ts"
    >>> _ = path.write_text("@problemName tiny\\n@classLabel true a b\\n@data\\n"
    ...                     "1,2,3:4,5,6:a\\n7,8:9,10:b\\n")
    >>> ds = read_sequences(path)
    >>> [s.shape for s in ds.sequences], ds.labels, ds.feature_size
    ([(3, 2), (2, 2)], ['a', 'b'], 2)
    >>> scaler = FeatureScaler().fit(ds.sequences)
    >>> scaler.mean_.tolist()
    [4.2, 6.8]
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.readers import decode, read_bytes, read_head, strip_compression_suffix
from rnnkit.data.scaling import Scaler
from rnnkit.data.tables import (
    Label,
    coerce_labels,
    column_index,
    parse_rows,
    sniff_delimiter,
    split_header,
    table_width,
)
from rnnkit.errors import DataError

FORMATS = ("npz", "npy", "ts", "csv", "idx")
MISSING_POLICIES = ("error", "interpolate")
IMAGE_STEPS = ("rows", "pixels")
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*|\s*[+-]?(nan|inf)\s*", re.I)


@dataclass
class SequenceDataset:
    """Feature sequences with optional labels.

    Attributes:
        sequences: one float32 array ``(T_i, F)`` per example (lengths may differ, F may not).
        labels: one label per example (ints or strings), or None for unlabelled data.
        source: where the data came from.
    """

    sequences: list[np.ndarray]
    labels: list[Label] | None
    source: str

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def feature_size(self) -> int:
        """F, the features per time step (0 for an empty dataset)."""
        return int(self.sequences[0].shape[1]) if self.sequences else 0

    @property
    def lengths(self) -> np.ndarray:
        """The number of time steps of each sequence, int64 ``(N,)``."""
        return np.array([len(s) for s in self.sequences], dtype=np.int64)

    @property
    def classes(self) -> list[Label]:
        """Sorted distinct labels (numeric order for ints); empty when unlabelled."""
        if self.labels is None:
            return []
        return sorted(set(self.labels), key=lambda v: (isinstance(v, str), v))


# ------------------------------------------------------------------------------ array helpers
def as_sequence_list(
    x: Any, lengths: Any = None, mask: Any = None, name: str = "X"
) -> list[np.ndarray]:
    """Sequences as a list of float arrays ``(T_i, F)``.

    ``x`` is a float array ``(N, T, F)`` (with ``lengths`` ``(N,)`` for right padding, or a boolean
    ``mask`` ``(N, T)``, True = real step, for right or left padding), or a list of ``(T_i, F)``
    arrays (``(T_i,)`` is read as one feature). Tensors are accepted. float64 stays float64.

    Example:
        >>> x = np.zeros((2, 4, 3)); [s.shape for s in as_sequence_list(x, lengths=[4, 1])]
        [(4, 3), (1, 3)]
    """
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray) and x.dtype != object:
        if x.ndim != 3:
            raise DataError(
                f"{name} has shape {x.shape}; give (N, T, F) sequences or a list of (T_i, F) "
                "arrays (for univariate series use x[..., None])"
            )
        seqs = list(x)
    else:
        if isinstance(x, (str, bytes)):
            raise DataError(f"{name}: expected sequences of numbers, got a string")
        seqs = [np.asarray(s.detach().cpu().numpy() if hasattr(s, "detach") else s) for s in x]
        seqs = [s[:, None] if s.ndim == 1 else s for s in seqs]
    if lengths is not None and mask is not None:
        raise DataError(f"{name}: give lengths or mask, not both")
    if lengths is not None:
        n = np.asarray(lengths.detach().cpu().numpy() if hasattr(lengths, "detach") else lengths)
        if n.shape != (len(seqs),) or n.dtype.kind not in "iu":
            raise DataError(
                f"lengths: expected {len(seqs)} integers, got shape {n.shape} {n.dtype}"
            )
        for i, (s, k) in enumerate(zip(seqs, n, strict=True)):
            if not 0 <= k <= len(s):
                raise DataError(f"lengths[{i}]={int(k)} is outside 0..{len(s)} (the padded length)")
        seqs = [s[: int(k)] for s, k in zip(seqs, n, strict=True)]
    if mask is not None:
        m = np.asarray(mask.detach().cpu().numpy() if hasattr(mask, "detach") else mask)
        if m.dtype != bool or m.shape[:1] != (len(seqs),):
            raise DataError(f"mask: expected booleans (N, T) for {len(seqs)} sequences, "
                            f"got {m.shape} {m.dtype}")
        seqs = [s[row[: len(s)]] for s, row in zip(seqs, m, strict=True)]
    widths = set()
    for i, s in enumerate(seqs):
        if s.ndim != 2:
            raise DataError(f"{name}[{i}] has shape {s.shape}; each sequence must be (T_i, F)")
        if s.dtype.kind not in "fiub":
            raise DataError(f"{name}[{i}] has dtype {s.dtype}; sequences must hold numbers")
        widths.add(s.shape[1])
    if len(widths) > 1:
        raise DataError(f"{name}: sequences have different feature sizes {sorted(widths)}; "
                        "use one F")
    dtype = np.float64 if seqs and all(s.dtype == np.float64 for s in seqs) else np.float32
    out = [s.astype(dtype, copy=False) for s in seqs]
    for i, s in enumerate(out):
        if not np.isfinite(s).all():
            raise DataError(
                f"{name}[{i}] holds NaN or infinite values; fill or drop them first "
                "(missing='interpolate' when reading .ts files)"
            )
    return out


class FeatureScaler(Scaler):
    """The scaler (:class:`rnnkit.data.scaling.Scaler`) fitted on real time steps only (padding
    never counts), for variable-length sequences.

    Modes: ``"feature"`` (default; per feature, the standard deviation floored at a tenth of the
    range, see :mod:`rnnkit.data.scaling`), ``"global"`` (one mean and scale for all features) or
    ``"none"``. ``fit`` takes a list of ``(T_i, F)`` arrays (or ``(N, T, F)`` with
    ``lengths``/``mask``, see :func:`as_sequence_list`). ``transform`` returns float32 arrays.
    ``to_dict``/``from_dict`` give plain JSON (``from_dict`` reads both spellings of scaler.json).

    Example:
        >>> s = FeatureScaler().fit([np.array([[1.0], [3.0]]), np.array([[5.0]])])
        >>> s.mean_.tolist(), s.scale_.round(4).tolist(), s.transform(
        ...     [np.array([[3.0]])])[0].tolist()
        ([3.0], [1.633], [[0.0]])
    """

    KINDS = MODES = ("feature", "global", "none")

    def __init__(self, mode: str = "feature") -> None:
        super().__init__(mode)

    def _unknown_kind(self, kind: str) -> Exception:
        return DataError(f"standardize={kind!r} is unknown; use one of {', '.join(self.MODES)}")

    def _not_fitted(self) -> Exception:
        return DataError("FeatureScaler is not fitted; call fit() first")

    @property
    def mode(self) -> str:
        return self.kind

    @property
    def mean_(self) -> np.ndarray | None:
        return self.shift

    @property
    def scale_(self) -> np.ndarray | None:
        return self.scale

    @property
    def feature_size(self) -> int:
        return len(self.fitted()[0])

    def fit(self, sequences: Any, lengths: Any = None, mask: Any = None) -> FeatureScaler:  # type: ignore[override]
        """Fit on the time steps of ``sequences`` (list of ``(T_i, F)``, or padded with lengths)."""
        seqs = as_sequence_list(sequences, lengths, mask)
        if not seqs or not sum(len(s) for s in seqs):
            raise DataError("cannot fit the scaler: the sequences hold no time steps")
        super().fit(np.concatenate([s.astype(np.float64) for s in seqs]))
        return self

    def transform(self, sequences: Any, lengths: Any = None, mask: Any = None) -> list[np.ndarray]:  # type: ignore[override]
        """The sequences scaled, each ``(T_i, F)`` float32."""
        seqs = as_sequence_list(sequences, lengths, mask)
        shift, scale = (a.astype(np.float32) for a in self.fitted())
        out = []
        for i, s in enumerate(seqs):
            if s.shape[1] != len(shift):
                raise DataError(
                    f"sequence {i} has {s.shape[1]} features but the model was trained on "
                    f"{len(shift)}; give data shaped like the training data"
                )
            out.append((s.astype(np.float32, copy=False) - shift) / scale)
        return out


# ------------------------------------------------------------------------------ dispatch
def detect_format(path: str | os.PathLike[str]) -> str:
    """``npz``, ``npy``, ``ts``, ``csv`` or ``idx`` from the file name, else from the content."""
    path = Path(path)
    name = strip_compression_suffix(path.name).lower()
    for suffix, fmt in ((".npz", "npz"), (".npy", "npy"), (".ts", "ts"), (".csv", "csv"),
                        (".tsv", "csv"), (".txt", "csv")):
        if name.endswith(suffix):
            return fmt
    if "idx" in name and "ubyte" in name:
        return "idx"
    head = read_head(path, 64)
    if head.startswith(b"PK"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head[:2] == b"\x00\x00" and len(head) >= 4 and head[2] in _IDX_TYPES:
        return "idx"
    if head.lstrip().startswith((b"#", b"@")):
        return "ts"
    return "csv"


def read_sequences(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    labels: str | os.PathLike[str] | None = None,
    label_column: str | int | None = None,
    header: bool | None = None,
    timesteps: int | None = None,
    features: int | None = None,
    missing: str = "error",
    image_steps: str = "rows",
    has_labels: bool = True,
    encoding: str = "utf-8",
) -> SequenceDataset:
    """Read one file of sequences in any supported format (see the module docstring).

    ``has_labels=False`` reads unlabelled data (CSV: every column is a value; other formats
    ignore their labels). ``labels`` is the labels file of ``.npy`` or idx input. ``encoding``
    is the text encoding of a ``.ts`` or CSV file, e.g. ``"latin-1"`` (a UTF-8 BOM and UTF-16
    are detected); the binary formats ignore it.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist; check the path")
    fmt = (format or detect_format(path)).lower()
    if fmt not in FORMATS:
        raise DataError(f"format={format!r} is unknown; use one of {', '.join(FORMATS)}")
    if fmt in ("npz", "npy"):
        ds = read_npz(path, labels=labels if has_labels else None)
    elif fmt == "ts":
        ds = read_ts(path, missing=missing, encoding=encoding)
    elif fmt == "csv":
        return read_csv_sequences(path, label_column=label_column, header=header,
                                  timesteps=timesteps, features=features, has_labels=has_labels,
                                  encoding=encoding)
    else:
        ds = read_idx(path, labels=labels, image_steps=image_steps, has_labels=has_labels)
    if not has_labels:
        ds.labels = None
    return ds


# ------------------------------------------------------------------------------ NumPy
def read_npz(
    path: str | os.PathLike[str], labels: str | os.PathLike[str] | None = None
) -> SequenceDataset:
    """``.npz`` with ``x``, optional ``y`` and ``lengths``; or ``.npy`` holding ``x`` alone.

    ``labels``: a ``.npy`` of labels (or an ``.npz`` with ``y``), used instead of the file's ``y``.
    """
    path = Path(path)
    arrays = _load_arrays(path)
    if "x" not in arrays:
        raise DataError(
            f"{path} has no array 'x' (found: {', '.join(sorted(arrays)) or 'none'}); save with "
            "np.savez(path, x=..., y=..., lengths=...)"
        )
    x = arrays["x"]
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.dtype.kind not in "fiub":
        raise DataError(f"{path}: x has shape {x.shape} and dtype {x.dtype}; "
                        "expected numbers (N, T, F)")
    try:
        seqs = as_sequence_list(x.astype(np.float32), arrays.get("lengths"), name="x")
    except DataError as err:
        raise DataError(f"{path}: {err}") from None
    y = arrays.get("y")
    if labels is not None:
        extra = _load_arrays(Path(labels))
        y = extra.get("y", extra.get("x"))
    label_list = None
    if y is not None:
        y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
        if y.shape != (len(seqs),):
            raise DataError(
                f"{path}: labels have shape {y.shape} but x has {len(seqs)} sequences; "
                "give one label each"
            )
        label_list = labels_of(y)
    return SequenceDataset(seqs, label_list, str(path))


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a ``.npy`` (as ``x``) or ``.npz`` file, keys lower-cased; never unpickles."""
    refused = (
        f"{path} holds object arrays, which are not read (no unpickling); store x padded "
        "(N, T, F) as floats with a lengths array"
    )
    try:
        loaded = np.load(io.BytesIO(read_bytes(path)), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"x": loaded}
        return {k.lower(): loaded[k] for k in loaded.files}
    except ValueError as err:
        if "pickle" in str(err):
            raise DataError(refused) from None
        raise DataError(
            f"{path} is not a readable NumPy file ({err}); re-save it with np.savez"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(
            f"{path} is not a readable NumPy file ({err}); re-save it with np.savez"
        ) from None


def _int_floats(y: np.ndarray) -> np.ndarray:
    """Float labels that are whole numbers (1.0) as ints, so they read as class 1."""
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    return y


# ------------------------------------------------------------------------------ sktime .ts
def read_ts(
    path: str | os.PathLike[str], missing: str = "error", encoding: str = "utf-8"
) -> SequenceDataset:
    """sktime / UEA ``.ts`` classification file (see the module docstring for ``missing``), read
    as ``encoding`` text."""
    path = Path(path)
    if missing not in MISSING_POLICIES:
        raise DataError(f"missing={missing!r} is unknown; use one of {', '.join(MISSING_POLICIES)}")
    text = decode(read_bytes(path), str(path), encoding)
    meta: dict[str, str] = {}
    seqs: list[np.ndarray] = []
    raw_labels: list[str] = []
    in_data = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not in_data):
            continue
        if not in_data:
            if not stripped.startswith("@"):
                raise DataError(
                    f"{path} line {number}: expected an @tag or @data before the values; "
                    "is this a sktime .ts file?"
                )
            key, _, value = stripped[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
                _check_ts_header(path, meta)
            else:
                meta[key] = value.strip()
            continue
        seq, label = _parse_ts_case(path, number, stripped, meta, missing)
        seqs.append(seq)
        if label is not None:
            raw_labels.append(label)
    if not in_data:
        raise DataError(f"{path} has no @data line; a .ts file lists its cases after @data")
    if not seqs:
        raise DataError(f"{path} has no cases after @data; add at least one line of values")
    widths = {s.shape[1] for s in seqs}
    if len(widths) > 1:
        raise DataError(f"{path}: cases have different numbers of dimensions {sorted(widths)}")
    labelled = meta.get("classlabel", "false").split()[:1] == ["true"]
    labels = coerce_labels(raw_labels) if labelled else None
    if labelled:
        declared = meta["classlabel"].split()[1:]
        if declared:
            allowed = set(coerce_labels(declared))
            unknown = sorted({str(y) for y in labels or [] if y not in allowed})
            if unknown:
                raise DataError(
                    f"{path}: labels {', '.join(unknown)} are not declared in @classLabel "
                    f"({' '.join(declared)}); fix the header or the labels"
                )
    return SequenceDataset(seqs, labels, str(path))


def _check_ts_header(path: Path, meta: dict[str, str]) -> None:
    if meta.get("timestamps", "false").lower() == "true":
        raise DataError(f"{path} uses @timeStamps true, which is not supported; "
                        "export it without timestamps")
    if "targetlabel" in meta and meta["targetlabel"].split()[:1] == ["true"]:
        raise DataError(f"{path} is a regression file (@targetLabel); rnnkit seq classifies, "
                        "it needs @classLabel")


def _parse_ts_case(
    path: Path, number: int, line: str, meta: dict[str, str], missing: str
) -> tuple[np.ndarray, str | None]:
    fields = line.split(":")
    labelled = meta.get("classlabel", "false").split()[:1] == ["true"]
    label = fields.pop().strip() if labelled else None
    if labelled and not fields:
        raise DataError(f"{path} line {number} has a label but no values")
    if label is not None and not label:
        raise DataError(f"{path} line {number} has an empty class label (after the last ':')")
    expected = meta.get("dimensions")
    if expected is not None and expected.isdigit() and len(fields) != int(expected):
        raise DataError(
            f"{path} line {number} has {len(fields)} dimension(s) but @dimensions says {expected}"
            + ("; is the class label missing?" if labelled else "")
        )
    dims = []
    for d, field in enumerate(fields):
        values = []
        for cell in field.split(","):
            cell = cell.strip()
            if cell == "?" or cell.lower() == "nan":
                if missing == "error":
                    raise DataError(
                        f"{path} line {number} dimension {d} has a missing value '?'; pass "
                        "missing='interpolate' (CLI: --missing interpolate) to fill it, "
                        "or clean the file"
                    )
                values.append(math.nan)
                continue
            if not _NUMBER.fullmatch(cell):
                raise DataError(f"{path} line {number} dimension {d}: {cell!r} is not a number")
            values.append(float(cell))
        dims.append(values)
    sizes = {len(v) for v in dims}
    if len(sizes) != 1:
        raise DataError(
            f"{path} line {number}: dimensions have different lengths {sorted(sizes)}; "
            "every dimension of a case needs the same number of time steps"
        )
    seq = np.array(dims, dtype=np.float64).T
    if missing == "interpolate":
        seq = _interpolate(seq)
    return seq.astype(np.float32), label


def _interpolate(seq: np.ndarray) -> np.ndarray:
    """Fill NaN linearly in time per feature, nearest value at the ends, 0 when all are NaN."""
    out = seq.copy()
    steps = np.arange(len(seq))
    for j in range(seq.shape[1]):
        col = out[:, j]
        known = ~np.isnan(col)
        if known.all():
            continue
        col[~known] = np.interp(steps[~known], steps[known], col[known]) if known.any() else 0.0
    return out


# ------------------------------------------------------------------------------ CSV
def read_csv_sequences(
    path: str | os.PathLike[str],
    *,
    label_column: str | int | None = None,
    header: bool | None = None,
    timesteps: int | None = None,
    features: int | None = None,
    has_labels: bool = True,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> SequenceDataset:
    """One sequence per row; see the module docstring for columns, header and reshaping.
    ``encoding`` is the file's text encoding (e.g. ``"latin-1"``)."""
    path = Path(path)
    for arg, value in (("timesteps", timesteps), ("features", features)):
        if value is not None and value < 1:
            raise DataError(f"{arg}={value} must be a positive integer")
    text = decode(read_bytes(path), str(path), encoding)
    if not text.strip():
        raise DataError(f"{path} is empty; give one sequence per row")
    delimiter = delimiter or sniff_delimiter(text, path.name)
    rows, lines = parse_rows(text, delimiter, path)
    if header is None:
        header = _numeric_header(rows) or isinstance(label_column, str)
    names, body = split_header(rows, header, path)
    body_lines = lines[1:] if header else lines
    width = table_width(names, body)
    label_index = None
    if has_labels:
        label_index = column_index(path, names, width, label_column, "label_column")
        label_index = width - 1 if label_index is None else label_index
        if width < 2:
            raise DataError(f"{path} has a single column: no values besides the label; "
                            "check the delimiter")
    seqs: list[np.ndarray] = []
    raw_labels: list[str] = []
    # Counted from the end, the label is at the same place in every row, even in ragged ones.
    from_end = label_column is None or (isinstance(label_column, int) and label_column < 0)
    for row, line in zip(body, body_lines, strict=True):
        cells = list(row)
        while cells and not cells[-1].strip():
            cells.pop()  # ragged rows padded with empty cells
        if label_index is not None:
            at = len(cells) + int(label_column or -1) if from_end else label_index
            if not 0 <= at < len(cells) or not cells[at].strip():
                raise DataError(
                    f"{path} line {line} has no label in column "
                    f"{label_column if from_end else at}; fill it in or remove the row"
                )
            raw_labels.append(cells.pop(at))
            while cells and not cells[-1].strip():
                cells.pop()
        try:
            values = np.array(cells, dtype=np.float64)
        except ValueError:
            bad = next(c for c in cells if not _NUMBER.fullmatch(c) or not c.strip())
            raise DataError(
                f"{path} line {line}: {bad!r} is not a number; every column except the label "
                "must be numeric (is the label column right? --label-column)"
            ) from None
        seqs.append(_reshape_row(path, line, values, timesteps, features))
    for i, s in enumerate(seqs):
        if not np.isfinite(s).all():
            raise DataError(f"{path} line {body_lines[i]} has NaN or infinite values; "
                            "fill them first")
    labels = coerce_labels(raw_labels) if label_index is not None else None
    return SequenceDataset(seqs, labels, str(path))


def _numeric_header(rows: list[list[str]]) -> bool:
    """A header when some first-row cell is not a number while its column below is numeric."""
    first = rows[0]
    rest = rows[1:51]
    if not rest:
        return not all(_NUMBER.fullmatch(c) for c in first if c.strip())
    for j, cell in enumerate(first):
        if _NUMBER.fullmatch(cell) or not cell.strip():
            continue
        column = [r[j] for r in rest if len(r) > j and r[j].strip()]
        if column and all(_NUMBER.fullmatch(v) for v in column):
            return True
    return False


def _reshape_row(path: Path, line: int, values: np.ndarray, timesteps: int | None,
                 features: int | None) -> np.ndarray:
    n = len(values)
    if timesteps is not None and features is not None:
        if n != timesteps * features:
            raise DataError(
                f"{path} line {line} has {n} values, not timesteps*features = "
                f"{timesteps}*{features} = {timesteps * features}; check --timesteps/--features "
                "and the label column"
            )
        return values.reshape(timesteps, features).astype(np.float32)
    if features is None and timesteps is not None:
        if n % timesteps:
            raise DataError(f"{path} line {line} has {n} values, "
                            f"not a multiple of timesteps={timesteps}")
        features = n // timesteps
    features = features or 1
    if n % features:
        raise DataError(
            f"{path} line {line} has {n} values, not a multiple of features={features}; "
            "check --features and the label column (a file with labels needs --label-column)"
        )
    return values.reshape(n // features, features).astype(np.float32)


# ------------------------------------------------------------------------------ MNIST idx
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx_array(path: str | os.PathLike[str]) -> np.ndarray:
    """The array of one idx file (``magic 00 00 type ndim``, big-endian sizes, then the data)."""
    path = Path(path)
    data = read_bytes(path)
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_TYPES:
        raise DataError(
            f"{path} is not an idx file (magic bytes {data[:4].hex() or 'missing'}); "
            "expected MNIST-style files such as t10k-images-idx3-ubyte.gz"
        )
    ndim = data[3]
    head = 4 + 4 * ndim
    if ndim == 0 or len(data) < head:
        raise DataError(
            f"{path}: idx header is truncated ({len(data)} bytes); re-download the file"
        )
    shape = struct.unpack(f">{ndim}I", data[4:head])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    need = int(np.prod(shape)) * dtype.itemsize
    if len(data) - head < need:
        raise DataError(
            f"{path}: idx header promises shape {shape} ({need} bytes of data) but the file holds "
            f"{len(data) - head}; the file is truncated, re-download it"
        )
    return np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=head).reshape(shape)


def idx_labels_path(images: str | os.PathLike[str]) -> Path | None:
    """The labels file beside an images file (``*-images-idx3-ubyte*`` -> ``*-labels-idx1-ubyte*``).
    """
    images = Path(images)
    match = re.match(r"(.*)-images([-.])idx3-ubyte(.*)$", images.name)
    if not match:
        return None
    prefix, sep, _ = match.groups()
    candidates = sorted(images.parent.glob(f"{glob_escape(prefix)}-labels{sep}idx1-ubyte*"))
    return (
        candidates[0]
        if candidates
        else images.parent / f"{prefix}-labels{sep}idx1-ubyte{match.group(3)}"
    )


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def read_idx(
    images: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None = None,
    image_steps: str = "rows",
    has_labels: bool = True,
) -> SequenceDataset:
    """MNIST-style images as sequences: each row a step (``rows``) or each pixel (``pixels``)."""
    images = Path(images)
    if image_steps not in IMAGE_STEPS:
        raise DataError(f"image_steps={image_steps!r} is unknown; use 'rows' or 'pixels'")
    x = read_idx_array(images)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise DataError(f"{images}: idx array has shape {x.shape}; "
                        "expected images (N, rows, columns)")
    x = x.astype(np.float32)
    if image_steps == "pixels":
        x = x.reshape(len(x), -1, 1)
    label_list: list[Label] | None = None
    if has_labels:
        label_path = Path(labels) if labels is not None else idx_labels_path(images)
        if label_path is None or not label_path.exists():
            where = f" (looked for {label_path})" if label_path is not None else ""
            raise DataError(
                f"{images}: no labels file found{where}; pass --labels (labels=) with the "
                "*-labels-idx1-ubyte file"
            )
        y = read_idx_array(label_path)
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(
                f"{label_path} holds {y.shape} labels for {len(x)} images in {images}; "
                "pair the images with their own labels file"
            )
        label_list = [int(v) for v in y]
    return SequenceDataset(list(x), label_list, str(images))


# ------------------------------------------------------------------------------ synthetic demo
WAVEFORMS = ("sine", "square", "sawtooth", "pulse")


def make_waveforms(n: int = 800, seed: int = 0, noise: float = 0.15) -> SequenceDataset:
    """A synthetic demo: noisy periodic signals of four shapes, variable length, 2 features.

    Each sequence has 20-60 steps; feature 0 is the waveform (random period, phase and amplitude,
    plus Gaussian noise), feature 1 pure noise. Labels: ``sine``, ``square``, ``sawtooth``,
    ``pulse`` (balanced). Telling them apart needs the shape over time, not the value spread.

    Example:
        >>> ds = make_waveforms(8, seed=1)
        >>> len(ds), ds.feature_size, sorted(set(ds.labels)) == sorted(WAVEFORMS)
        (8, 2, True)
    """
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        kind = WAVEFORMS[i % len(WAVEFORMS)]
        steps = int(rng.integers(20, 61))
        period = rng.uniform(6, 12)
        phase = (np.arange(steps) / period + rng.uniform(0, 1)) % 1.0
        wave = {
            "sine": np.sin(2 * np.pi * phase),
            "square": np.where(phase < 0.5, 1.0, -1.0),
            "sawtooth": 2 * phase - 1,
            "pulse": np.where(phase < 0.2, 1.5, -0.4),
        }[kind]
        signal = rng.uniform(1.0, 2.0) * wave + noise * rng.standard_normal(steps)
        seqs.append(np.stack([signal, rng.standard_normal(steps)], axis=1).astype(np.float32))
        labels.append(kind)
    return SequenceDataset(seqs, list(labels), f"make_waveforms(n={n}, seed={seed})")


def labels_of(values: Sequence[Any] | np.ndarray) -> list[Label]:
    """Plain Python labels (ints when all are integers) from any sequence of label values."""
    return coerce_labels(
        [str(v.item() if hasattr(v, "item") else v) for v in _int_floats(np.asarray(values))]
    )


__all__ = [
    "SequenceDataset",
    "FeatureScaler",
    "as_sequence_list",
    "read_sequences",
    "detect_format",
    "read_npz",
    "read_ts",
    "read_csv_sequences",
    "read_idx",
    "read_idx_array",
    "idx_labels_path",
    "make_waveforms",
    "WAVEFORMS",
    "FORMATS",
]
