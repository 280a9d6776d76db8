"""Exact counts over a whole table, streamed by DuckDB: rows, missing and distinct values per column,
duplicate rows and IDs, the target's balance and each date column's values (for the time coverage).

The missing-value rules are those of `data.tables` when pandas reads the file: empty cells; the configured
markers (`data.missing_values`) everywhere (numerically in a number column, -999 = -999.0); the common
markers (NA, null, -, ...) in a column whose other values are all numbers or all booleans. So a first pass
judges each column from all its values (what pandas would read it as), and a second writes the values as
pandas holds them (numbers as numbers, booleans as booleans, text as written; NULL where missing) into a
table of the connection's own database file, which every count then reads instead of parsing the file
again. DuckDB keeps to its memory limit throughout and spills to disk beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..data.scan import literal, watched
from ..data.tables import BOOLEAN_WORDS, MISSING_MARKERS

TRUE_WORDS = sorted(word for word, value in BOOLEAN_WORDS.items() if value)


def _in(texts: Any) -> str:
    return "(" + ", ".join(literal(str(text)) for text in sorted(texts)) + ")" if texts else "(NULL)"


def _number(text: str) -> str:
    """The text as a number where pandas reads one (not 1_000, not nan), else NULL."""
    number = f"TRY_CAST({text} AS DOUBLE)"
    return f"CASE WHEN contains({text}, '_') OR isnan({number}) THEN NULL ELSE {number} END"


def _numbers(configured: frozenset[str]) -> dict[str, float]:
    """The configured markers that are numbers (-999), matched as numbers in number columns."""
    return {marker: number for marker in sorted(configured) if (number := _as_number(marker)) is not None}


def _as_number(text: str) -> float | None:
    number = pd.to_numeric(text, errors="coerce")
    return None if pd.isna(number) else float(number)


@dataclass
class Scan:
    """A table being streamed: the DuckDB connection, the table as SQL (text columns c0, c1, ...), the
    configured missing-value markers and (after the first pass) its rows."""

    connection: Any
    source: str
    configured: frozenset[str]
    rows: int | None = None
    held: str = "held"  # the table of values as pandas holds them (`hold_values`)

    def with_text(self, width: int) -> str:
        """The source with each cell also stripped (t0, t1, ...) and read as a number (n0, n1, ...),
        computed once per row for every expression that uses them."""
        stripped = ", ".join(f"trim(c{i}) AS t{i}" for i in range(width))
        numbers = ", ".join(_number(f"t{i}") + f" AS n{i}" for i in range(width))
        return f"(SELECT *, {numbers} FROM (SELECT *, {stripped} FROM {self.source}))"


@dataclass
class Column:
    """One column of the table: its position (c0, t0, n0: raw, stripped and as a number) and what pandas
    reads it as: "number", "boolean" or "text"; `markers_missing` when the common markers are missing
    values in it."""

    name: str
    index: int
    kind: str = "text"
    values: str = "text"  # the values once markers are missing: "number", "boolean" or "text"
    markers_missing: bool = False
    whole: bool = False  # every value a whole number written without a decimal point (pandas: int64)
    markers: dict[str, int] = field(default_factory=dict)  # marker text -> cells
    number_hits: dict[str, int] = field(default_factory=dict)  # number columns: configured marker -> cells

    def value(self, configured: frozenset[str]) -> str:
        """The cell as pandas holds it after reading: NULL when missing."""
        raw, text, number = f"c{self.index}", f"t{self.index}", f"n{self.index}"
        missing = f"{text} IN {_in(configured)}"
        if self.markers_missing:
            missing += f" OR {text} IN {_in(MISSING_MARKERS)}"
        if self.values == "number":
            numbers = sorted(set(_numbers(configured).values()))
            hit = f" OR {number} IN ({', '.join(map(repr, numbers))})" if numbers else ""
            return f"CASE WHEN {missing}{hit} THEN NULL ELSE {number} END"
        if self.values == "boolean":
            return f"CASE WHEN {missing} THEN NULL ELSE {text} IN {_in(TRUE_WORDS)} END"
        return f"CASE WHEN {missing} THEN NULL ELSE {raw} END"


def judge_columns(scan: Scan, names: list[str], native: dict[str, str]) -> list[Column]:
    """First pass (`scan.rows`, if set, only estimates the rows for the progress lines): the rows (into
    `scan.rows`), and what pandas reads each column as, from all its values;
    the markers each holds, and the cells equal to a configured marker that is a number."""
    configured, numbers = scan.configured, _numbers(scan.configured)
    columns = [Column(name, i) for i, name in enumerate(names)]
    flags = []  # per cell, computed once: present, a marker, a boolean word, not a whole number
    for i in range(len(columns)):
        text, number = f"t{i}", f"n{i}"
        written = f"contains({text}, '.') OR contains(lower({text}), 'e') OR contains(lower({text}), 'n')"
        flags += [
            f"c{i} IS NOT NULL AS p{i}",
            f"{text} IN {_in(MISSING_MARKERS | configured)} AS k{i}",
            f"{text} IN {_in(BOOLEAN_WORDS)} AS b{i}",
            f"({number} IS NULL OR {number} <> round({number}) OR {written}) AS w{i}",
        ]
    parts = ["count(*)"]
    for i in range(len(columns)):
        present, rest, number = f"p{i}", f"p{i} AND NOT k{i}", f"n{i}"
        parts += [
            f"count(*) FILTER ({present} AND {number} IS NULL)",
            f"count(*) FILTER ({present} AND NOT b{i})",
            f"count(*) FILTER ({rest})",
            f"count(*) FILTER ({rest} AND {number} IS NULL)",
            f"count(*) FILTER ({rest} AND NOT b{i})",
            f"count(*) FILTER ({present} AND w{i})",
            f"histogram(t{i}) FILTER (k{i})",
            *(f"count(*) FILTER ({number} = {value!r})" for value in numbers.values()),
        ]
    source = f"(SELECT *, {', '.join(flags)} FROM {scan.with_text(len(columns))})"
    query = f"SELECT {', '.join(parts)} FROM {source}"
    with watched(scan.connection, "reading every row: what each column holds", scan.rows):
        row = scan.connection.execute(query).fetchone()
    scan.rows = int(row[0])
    width = 7 + len(numbers)
    for i, column in enumerate(columns):
        *counts, found = row[1 + width * i : 8 + width * i]
        column.markers = {str(k): int(v) for k, v in (found or {}).items()}
        judge(column, native.get(column.name), *counts)
        hits = row[8 + width * i : 1 + width * (i + 1)]
        column.number_hits = {marker: int(n) for marker, n in zip(numbers, hits, strict=True)}
    return columns


def judge(
    column: Column,
    native: str | None,
    not_number: int,
    not_boolean: int,
    rest: int,
    rest_not_number: int,
    rest_not_boolean: int,
    not_whole: int,
) -> None:
    """What pandas reads the column as, from counts over all its values: its file type when the file has
    types (Parquet), else numbers when every value is one (an empty column too), booleans when every value
    is True/False, else text; in text, the common markers are missing when the other values (`rest`: not
    markers, not configured) are all numbers or all booleans, as `data.tables.mark_missing` decides (for a
    text column of a typed file only when it holds a marker: without one, pandas leaves its text alone)."""
    if native in ("number", "boolean"):
        column.kind = column.values = native
    elif native != "text" and not not_number:
        column.kind = column.values = "number"
    elif native != "text" and not not_boolean:
        column.kind = column.values = "boolean"
    elif native == "text" and not column.markers:
        pass
    elif rest and not (rest_not_boolean and rest_not_number):
        column.markers_missing = True
        column.values = "boolean" if not rest_not_boolean else "number"
    column.whole = not not_whole


def whole_numbers(text: pd.Series) -> pd.Series:
    """Which texts pandas reads as whole numbers (int64 when a column holds only these)."""
    return text.str.fullmatch(r"[+-]?[0-9]+")


def markers_found(
    columns: list[Column], configured: frozenset[str]
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Per column, the markers read as missing and the markers kept as values (text columns), with their
    cells, most first: the `missing_markers` and `kept_markers` blocks of the audit."""
    found, kept = {}, {}
    for column in columns:
        if column.kind == "number":
            found[column.name] = {m: n for m, n in sorted(column.number_hits.items()) if n}
            continue
        markers = column.markers if column.kind == "text" else {}
        counted = MISSING_MARKERS if column.markers_missing else frozenset()
        found[column.name] = {m: n for m, n in markers.items() if m in configured or m in counted}
        if not column.markers_missing:
            kept[column.name] = {m: n for m, n in markers.items() if m not in configured}
    return _sorted_counts(found), _sorted_counts(kept)


@dataclass
class Counts:
    """What the second pass counted."""

    rows: int
    missing: dict[str, int]
    distinct: dict[str, int]
    duplicates: dict[str, Any]
    missing_markers: dict[str, dict[str, int]]
    kept_markers: dict[str, dict[str, int]]


def hold_values(scan: Scan, columns: list[Column]) -> None:
    """Second pass over the file: the values as pandas holds them (v0, v1, ...; NULL where missing) into
    a table of the connection's database, which the counts then read instead of the file."""
    selected = ", ".join(f"{column.value(scan.configured)} AS v{column.index}" for column in columns)
    query = f"CREATE TABLE {scan.held} AS SELECT {selected} FROM {scan.with_text(len(columns))}"
    with watched(scan.connection, "reading every row: the values", scan.rows):
        scan.connection.execute(query)


def count_values(scan: Scan, columns: list[Column], ids: list[str]) -> Counts:
    """Missing and distinct values per column, duplicate rows (missing equals missing, as in pandas'
    `duplicated`), and with ID columns the rows equal apart from them and the repeated IDs."""
    rows = int(scan.rows or 0)
    parts = [f"count(v{c.index}), count(DISTINCT v{c.index})" for c in columns]
    with watched(scan.connection, "counting missing and distinct values", rows):
        row = scan.connection.execute(f"SELECT {', '.join(parts)} FROM {scan.held}").fetchone()
    found, kept = markers_found(columns, scan.configured)
    return Counts(
        rows=rows,
        missing={c.name: rows - int(row[2 * i]) for i, c in enumerate(columns)},
        distinct={c.name: int(row[2 * i + 1]) for i, c in enumerate(columns)},
        duplicates=_duplicates(scan, columns, ids),
        missing_markers=found,
        kept_markers=kept,
    )


def _sorted_counts(per_column: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {
        name: dict(sorted(counts.items(), key=lambda item: -item[1]))
        for name, counts in per_column.items()
        if counts
    }


def _duplicates(scan: Scan, columns: list[Column], ids: list[str]) -> dict[str, Any]:
    """The `duplicates` block of the audit, counted over every row."""
    connection, rows = scan.connection, int(scan.rows or 0)
    held = {column.name: f"v{column.index}" for column in columns}

    def distinct_rows(names: list[str]) -> int:
        selected = ", ".join(held[name] for name in names)
        query = f"SELECT count(*) FROM (SELECT DISTINCT {selected} FROM {scan.held})"
        return int(connection.execute(query).fetchone()[0])

    with watched(connection, "counting duplicate rows", rows):
        duplicated = rows - distinct_rows(list(held))
    result: dict[str, Any] = {"rows": duplicated, "share": duplicated / max(rows, 1), "id_columns": ids}
    if ids:
        others = [name for name in held if name not in ids]
        with watched(connection, "counting repeated IDs", rows):
            result["rows_ignoring_ids"] = rows - distinct_rows(others) if others else 0
            groups = f"SELECT count(*) AS n FROM {scan.held} GROUP BY {', '.join(held[name] for name in ids)}"
            query = f"SELECT coalesce(sum(n) FILTER (n > 1), 0), count(*) FILTER (n > 1) FROM ({groups})"
            repeated_rows, repeated_ids = connection.execute(query).fetchone()
        result["rows_with_repeated_id"] = int(repeated_rows)
        result["repeated_ids"] = int(repeated_ids)
    return result


def value_counts(scan: Scan, column: Column, label: str) -> pd.DataFrame:
    """Each value of one column (NULL: missing) with its rows, as pandas holds it: "value", "rows"."""
    query = f"SELECT v{column.index} AS value, count(*) AS rows FROM {scan.held} GROUP BY 1"
    with watched(scan.connection, label, scan.rows):
        frame = scan.connection.execute(query).df()
    if column.values == "number":
        frame["value"] = frame["value"].astype("float64")
    return frame


def numeric_summary(scan: Scan, column: Column) -> dict[str, Any]:
    """A regression target's summary, over every row: the keys `scope` turns into the target's block."""
    value = f"v{column.index}"
    number = value if column.values == "number" else _number(f"trim(CAST({value} AS VARCHAR))")
    query = (
        f"SELECT count({value}), count({number}), avg({number}), stddev_samp({number}), min({number}), "
        f"quantile_cont({number}, [0.25, 0.5, 0.75]), max({number}), skewness({number}) FROM {scan.held}"
    )
    with watched(scan.connection, "summarising the target", scan.rows):
        present, count, mean, std, low, quartiles, high, skew = scan.connection.execute(query).fetchone()
    return {"rows": scan.rows, "present": int(present), "count": int(count), "mean": mean, "std": std,
            "min": low, "quartiles": quartiles, "max": high, "skew": skew}  # fmt: skip
