"""Low-level file reading: bytes from disk, transparent decompression, decoding with clear errors.

Compression is recognised by the file's magic bytes, not by its name (gzip ``1f 8b``, bzip2
``BZh``, xz ``fd 37 7a 58 5a 00``). A UTF-8 byte-order mark is dropped; a UTF-16 BOM switches to
UTF-16. Undecodable bytes raise :class:`rnnkit.errors.DataError` naming the file, the line and the
byte offset. Line endings are left as they are (the CSV reader accepts LF, CRLF and CR).

Example:
    >>> import gzip, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.bin"  # no .gz suffix on purpose
    >>> _ = path.write_bytes(gzip.compress("\\ufeffhello\\r\\nworld".encode()))
    >>> read_text(path)
    'hello\\r\\nworld'
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import lzma
import os
import zlib
from pathlib import Path

from rnnkit.errors import DataError

_MAGIC = (
    (b"\x1f\x8b", "gzip", gzip.decompress),
    (b"BZh", "bzip2", bz2.decompress),
    (b"\xfd7zXZ\x00", "xz", lzma.decompress),
)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The raw bytes of a file, decompressed when its magic bytes say gzip, bzip2 or xz."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise DataError(
            f"{path} is a directory; give a file, or read_directory() for a tree"
        ) from None
    except PermissionError:
        raise DataError(f"{path}: permission denied; make the file readable") from None
    for magic, name, decompress in _MAGIC:
        if data.startswith(magic):
            try:
                return decompress(data)
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as err:
                raise DataError(
                    f"{path} looks {name}-compressed but cannot be decompressed ({err}); "
                    "re-download or re-compress the file"
                ) from None
    return data


def decode(data: bytes, source: str, encoding: str = "utf-8") -> str:
    """Decode bytes to text, dropping a BOM; errors name ``source``, the line and byte offset."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataError(
            f"{source}: line {line} (byte offset {err.start}) is not valid {encoding} "
            f"({data[err.start : err.start + 4]!r}); re-save the file as UTF-8 or pass encoding="
        ) from None
    except LookupError:
        raise DataError(
            f"encoding={encoding!r} is unknown; use e.g. 'utf-8' or 'latin-1'"
        ) from None


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """A whole (possibly compressed) file as text."""
    return decode(read_bytes(path), str(path), encoding)


def strip_compression_suffix(name: str) -> str:
    """``"a.csv.gz"`` -> ``"a.csv"``: the name whose suffix tells the format."""
    for suffix in (".gz", ".gzip", ".bz2", ".xz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


__all__ = ["read_bytes", "decode", "read_text", "strip_compression_suffix"]
