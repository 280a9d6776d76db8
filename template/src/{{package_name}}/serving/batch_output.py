"""The files `predict --input` writes: the scored rows of each chunk as the command gets them back
(`ChunkResult`), appended in the input's order by `ChunkWriter` to a hidden `.partial` file beside the
target, renamed into place only when the whole file is done. Light to import (no scikit-learn): the command
writes, while worker processes score.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import UserError


@dataclass
class ChunkResult:
    """A chunk done: its rows, its bad values (row, column, value, reason; rows counted from 1 in the
    chunk: only the command knows the rows before it) and the encoded scored rows."""

    rows: int
    problems: pd.DataFrame
    scored: int = 0
    payload: Any = None  # CSV: (header line, body text); Parquet: a pyarrow Table; None: nothing to write


class ChunkWriter:
    """Appends chunks to a hidden temporary file beside the target; renames it into place on success.
    Any failure to write is a UserError naming the path."""

    def __init__(self, target: Path, parquet: bool) -> None:
        self.target, self.parquet = target, parquet
        self.temp = target.with_name(f".{target.name}.partial")
        self.writer: Any = None  # a ParquetWriter, or the open CSV file
        self.header: str | None = None

    def __enter__(self) -> ChunkWriter:
        with self._writing():  # fail now, before any scoring, when the place cannot be written
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.temp.touch()
        return self

    def write_frame(self, frame: pd.DataFrame) -> None:
        """A frame as it is (the rejects file): the columns of the first one written are the header."""
        self.write((frame.head(0).to_csv(index=False), frame.to_csv(index=False, header=False)))

    def write(self, payload: Any) -> None:
        with self._writing():
            self._write(payload)

    def _write(self, payload: Any) -> None:
        if self.parquet:
            import pyarrow.parquet as pq

            if self.writer is None:
                self.writer = pq.ParquetWriter(self.temp, payload.schema)
            self.writer.write_table(payload.cast(self.writer.schema))
            return
        header, body = payload
        if self.writer is None:
            self.writer = self.temp.open("w", encoding="utf-8", newline="")
            self.writer.write(header)
            self.header = header
        self.writer.write(body)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            where = exc.filename or self.target
            if isinstance(exc, FileExistsError | NotADirectoryError):
                reason = f"{where} is a file, not a folder"  # a file on the way to the target
            else:
                reason = f"{exc.strerror or exc} ({where})"
            raise UserError(
                f"cannot write {self.target}: {reason}; choose a path in a folder you can write to"
            ) from None

    def __exit__(self, kind, error, traceback) -> None:
        if self.writer is not None:
            self.writer.close()
        if error is None and self.writer is not None:
            with self._writing():
                self.temp.replace(self.target)
        else:
            self.temp.unlink(missing_ok=True)
