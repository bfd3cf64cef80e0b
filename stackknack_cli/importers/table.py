"""Open a CSV file or byte stream as rows of text cells.

The encoding is chosen once for the whole file before any row is parsed: UTF-8
(with or without a byte-order mark) when every byte decodes as UTF-8, otherwise
Windows-1252. The delimiter, ``,`` or ``;``, is the one that splits the header line
into more columns.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

from stackknack_cli.errors import InputError

Source = str | os.PathLike[str] | IO[bytes] | io.RawIOBase | io.BufferedIOBase

CHUNK_BYTES = 1 << 20
DELIMITERS = (",", ";")
# Python's csv module refuses cells over 128 KiB; a product's Body (HTML) with inline
# images can be larger. Raising the process-wide limit only ever accepts more.
FIELD_LIMIT = 64 << 20

UTF8 = "utf-8-sig"
WINDOWS_1252 = "cp1252"


class Table:
    """An open CSV source: its header, then its rows, read as they are needed."""

    def __init__(self, binary: IO[bytes], *, name: str, owned: bool) -> None:
        self.name = name
        self._binary = binary
        self._owned = owned
        self._closed = False
        self._start = binary.tell()
        self.encoding, self.size = _choose_encoding(binary, name)
        self._text = io.TextIOWrapper(binary, encoding=self.encoding, newline="")
        try:
            first = self._first_line()
            if not first.strip():
                raise InputError(f"{name} is empty or its first line is blank")
            self.delimiter = sniff_delimiter(first)
            lines = itertools.chain([first], self._text)
            # strict: an unclosed quote is an error, not the rest of the file in
            # one cell.
            self._reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
            self.header = next(self._reader)
        except BaseException:
            self.close()
            raise

    def rows(self) -> Iterator[list[str]]:
        """Yield the data rows; decoding and quoting faults become InputError."""
        try:
            yield from self._reader
        except UnicodeDecodeError as exc:
            raise self._undecodable(exc) from exc
        except csv.Error as exc:
            line = self._reader.line_num
            raise InputError(f"{self.name} line {line}: {exc}") from exc

    def position(self) -> int:
        """Return how many bytes of the source have been read so far."""
        return self._binary.tell() - self._start

    def close(self) -> None:
        """Release the file; a stream the caller passed in is left open."""
        if self._closed:
            return
        self._closed = True
        if self._owned:
            self._text.close()
        elif not self._binary.closed:
            self._text.detach()

    def _first_line(self) -> str:
        try:
            return self._text.readline()
        except UnicodeDecodeError as exc:
            raise self._undecodable(exc) from exc

    def _undecodable(self, exc: UnicodeDecodeError) -> InputError:
        byte = exc.object[exc.start]
        return InputError(
            f"{self.name}: byte 0x{byte:02x} is neither UTF-8 nor Windows-1252; "
            "save the file as CSV UTF-8"
        )


def open_table(source: Source, *, name: str | None = None) -> Table:
    """Open a path or a binary stream (``sys.stdin.buffer`` for ``-``) as a Table.

    A stream that cannot seek is first copied to a temporary file, because the
    encoding is chosen from all its bytes. Raises InputError for an unreadable,
    empty or undecodable source.
    """
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)

    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or str(path)
        try:
            binary: IO[bytes] = path.open("rb")
        except OSError as exc:
            raise InputError(f"{label}: cannot open ({exc.strerror})") from exc
        owned = True
    else:
        if isinstance(source, io.TextIOBase):
            raise TypeError("read a binary stream, such as sys.stdin.buffer")
        label = name or str(getattr(source, "name", "<stream>"))
        # io's raw and buffered classes offer every method of IO[bytes] used here.
        binary, owned = cast(IO[bytes], source), False
        if not binary.seekable():
            binary, owned = _spool(binary), True

    try:
        return Table(binary, name=label, owned=owned)
    except BaseException:
        if owned:
            binary.close()
        raise


def sniff_delimiter(line: str) -> str:
    """Return the delimiter that splits a header line into the most columns."""
    widths = {
        delimiter: len(next(csv.reader([line], delimiter=delimiter), []))
        for delimiter in DELIMITERS
    }
    return max(DELIMITERS, key=lambda delimiter: widths[delimiter])


def _choose_encoding(binary: IO[bytes], name: str) -> tuple[str, int]:
    start = binary.tell()
    head = binary.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{name} is UTF-16 text; save it as CSV UTF-8")

    binary.seek(start)
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = UTF8
    try:
        while chunk := binary.read(CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        encoding = WINDOWS_1252

    size = binary.seek(0, io.SEEK_END) - start
    binary.seek(start)
    return encoding, size


def _spool(stream: IO[bytes]) -> IO[bytes]:
    # The spool outlives this function: the Table that reads it closes it.
    spool = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        while chunk := stream.read(CHUNK_BYTES):
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool
