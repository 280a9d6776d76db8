"""logs/prediction_index.sqlite3: every logged prediction's `prediction_id`, the values of the ID columns it
carried (as one canonical key) and when it was logged, so that an outcome sent back later is matched to a
prediction whichever worker process scored and logged it.

Only the prediction log's writer thread adds to the index (in the batch it writes the log lines, so the
request path never touches SQLite) and prunes it of predictions older than the oldest log file kept. The
feedback endpoint and `outcomes --input` only read it. SQLite in WAL mode lets readers and the writers of
several worker processes work at once; a busy timeout lets a writer wait for another's commit.

Matching by ID columns means the latest logged prediction with those values (a customer scored twice is
matched to the later score).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .paths import PREDICTION_INDEX_FILE

BUSY_TIMEOUT_MS = 5000
# SQLite allows at least 999 parameters per statement in every version still in use.
CHUNK = 500
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS predictions ("
    " prediction_id TEXT PRIMARY KEY, id_key TEXT, logged_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS predictions_by_id_key ON predictions (id_key, logged_at)",
    "CREATE INDEX IF NOT EXISTS predictions_by_time ON predictions (logged_at)",
)


def index_path(logs_dir: Path) -> Path:
    """The index in the project's logs/ folder (the parent of logs/predictions/ and logs/outcomes/)."""
    return logs_dir / PREDICTION_INDEX_FILE


def id_key(values: Sequence[Any]) -> str | None:
    """One text key for the values of the ID columns, in the configured order; None unless every one is
    given. Text and integers compare by their text, and a whole float by its integer (a table cell read
    as 12.0 is the 12 a client sent), so the API's JSON and a CSV file name a record the same way."""
    parts = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        parts.append(
            value if isinstance(value, str) else str(value.item() if hasattr(value, "item") else value)
        )
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


class PredictionIndex:
    """A connection to the index, used by one thread at a time (the owner may close it from another)."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._create = create

    def _connect(self) -> sqlite3.Connection | None:
        """The connection, opened on first use; None when the index does not exist and may not be made
        (nothing was ever logged: every lookup finds nothing)."""
        if self._connection is not None:
            return self._connection
        if not self._create and not self.path.is_file():
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never corrupt
            for statement in _SCHEMA:
                connection.execute(statement)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    # Writer ------------------------------------------------------------------------------------------------

    def add(self, entries: Iterable[tuple[str, str | None, str]]) -> None:
        """(prediction_id, id_key or None, logged_at stamp) of each logged prediction, in one transaction."""
        connection = self._connect()
        with _transaction(connection):
            connection.executemany(
                "INSERT OR REPLACE INTO predictions (prediction_id, id_key, logged_at) VALUES (?, ?, ?)",
                entries,
            )

    def prune(self, before: str) -> int:
        """Forget predictions logged before the stamp `before` (their log lines are gone); how many."""
        connection = self._connect()
        with _transaction(connection):
            return connection.execute("DELETE FROM predictions WHERE logged_at < ?", (before,)).rowcount

    # Readers -----------------------------------------------------------------------------------------------

    def known(self, prediction_ids: Iterable[str]) -> set[str]:
        """The ones among `prediction_ids` that were logged."""
        connection = self._connect()
        wanted = list(dict.fromkeys(prediction_ids))
        if connection is None or not wanted:
            return set()
        found: set[str] = set()
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            marks = ",".join("?" * len(part))
            query = f"SELECT prediction_id FROM predictions WHERE prediction_id IN ({marks})"  # noqa: S608
            found.update(row[0] for row in connection.execute(query, part))
        return found

    def latest(self, id_keys: Iterable[str]) -> dict[str, str]:
        """Per ID key (`id_key`), the prediction_id of the latest logged prediction with it, if any."""
        connection = self._connect()
        wanted = list(dict.fromkeys(id_keys))
        if connection is None or not wanted:
            return {}
        found: dict[str, str] = {}
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            marks = ",".join("?" * len(part))
            # SQLite's documented bare-column rule: with max(), the other columns come from the max row.
            query = (
                "SELECT id_key, prediction_id, max(logged_at) FROM predictions "  # noqa: S608
                f"WHERE id_key IN ({marks}) GROUP BY id_key"
            )
            found.update((key, prediction_id) for key, prediction_id, _ in connection.execute(query, part))
        return found


class _transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error): the write lock is taken at once, so a busy index makes
    the busy timeout wait instead of failing a transaction half way."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: type | None, *rest: object) -> None:
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
