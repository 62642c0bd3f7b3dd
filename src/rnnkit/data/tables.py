"""One reader for delimited tables: delimiter, quoting, header, columns and labels, decided once.

Every reader of rnnkit that takes CSV/TSV text (labelled texts in memory and streamed, sequences,
sentence pairs, series) asks this module; files are opened by :mod:`rnnkit.data.readers`.

- **Delimiter** (:func:`sniff_delimiter`): tab, comma, semicolon or pipe, the one that splits the
  first rows most evenly (the file extension breaks ties).
- **Quoting** (:func:`iter_rows`, :func:`choose_quoting`): RFC 4180, strict. A quote that is never
  closed, or text after a closing quote, is a one-line :class:`QuoteError` naming the line where
  it opens, except in TSV, where quotes are commonly plain characters: such a TSV is read with
  quotes as text.
- **Header** (:func:`detect_header`): the first row is a header when its cells look like column
  names, or when it breaks a column's pattern that all other rows follow.
- **Columns** (:func:`column_index`, :func:`resolve_columns`): by name (needs a header) or 0-based
  index (negative counts from the end); otherwise by well-known names, then by shape.
- **Labels** (:func:`coerce_labels`): ints when every label is an integer, otherwise strings.

:func:`detect_layout` decides all of this from the first :data:`SAMPLE_CHARS` characters of an
open file (JSON Lines too: its keys are the columns), and :func:`read_rows` reads the examples by
that decision, so the in-memory reader
(:func:`rnnkit.data.sources.read_table`) and the streaming one
(:class:`rnnkit.data.text_shards.TextShards`) give the same texts and labels for the same file.

Example:
    >>> sample = 'review;stars\\r\\n"Great; really";1\\r\\nDull;0\\r\\n'
    >>> layout = detect_layout(io.StringIO(sample, newline=""), "reviews.csv", TableOptions())
    >>> layout.delimiter, layout.header, layout.names, layout.text_index, layout.label_index
    (';', True, ('review', 'stars'), 0, 1)
    >>> list(read_rows(io.StringIO(sample, newline=""), layout, "reviews.csv"))
    [('Great; really', '1', 2), ('Dull', '0', 3)]
    >>> coerce_labels([" 1", "-2"]), coerce_labels(["1", "1-2"]), sorted_classes([2, 1, 2])
    ([1, -2], ['1', '1-2'], [1, 2])
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from rnnkit.data.readers import strip_compression_suffix
from rnnkit.errors import DataError

Label = str | int
Column = str | int | None

# Header names recognised as the text / label column, in priority order (case-insensitive).
TEXT_NAMES = ("text", "sentence", "review", "content", "document", "comment", "body", "tweet",
              "message", "utterance", "question", "title")  # fmt: skip
LABEL_NAMES = ("label", "labels", "sentiment", "class", "category", "score", "target", "polarity",
               "y", "rating", "stars", "topic")  # fmt: skip
OTHER_HEADER_NAMES = ("id", "idx", "index", "name", "date", "source", "split", "url", "lang")
HEADER_NAMES = frozenset(TEXT_NAMES + LABEL_NAMES + OTHER_HEADER_NAMES)
DELIMITERS = ("\t", ",", ";", "|")
SAMPLE_CHARS = 1 << 18  # what layout decisions read: the same for a whole file and a stream
ROWS_FOR_DECISIONS = 1000  # rows that header detection and column shapes look at
_SNIFF_CHARS = 1 << 16
INTEGER = re.compile(r"[+-]?\d+")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


# ------------------------------------------------------------------------------------ labels
def coerce_labels(raw: Sequence[str]) -> list[Label]:
    """Ints when every label is an integer string, otherwise the stripped strings.

    The one rule for labels read from files, in memory and streamed: ``"1-2"`` stays a string,
    and one non-integer label keeps all labels strings (``["1", "pos"]`` -> ``["1", "pos"]``).
    """
    stripped = [r.strip() for r in raw]
    if stripped and all(INTEGER.fullmatch(s) for s in stripped):
        return [int(s) for s in stripped]
    return list(stripped)


def label_sort_key(label: Label) -> tuple[int, Any]:
    """Ints first in numeric order, then strings: a total order for mixed labels."""
    return (0, label) if isinstance(label, int) else (1, str(label))


def sorted_classes(labels: Iterable[Label]) -> list[Label]:
    """The distinct labels, sorted (numerically for ints)."""
    return sorted(set(labels), key=label_sort_key)


def label_classes(raw: Iterable[str]) -> tuple[list[Label], dict[str, int]]:
    """The classes of raw label texts (coerced, sorted) and each raw text's class id.

    Example:
        >>> label_classes(["10", "9", "+9"])
        ([9, 10], {'10': 1, '9': 0, '+9': 0})
    """
    texts = list(dict.fromkeys(raw))
    labels = coerce_labels(texts)
    classes = sorted_classes(labels)
    index = {label: i for i, label in enumerate(classes)}
    return classes, {text: index[label] for text, label in zip(texts, labels, strict=True)}


# ------------------------------------------------------------------------------------ delimiter
def sniff_delimiter(text: str, name: str = "") -> str:
    """The delimiter among tab, comma, semicolon and pipe that splits the first rows most evenly.

    A candidate scores by the share of rows with its most common field count (which must be >= 2);
    ties go to the one the file extension suggests, then to the order tab, comma, semicolon, pipe.
    A file where none splits (one column) gets a comma.

    Example:
        >>> sniff_delimiter("a|b\\n1|2\\n"), sniff_delimiter("one column\\n"), sniff_delimiter(
        ...     "a\\tb", "x.tsv")
        ('|', ',', '\\t')
    """
    allow_long_fields()
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > _SNIFF_CHARS
    ext = strip_compression_suffix(name).lower().rsplit(".", 1)[-1]
    preferred = {"tsv": "\t", "tab": "\t", "csv": ",", "psv": "|"}.get(ext)
    best: tuple[float, int, int] | None = None
    choice = ","
    for order, delim in enumerate(DELIMITERS):
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delim) if r]
        except csv.Error:
            continue
        if truncated and len(rows) > 1:
            rows = rows[:-1]
        counts = Counter(len(r) for r in rows[:200])
        if not counts:
            continue
        width, hits = counts.most_common(1)[0]
        if width < 2:
            continue
        score = (hits / sum(counts.values()), int(delim == preferred), -order)
        if best is None or score > best:
            best, choice = score, delim
    return choice


# ------------------------------------------------------------------------------------ rows
class QuoteError(DataError):
    """A quote that RFC 4180 cannot parse (the message names the line where its field starts)."""


def iter_rows(
    lines: Iterable[str], delimiter: str, quoting: Any, source: str | os.PathLike[str]
) -> Iterator[tuple[list[str], int]]:
    """The non-blank rows of delimited text (lines with their endings) and the line each ends on.

    With ``csv.QUOTE_MINIMAL`` quoting is strict RFC 4180: a quote that is never closed, or text
    after a closing quote, is a one-line QuoteError naming the line where that field starts.
    """
    allow_long_fields()
    reader = csv.reader(
        lines, delimiter=delimiter, quoting=quoting, strict=quoting == csv.QUOTE_MINIMAL
    )
    previous_end = 0
    try:
        for row in reader:
            if row and any(row):
                yield row, reader.line_num
            previous_end = reader.line_num
    except csv.Error as err:
        raise QuoteError(_quote_message(source, previous_end + 1, reader.line_num, err)) from None


def parse_rows(
    text: str, delimiter: str, source: str | os.PathLike[str] = "the file"
) -> tuple[list[list[str]], list[int]]:
    """All non-blank rows of ``text`` and the line each ends on, quoted as :func:`choose_quoting`
    says.
    """
    rows: list[list[str]] = []
    lines: list[int] = []
    quoting = choose_quoting(text, delimiter)
    for row, line in iter_rows(io.StringIO(text, newline=""), delimiter, quoting, source):
        rows.append(row)
        lines.append(line)
    return rows, lines


def choose_quoting(sample: str, delimiter: str, truncated: bool = False) -> Any:
    """RFC 4180 quoting, except for a TSV whose quotes are plain characters.

    A TSV is read with quotes as text when strict quoting fails on ``sample`` or makes a quoted
    field swallow a tab and a line break (a stray quote). In other files a bad quote is an error
    naming its line. ``truncated``: ``sample`` is the start of a longer text (its cut line is left
    out).
    """
    if delimiter != "\t":
        return csv.QUOTE_MINIMAL
    if truncated and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    try:
        rows = [
            row
            for row, _ in iter_rows(
                io.StringIO(sample, newline=""), delimiter, csv.QUOTE_MINIMAL, ""
            )
        ]
    except QuoteError:
        return csv.QUOTE_NONE
    swallowed = any("\n" in cell and "\t" in cell for row in rows for cell in row)
    return csv.QUOTE_NONE if swallowed else csv.QUOTE_MINIMAL


def sample_rows(
    sample: str, delimiter: str, quoting: Any, truncated: bool, source: str | os.PathLike[str]
) -> list[list[str]]:
    """The rows of a file's first characters; strict (errors name their line) unless ``truncated``,
    where the last row, perhaps cut, is dropped and a quote cut by the end is not an error."""
    if not truncated:
        return [
            row for row, _ in iter_rows(io.StringIO(sample, newline=""), delimiter, quoting, source)
        ]
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quoting=quoting)
    rows: list[list[str]] = []
    try:
        rows.extend(row for row in reader if row and any(row))
    except csv.Error:
        pass  # a quoted field cut by the end of the sample
    return rows[:-1] if len(rows) > 1 else rows


def _quote_message(source: str | os.PathLike[str], start: int, end: int, err: csv.Error) -> str:
    """Why RFC 4180 parsing failed, told from the line where the failing field's row starts."""
    fix = 'close it, write a quote inside a quoted field as two ("") or remove the stray quote'
    if "end of data" in str(err):
        return f"{source} line {start}: a quote opened here is never closed; {fix}"
    if "expected after" in str(err) and end > start:
        return (
            f"{source} line {start}: a quote opened here is not closed properly (the quoted "
            f"field runs on to line {end} and breaks off there); {fix}"
        )
    if "expected after" in str(err):
        return f"{source} line {end}: text follows a closing quote ({err}); {fix}"
    return f"{source} line {end}: {err}; check the file's quoting and delimiter"


def allow_long_fields() -> None:
    """Lift the csv module's field limit (128 KiB would reject a long document); process-wide."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


# ------------------------------------------------------------------------------------ header
def is_column_name(cell: str) -> bool:
    """Whether ``cell`` reads as a column name rather than a text: at most three words, joined by
    ``_`` or camel case or each capitalized, one of them a known name (:data:`HEADER_NAMES`,
    plural allowed).

    Example:
        >>> [is_column_name(c) for c in ("Tweet Text", "review_text", "reviews", "great review")]
        [True, True, True, False]
    """
    cell = cell.strip()
    if len(cell) > 40 or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?:[ _.-][A-Za-z0-9]+){0,2}", cell):
        return False
    if " " in cell and not all(word[:1].isupper() for word in cell.split()):
        return False  # "great review" is a text; "Tweet Text" is a name
    words = [w.lower() for w in re.split(r"[ _.-]+|(?<=[a-z])(?=[A-Z])", cell) if w]
    return any(w in HEADER_NAMES or w.removesuffix("s") in HEADER_NAMES for w in words)


def detect_header(rows: list[list[str]]) -> bool:
    """Guess whether the first row is a header (see the module docstring).

    Example:
        >>> detect_header([["label", "x"], ["1", "a"]]), detect_header([["a b", "1"], ["c", "0"]])
        (True, False)
    """
    first = [c.strip() for c in rows[0]]
    if not any(first):
        return False
    lowered = [c.lower() for c in first]
    if all(c and len(c) <= 40 and not NUMBER.fullmatch(c) for c in lowered) and any(
        c in HEADER_NAMES for c in lowered
    ):
        return True
    rest = rows[1 : ROWS_FOR_DECISIONS + 1]
    if not rest:
        return False
    if len(first) == 1 and is_column_name(first[0]):
        return True  # one column: no other column's pattern to see the header by
    for j, cell in enumerate(first):
        column = [r[j].strip() for r in rest if len(r) > j]
        if len(column) < len(rest) * 0.9 or not column:
            continue
        if not NUMBER.fullmatch(cell) and all(NUMBER.fullmatch(v) for v in column):
            return True
        distinct = set(column)
        if len(column) >= 4 and len(distinct) <= max(2, min(20, len(column) // 4)):
            if cell not in distinct:
                return True
    return False


def split_header(
    rows: list[list[str]], header: bool, source: str | os.PathLike[str]
) -> tuple[list[str] | None, list[list[str]]]:
    """The header names (stripped; None without a header) and the data rows below them."""
    names = [c.strip() for c in rows[0]] if header else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{source} has a header but no data rows; add rows below the header")
    return names, body


def table_width(names: list[str] | None, body: list[list[str]]) -> int:
    """The number of columns: the header's, or the widest of the first data rows."""
    return max([len(names or [])] + [len(r) for r in body[:ROWS_FOR_DECISIONS]])


# ------------------------------------------------------------------------------------ columns
def column_index(
    source: str | os.PathLike[str], names: Sequence[str] | None, width: int, column: Column,
    arg: str
) -> int | None:
    """The 0-based index of ``column`` (a header name, any case, or an index; negative counts
    from the end); None when ``column`` is None. Errors name ``arg`` and list the columns.

    Example:
        >>> column_index("f.csv", ["text", "Label"], 2, "label", "label_column"), column_index(
        ...     "f.csv", None, 3, -1, "c")
        (1, 2)
    """
    if column is None:
        return None
    if isinstance(column, bool):
        raise DataError(f"{arg}={column!r} is not a column; give a name or a 0-based index")
    if isinstance(column, int):
        index = column + width if column < 0 else column
        if not 0 <= index < width:
            raise DataError(
                f"{arg}={column} is out of range: {source} has {width} column(s) "
                f"(indices 0..{width - 1}); pick an index in that range"
            )
        return index
    if names is None:
        raise DataError(
            f"{arg}={column!r} is a name but {source} has no header row; "
            "pass a 0-based index or header=True"
        )
    if column in names:
        return list(names).index(column)
    lowered = [n.lower() for n in names]
    if column.lower() in lowered:
        return lowered.index(column.lower())
    raise DataError(
        f"{arg}={column!r} is not a column of {source}; available columns: {', '.join(names)}"
    )


def resolve_columns(
    source: str | os.PathLike[str],
    names: Sequence[str] | None,
    width: int,
    body: list[list[str]],
    text_column: Column,
    label_column: Column,
    has_labels: bool | None,
) -> tuple[int, int | None]:
    """The text and label column indices (label None: no labels); see the module docstring."""
    text_index = column_index(source, names, width, text_column, "text_column")
    label_index = column_index(source, names, width, label_column, "label_column")
    if text_index is None and names is not None:
        text_index = _find_name(names, TEXT_NAMES, exclude=label_index)
    if text_index is None:
        text_index = _longest_text_column(body, width, exclude=label_index)
    if has_labels is False:
        return text_index, None
    if label_index is None and names is not None:
        label_index = _find_name(names, LABEL_NAMES, exclude=text_index)
    if label_index is None:
        others = [j for j in range(width) if j != text_index]
        if not others:
            if has_labels:
                raise DataError(
                    f"{source} has a single column, so there is no label column; "
                    "add a label column (has_labels=False in Python reads texts alone)"
                )
            return text_index, None
        label_index = others[-1]
    if label_index == text_index:
        raise DataError(
            f"{source}: text_column and label_column are the same column ({text_index}); "
            "choose two different columns"
        )
    return text_index, label_index


def _find_name(
    names: Sequence[str], wanted: Sequence[str], exclude: int | None = None
) -> int | None:
    lowered = [n.strip().lower() for n in names]
    for name in wanted:
        for j, have in enumerate(lowered):
            if have == name and j != exclude:
                return j
    return None


def _longest_text_column(body: list[list[str]], width: int, exclude: int | None) -> int:
    sample = body[:ROWS_FOR_DECISIONS]
    best, best_len = 0, -1.0
    for j in range(width):
        if j == exclude:
            continue
        mean = sum(len(r[j]) for r in sample if len(r) > j) / max(1, len(sample))
        if mean > best_len:
            best, best_len = j, mean
    return best


# ------------------------------------------------------------------------------------ texts
@dataclass(frozen=True)
class TableOptions:
    """What a caller says about a file of labelled texts (None: decide from the file)."""

    text_column: Column = None
    label_column: Column = None
    header: bool | None = None
    delimiter: str | None = None
    has_labels: bool | None = None


@dataclass(frozen=True)
class TextLayout:
    """How a file of labelled texts is read: a table's dialect and columns, or JSON keys.

    ``kind`` is ``"table"`` (delimited), ``"jsonl"`` (``names`` are the keys) or ``"lines"``
    (one text per line, no labels).
    """

    kind: str
    delimiter: str = ","
    quoting: Any = csv.QUOTE_MINIMAL
    header: bool = False
    text_index: int = 0
    label_index: int | None = None
    names: tuple[str, ...] = ()

    @property
    def text_name(self) -> str | int:
        """The text column as messages name it: its header name, else its index."""
        return self.names[self.text_index] if self.names else self.text_index


def text_layout(
    sample: str, source: str | os.PathLike[str], options: TableOptions, truncated: bool = False
) -> TextLayout:
    """Delimiter, quoting, header and columns of a delimited file from its first characters.

    ``sample`` is the whole text or its first :data:`SAMPLE_CHARS` characters (``truncated``).
    """
    delimiter = options.delimiter or sniff_delimiter(sample, os.fspath(source))
    quoting = choose_quoting(sample, delimiter, truncated)
    rows = sample_rows(sample, delimiter, quoting, truncated, source)
    if not rows:
        raise DataError(f"{source} has no rows of text; check the file")
    header = options.header
    if header is None:
        header = detect_header(rows)
        if not header and any(isinstance(c, str) for c in (options.text_column,
                                                           options.label_column)):
            header = True  # a column asked for by name implies a header row
    names, body = split_header(rows, header, source)
    text_index, label_index = resolve_columns(
        source, names, table_width(names, body), body,
        options.text_column, options.label_column, options.has_labels,
    )
    return TextLayout("table", delimiter, quoting, header, text_index, label_index,
                      tuple(names or ()))


def json_layout(
    records: Sequence[dict[str, Any]], source: str | os.PathLike[str], options: TableOptions
) -> TextLayout:
    """The text and label keys of JSON records (the first record's keys are the columns)."""
    names = list(records[0])
    rows = [[json_cell(r.get(k)) for k in names] for r in records[:ROWS_FOR_DECISIONS]]
    text_index, label_index = resolve_columns(
        source, names, len(names), rows, options.text_column, options.label_column,
        options.has_labels
    )
    return TextLayout("jsonl", text_index=text_index, label_index=label_index, names=tuple(names))


def detect_layout(
    handle: IO[str], source: str | os.PathLike[str], options: TableOptions, kind: str = "table"
) -> TextLayout:
    """The layout of a file of labelled texts, from its first :data:`SAMPLE_CHARS` characters.

    ``handle`` is the open file (:func:`rnnkit.data.readers.open_text`, or ``io.StringIO`` over
    the whole text: both give the same layout); ``kind`` is ``"table"``, ``"jsonl"`` or
    ``"lines"``. An empty file is a DataError.
    """
    sample = handle.read(SAMPLE_CHARS + 1)
    truncated = len(sample) > SAMPLE_CHARS
    sample = sample[:SAMPLE_CHARS]
    if not sample.strip():
        what = "JSON object" if kind == "jsonl" else "row of text"
        raise DataError(f"{source} is empty; give a file with at least one {what}")
    if kind == "lines":
        return TextLayout("lines")
    if kind == "jsonl":
        lines = list(io.StringIO(sample, newline=""))
        if truncated and len(lines) > 1:
            lines = lines[:-1]  # perhaps cut
        records = json_objects(json_lines(lines, source), source)
        return json_layout([record for _, record in records], source, options)
    return text_layout(sample, source, options, truncated)


def read_rows(
    handle: IO[str], layout: TextLayout, source: str | os.PathLike[str]
) -> Iterator[tuple[str, str | None, int]]:
    """``(text, stripped raw label or None, line)`` of every example of an open file."""
    if layout.kind == "lines":
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield line, None, number
    elif layout.kind == "jsonl":
        yield from json_text_rows(json_lines(handle, source), layout, source)
    else:
        yield from text_rows(iter_rows(handle, layout.delimiter, layout.quoting, source), layout,
                             source)


def text_rows(
    rows: Iterable[tuple[list[str], int]], layout: TextLayout, source: str | os.PathLike[str]
) -> Iterator[tuple[str, str | None, int]]:
    """``(text, stripped raw label or None, line)`` of the data rows of a table (header skipped)."""
    needed = max(layout.text_index, -1 if layout.label_index is None else layout.label_index) + 1
    rows = iter(rows)
    if layout.header:
        next(rows, None)
    for row, line in rows:
        if len(row) < needed:
            raise DataError(
                f"{source} line {line} has {len(row)} field(s) but {needed} are needed; "
                f"fix that row or the delimiter (read as {layout.delimiter!r}; "
                "delimiter= in Python)"
            )
        label = None
        if layout.label_index is not None:
            label = row[layout.label_index].strip()
            if not label:
                raise DataError(f"{source} line {line} has an empty label; "
                                "fill it in or remove the row")
        yield row[layout.text_index], label, line


def json_objects(
    records: Iterable[tuple[int, Any]], source: str | os.PathLike[str]
) -> list[tuple[int, dict[str, Any]]]:
    """Numbered JSON records, each checked to be an object."""
    checked = []
    for number, record in records:
        if not isinstance(record, dict):
            raise DataError(f"{source} line {number} is not a JSON object; "
                            f"write one {{...}} per line")
        checked.append((number, record))
    return checked


def json_text_rows(
    records: Iterable[tuple[int, Any]], layout: TextLayout, source: str | os.PathLike[str]
) -> Iterator[tuple[str, str | None, int]]:
    """``(text, stripped raw label or None, line)`` of numbered JSON records."""
    text_key = layout.names[layout.text_index]
    label_key = layout.names[layout.label_index] if layout.label_index is not None else None
    for number, record in records:
        if not isinstance(record, dict):
            raise DataError(f"{source} line {number} is not a JSON object; "
                            f"write one {{...}} per line")
        for key in (text_key, label_key):
            if key is not None and key not in record:
                raise DataError(f"{source} line {number} has no key {key!r}; add it")
        text = record[text_key]
        if not isinstance(text, str):
            raise DataError(f"{source} line {number}: {text_key!r} is {type(text).__name__}, "
                            "not text")
        label = None
        if label_key is not None:
            label = json_cell(record[label_key]).strip()
            if not label:
                raise DataError(f"{source} line {number} has an empty label; "
                                "fill it in or remove it")
        yield text, label, number


def json_lines(lines: Iterable[str], source: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of the non-blank lines of JSON Lines text."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(
                    f"{source} line {number} is not valid JSON ({err.msg}); one object per line"
                ) from None


def json_cell(value: Any) -> str:
    """A JSON value as a table cell: strings as they are, None empty, booleans 0/1, else JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


__all__ = [
    "Label",
    "Column",
    "TEXT_NAMES",
    "is_column_name",
    "LABEL_NAMES",
    "HEADER_NAMES",
    "DELIMITERS",
    "SAMPLE_CHARS",
    "coerce_labels",
    "sorted_classes",
    "label_sort_key",
    "label_classes",
    "sniff_delimiter",
    "QuoteError",
    "iter_rows",
    "parse_rows",
    "choose_quoting",
    "sample_rows",
    "detect_header",
    "split_header",
    "table_width",
    "column_index",
    "resolve_columns",
    "TableOptions",
    "TextLayout",
    "text_layout",
    "json_layout",
    "detect_layout",
    "read_rows",
    "text_rows",
    "json_objects",
    "json_text_rows",
    "json_lines",
    "json_cell",
]
