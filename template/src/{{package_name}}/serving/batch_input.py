"""The file `predict --input` scores, cut into chunks that the process scoring a chunk reads itself: the
command only hands out where each chunk lies and writes the results, so that with several workers it is
not the one process every row passes through.

- CSV: the command scans the file's bytes (with NumPy, a block at a time) for the line breaks that end
  rows, and cuts it every `chunk_rows` rows; a line break inside a quoted value is told apart by the
  number of quotes before it (odd: inside). A chunk is a byte range: the process that scores it parses the
  header line and those bytes with the reader and settings of `data.tables`, as pandas reads a file in
  chunks. A quote that neither opens nor closes a quoted value (`12" pipe`, which pandas reads as a
  character) would make that count lie: from the chunk where one appears, pandas reads the rest of the file
  in the command (correct, only slower). So does a file without a line break in its first megabyte.
  A row with more fields than the header is an error wherever it is (pandas would take the extra field of
  a first row for an index, and shift the columns).
- Parquet: the command decodes record batches of the columns used (Arrow, in C++, fast); the process that
  scores a batch turns it into pandas rows (the slow part: Python strings).

The cuts depend on the file alone, never on the number of workers, so that every number of workers writes
the same output.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from ..core.errors import UserError
from ..data.tables import CSV_MISSING, UNREADABLE, table_kind, unreadable_error

BLOCK_BYTES = 1 << 20  # scanned at a time (memory: a few times this)
HEADER_BYTES = 1 << 20  # a header line longer than this (no line break found in a file) is left to pandas
BOM = b"\xef\xbb\xbf"
QUOTE, NEWLINE = ord('"'), ord("\n")
# A quote that opens a value follows one of these (a closing quote before it: an escaped quote, "");
# a quote that closes a value is followed by one of these (or the end of the file).
OPENS_AFTER = np.array([ord(","), NEWLINE, QUOTE], dtype=np.uint8)
CLOSES_BEFORE = np.array([ord(","), NEWLINE, ord("\r"), QUOTE], dtype=np.uint8)
# Places in a reader's error, counted in the parsed text: moved to where they are in the file.
LINE_PLACES = re.compile(r"\b(line|row) (\d+)")
BYTE_PLACES = re.compile(r"\b(position) (\d+)")


@dataclass(frozen=True)
class CsvRange:
    """Rows of a CSV file: the bytes [start, stop) (whole lines), parsed under the file's header line."""

    path: Path
    header: bytes
    start: int
    stop: int
    lines_before: int  # line breaks in the file before `start`

    def frame(self) -> pd.DataFrame:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.start)
                data = handle.read(self.stop - self.start)
        except OSError as error:
            raise unreadable_error(self.path, "csv", error) from None
        moved = Moved(self.lines_before - self.header.count(b"\n"), self.start - len(self.header))
        rows = parsed_csv(self.path, io.BytesIO(self.header + data), moved)
        return fields_fit(rows, self.path, self.lines_before + 1)


@dataclass(frozen=True)
class ArrowRows:
    """Rows of a Parquet file, decoded by the command as an Arrow record batch."""

    batch: Any  # pyarrow.RecordBatch

    def frame(self) -> pd.DataFrame:
        return self.batch.to_pandas()


@dataclass(frozen=True)
class ParsedRows:
    """Rows the command's own pandas reader parsed (a CSV the byte scan could not cut)."""

    rows: pd.DataFrame

    def frame(self) -> pd.DataFrame:
        return self.rows


Piece = CsvRange | ArrowRows | ParsedRows


@dataclass
class ChunkJob:
    """Where the chunk's rows are, and the columns scoring uses (the feature and ID columns)."""

    piece: Piece
    columns: list[str]
    score: bool = True  # False: count the bad rows only (nothing will be written: on_error "fail")


@dataclass(frozen=True)
class BatchInput:
    """The file to score: its kind, its columns as pandas names them, and its rows when known for free
    (Parquet: its metadata; None for CSV)."""

    path: Path
    kind: str
    columns: list[str]
    rows: int | None

    @classmethod
    def open(cls, path: Path) -> BatchInput:
        """Read the header (CSV) or metadata (Parquet) only; a file that is neither is a UserError."""
        kind = table_kind(path)
        try:
            if kind == "csv":
                header = pd.read_csv(path, nrows=0, **CSV_MISSING)
                return cls(path, kind, [str(name) for name in header.columns], None)
            import pyarrow.parquet as pq  # not in the serving set: the caller checks for it first

            parquet = pq.ParquetFile(path)
            return cls(path, kind, list(parquet.schema_arrow.names), parquet.metadata.num_rows)
        except (ValueError, OSError) as error:  # pandas' and pyarrow's errors (ArrowInvalid: a ValueError)
            raise unreadable_error(path, kind, error) from None

    def pieces(self, chunk_rows: int, columns: list[str]) -> Iterator[Piece]:
        """The file's chunks in order, of at most `chunk_rows` rows (CSV: line breaks, blank lines
        included). `columns`: the ones scoring uses (Parquet reads no other)."""
        if self.kind == "csv":
            return csv_pieces(self.path, chunk_rows)
        return self._parquet_pieces(chunk_rows, columns)

    def _parquet_pieces(self, chunk_rows: int, columns: list[str]) -> Iterator[ArrowRows]:
        import pyarrow.parquet as pq

        try:
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=chunk_rows, columns=columns):
                yield ArrowRows(batch)
        except (ValueError, OSError) as error:
            raise unreadable_error(self.path, "parquet", error) from None


@dataclass(frozen=True)
class Moved:
    """How far the text a reader parsed is from the file's start: lines and bytes."""

    lines: int = 0
    offset: int = 0

    def __call__(self, error: BaseException) -> str:
        """The reader's error, its line numbers and byte positions as places in the file."""
        text = LINE_PLACES.sub(lambda match: f"{match[1]} {int(match[2]) + self.lines}", str(error))
        return BYTE_PLACES.sub(lambda match: f"{match[1]} {int(match[2]) + self.offset}", text)


def parsed_csv(path: Path, text: BinaryIO, moved: Moved) -> pd.DataFrame:
    """CSV text with its header line, read by pandas as `data.tables` reads a file; an error names the
    place in `path` (`moved`)."""
    try:
        return pd.read_csv(text, **CSV_MISSING)
    except (ValueError, OSError) as error:
        raise unreadable_error(path, "csv", moved(error)) from None


def fields_fit(rows: pd.DataFrame, path: Path, line: int) -> pd.DataFrame:
    """The rows, unless pandas took the first field for an index: the first row (at `line` of the file)
    has one field more than the header, and every column would be shifted by one."""
    if not isinstance(rows.index, pd.RangeIndex):
        reason = f"line {line} has more fields than the header ({len(rows.columns)})"
        raise UserError(UNREADABLE.format(path=path, kind="csv", reason=reason))
    return rows


# ---------------------------------------------------------------------------------------------------------
# Cutting a CSV file


def csv_pieces(path: Path, chunk_rows: int) -> Iterator[Piece]:
    """A CSV file in chunks of `chunk_rows` rows: byte ranges while the quotes can be trusted, then the
    rest through pandas (see the module's notes)."""
    todo, header = 1, None  # rows until the next cut: the header line first, then chunk_rows at a time
    start = lines_at_start = 0
    try:
        with path.open("rb") as handle:
            scan = RowEnds()
            for ends, lines in scan.blocks(handle):
                index = todo - 1
                while index < len(ends):
                    stop, lines_at_stop = int(ends[index]), int(lines[index])
                    if header is None:
                        header = _read(handle, stop)
                    else:
                        yield CsvRange(path, header, start, stop, lines_at_start)
                    start, lines_at_start = stop, lines_at_stop
                    index += chunk_rows
                todo = index - len(ends) + 1
                if header is None and scan.position >= HEADER_BYTES:  # no header line: pandas reads the file
                    break
    except OSError as error:
        raise unreadable_error(path, "csv", error) from None
    if header is None or scan.broken:
        yield from _pandas_pieces(path, header or b"", start, lines_at_start, chunk_rows)
    elif start < scan.position:  # the last rows (no line break at the end of the file, or fewer rows)
        yield CsvRange(path, header, start, scan.position, lines_at_start)


def _read(handle: BinaryIO, stop: int) -> bytes:
    """The first `stop` bytes of the file, the handle left where it was."""
    here = handle.tell()
    handle.seek(0)
    data = handle.read(stop)
    handle.seek(here)
    return data


def _pandas_pieces(
    path: Path, header: bytes, start: int, lines_before: int, chunk_rows: int
) -> Iterator[ParsedRows]:
    """The file from byte `start` on, under `header`, read by pandas in chunks in this process."""
    moved = Moved(lines_before - header.count(b"\n"), start - len(header))
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            text = io.BufferedReader(_Joined(header, handle))
            for rows in pd.read_csv(text, chunksize=chunk_rows, **CSV_MISSING):
                yield ParsedRows(fields_fit(rows, path, lines_before + 1))
    except (ValueError, OSError) as error:
        raise unreadable_error(path, "csv", moved(error)) from None


class _Joined(io.RawIOBase):
    """A header line followed by the rest of an open file, as one stream."""

    def __init__(self, head: bytes, handle: BinaryIO) -> None:
        self.head, self.handle = memoryview(head), handle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size], self.head = self.head[:size], self.head[size:]
            return size
        return self.handle.readinto(buffer)


class RowEnds:
    """Scans a CSV file block by block for the line breaks that end rows (those outside quoted values),
    checking that every quote opens or closes a value; `broken` once one does not (nothing after it is
    trusted)."""

    def __init__(self) -> None:
        self.position = 0  # bytes scanned
        self.newlines = 0  # line breaks scanned
        self.inside = 0  # 1: the scanned bytes end inside a quoted value
        self.previous = NEWLINE  # the last byte scanned (the start of the file is the start of a line)
        self.closing_last = False  # the last byte scanned is a closing quote: the next byte must fit
        self.broken = False

    def blocks(self, handle: BinaryIO) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Per block: the offsets just past each row-ending line break, and the line breaks up to each."""
        while block := handle.read(BLOCK_BYTES):
            if self.position == 0 and block.startswith(BOM):  # the reader skips it; a quote may follow it
                self.position, block = len(BOM), block[len(BOM) :]
                if not block:
                    continue
            yield self._scan(np.frombuffer(block, dtype=np.uint8))
            if self.broken:
                return

    def _scan(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        breaks = np.flatnonzero(data == NEWLINE)
        quotes = np.flatnonzero(data == QUOTE)
        trusted = self._trusted(data, quotes)
        inside = (self.inside + np.searchsorted(quotes, breaks)) & 1
        ends = breaks[(inside == 0) & (breaks < trusted)]
        result = (ends + 1 + self.position, np.searchsorted(breaks, ends) + 1 + self.newlines)
        last_closes = (self.inside + quotes.size) % 2 == 0  # the block's last quote closes a value
        self.closing_last = bool(quotes.size) and quotes[-1] == len(data) - 1 and last_closes
        self.inside = (self.inside + quotes.size) & 1
        self.position += len(data)
        self.newlines += breaks.size
        self.previous = int(data[-1])
        return result

    def _trusted(self, data: np.ndarray, quotes: np.ndarray) -> int:
        """How many of the block's bytes come before the first quote that neither opens nor closes a
        value (all of them when there is none); sets `broken` when there is one."""
        if self.closing_last and data[0] not in CLOSES_BEFORE:
            self.broken = True
            return 0
        if not quotes.size:
            return len(data)
        closes = ((self.inside + np.arange(quotes.size)) & 1).astype(bool)  # inside a value before it
        before = np.where(quotes > 0, data[quotes - 1], self.previous)
        after = data[np.minimum(quotes + 1, len(data) - 1)]
        misplaced = np.where(
            closes, ~np.isin(after, CLOSES_BEFORE) & (quotes < len(data) - 1), ~np.isin(before, OPENS_AFTER)
        )
        first = np.flatnonzero(misplaced)
        if not first.size:
            return len(data)
        self.broken = True
        return int(quotes[first[0]])
