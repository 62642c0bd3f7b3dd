"""Low-level file reading: bytes from disk, transparent decompression, decoding with clear errors.

Compression is recognised by the file's magic bytes, not by its name (gzip ``1f 8b``, bzip2
``BZh``, xz ``fd 37 7a 58 5a 00``). A UTF-8 byte-order mark is dropped; a UTF-16 BOM switches to
UTF-16. Undecodable bytes raise :class:`rnnkit.errors.DataError` naming the file, the line and the
byte offset. Line endings are left as they are (the CSV reader accepts LF, CRLF and CR).

Whole files (:func:`read_bytes`, :func:`read_text`) and streams (:func:`open_text`) make the same
checks with the same messages: only a regular file is opened (a device such as ``/dev/zero``, a
FIFO or a socket is refused before opening, as it could block or never end), and a truncated or
corrupt compressed file or undecodable text is a one-line ``DataError``.

Example:
    >>> import gzip, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.bin"  # no .gz suffix on purpose
    >>> _ = path.write_bytes(gzip.compress("\\ufeffhello\\r\\nworld".encode()))
    >>> read_text(path)
    'hello\\r\\nworld'
    >>> with open_text(path) as handle:
    ...     handle.readline()
    'hello\\r\\n'
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import io
import lzma
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, NamedTuple

from rnnkit.errors import DataError


class _Compression(NamedTuple):
    magic: bytes
    name: str
    open: Callable[..., Any]


_MAGIC = (
    _Compression(b"\x1f\x8b", "gzip", gzip.open),
    _Compression(b"BZh", "bzip2", bz2.open),
    _Compression(b"\xfd7zXZ\x00", "xz", lzma.open),
)
# What the decompressors raise on truncated or corrupt input (gzip.BadGzipFile is an OSError).
_STREAM_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)
_DECOMPRESSION_ERRORS = (*_STREAM_ERRORS, ValueError)
_LOCATE_CHUNK = 1 << 20


def check_file(path: str | os.PathLike[str]) -> None:
    """Refuse, before opening it, a path that is not a readable regular file.

    A missing path, a directory, and anything that is neither (a character or block device such
    as ``/dev/zero``, a FIFO, a socket) is a one-line DataError: reading a device may never end
    and opening a FIFO blocks until someone writes to it.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; check the path") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied; make the file readable") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); check the path") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"{path} is a directory; give a file (read_directory() in Python reads a "
                        "tree)")
    if not stat.S_ISREG(mode):
        raise DataError(
            f"{path} is a {_file_kind(mode)}, not a regular file; give a data file "
            "(save the stream to a file first)"
        )


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISSOCK, "socket"),
    )
    return next((name for test, name in kinds if test(mode)), "special file")


def _compression(head: bytes) -> _Compression | None:
    return next((kind for kind in _MAGIC if head.startswith(kind.magic)), None)


def _decompression_error(
    path: str | os.PathLike[str], kind: _Compression, err: Exception
) -> DataError:
    return DataError(
        f"{path} looks {kind.name}-compressed but cannot be decompressed ({err}); "
        "re-download or re-compress the file"
    )


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The raw bytes of a file, decompressed when its magic bytes say gzip, bzip2 or xz."""
    return _read_decompressed(path, -1)


def read_head(path: str | os.PathLike[str], size: int) -> bytes:
    """The first ``size`` bytes of a file (decompressed), without reading the rest of it."""
    return _read_decompressed(path, size)


def _read_decompressed(path: str | os.PathLike[str], size: int) -> bytes:
    """Up to ``size`` decompressed bytes (-1: all) through the one opener, :func:`_open_binary`."""
    kind = _probe(path)
    try:
        with _open_binary(path, kind) as binary:
            return bytes(binary.read(size))
    except _DECOMPRESSION_ERRORS as err:
        raise _stream_error(path, kind, err) from None


def _probe(path: str | os.PathLike[str]) -> _Compression | None:
    """Check ``path`` (:func:`check_file`) and tell its compression from its magic bytes."""
    check_file(path)
    try:
        with open(path, "rb") as probe:
            return _compression(probe.read(6))
    except PermissionError:
        raise DataError(f"{path}: permission denied; make the file readable") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); check the file") from None


def _stream_error(
    path: str | os.PathLike[str], kind: _Compression | None, err: Exception
) -> DataError:
    if kind is None:
        return DataError(f"{path}: cannot be read ({err}); check the file")
    return _decompression_error(path, kind, err)


def _encoding_for(head: bytes, encoding: str) -> str:
    """The codec that reads text starting with ``head``: a UTF-16 BOM wins over ``encoding``."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return encoding


def _not_valid_text(source: str, line: int, offset: int, encoding: str, sample: bytes) -> DataError:
    return DataError(
        f"{source}: line {line} (byte offset {offset}) is not valid {encoding} ({sample!r}); "
        "re-save the file as UTF-8 or give its encoding (--encoding, or encoding= in Python)"
    )


def _unknown_encoding(encoding: str) -> DataError:
    return DataError(f"encoding={encoding!r} is unknown; use e.g. 'utf-8' or 'latin-1'")


def decode(data: bytes, source: str, encoding: str = "utf-8") -> str:
    """Decode bytes to text, dropping a BOM; errors name ``source``, the line and byte offset."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    encoding = _encoding_for(data, encoding)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise _not_valid_text(
            source, line, err.start, encoding, data[err.start : err.start + 4]
        ) from None
    except LookupError:
        raise _unknown_encoding(encoding) from None


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """A whole (possibly compressed) file as text."""
    return decode(read_bytes(path), str(path), encoding)


@contextlib.contextmanager
def open_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text stream of a (possibly compressed) file, with the checks and messages of
    :func:`read_text`.

    Use it as ``with open_text(path) as handle:``. Lines keep their endings (``newline=""``, as the
    csv module wants). A truncated or corrupt compressed file, or bytes that are not valid in
    ``encoding``, raise a one-line DataError when the stream reaches them; an invalid byte is
    located by line and byte offset, like :func:`decode` does.
    """
    kind = _probe(path)
    try:
        binary = _open_binary(path, kind)
        with binary:
            bom = binary.peek(3)[:3]
            # Only the encoding's lookup maps LookupError: around the caller's body below it would
            # turn the caller's own KeyError into "unknown encoding".
            try:
                chosen = _encoding_for(bom, encoding)
                if chosen.lower().replace("_", "-") in ("utf-8", "utf8"):
                    chosen = "utf-8-sig"  # drops a UTF-8 BOM, as decode() does
                handle = io.TextIOWrapper(binary, encoding=chosen, newline="", errors="strict")
            except LookupError:
                raise _unknown_encoding(encoding) from None
            with handle:
                yield handle
    except UnicodeDecodeError:
        raise _locate_decoding_error(path, kind, encoding) from None
    except _STREAM_ERRORS as err:  # not ValueError: the caller's own code may raise one
        raise _stream_error(path, kind, err) from None


def _open_binary(path: str | os.PathLike[str], kind: _Compression | None) -> Any:
    """The decompressed byte stream of ``path`` (buffered: it has ``peek``)."""
    if kind is None:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller's with-block
    return kind.open(path, "rb")


def _locate_decoding_error(
    path: str | os.PathLike[str], kind: _Compression | None, encoding: str
) -> DataError:
    """Re-read ``path`` in chunks to find the first undecodable byte: its line and offset.

    A stream decoder reports positions within its chunk only; this second pass runs only on the
    error path, keeps memory flat and counts offsets as :func:`decode` does (after a UTF-8 BOM).
    """
    with _open_binary(path, kind) as binary:
        head = binary.peek(3)[:3]
        if head.startswith(codecs.BOM_UTF8):
            binary.read(len(codecs.BOM_UTF8))
        encoding = _encoding_for(head, encoding)
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        consumed, lines = 0, 0
        while True:
            chunk = binary.read(_LOCATE_CHUNK)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as err:
                data = pending + chunk
                line = lines + data.count(b"\n", 0, err.start) + 1
                offset = consumed - len(pending) + err.start
                return _not_valid_text(
                    str(path), line, offset, encoding, data[err.start : err.start + 4]
                )
            if not chunk:
                return DataError(f"{path} is not valid {encoding}; re-save the file as UTF-8")
            consumed += len(chunk)
            lines += chunk.count(b"\n")


def strip_compression_suffix(name: str) -> str:
    """``"a.csv.gz"`` -> ``"a.csv"``: the name whose suffix tells the format."""
    for suffix in (".gz", ".gzip", ".bz2", ".xz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


__all__ = ["check_file", "read_bytes", "read_head", "decode", "read_text", "open_text",
           "strip_compression_suffix"]
