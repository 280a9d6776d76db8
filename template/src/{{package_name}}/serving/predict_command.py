"""`predict --input FILE --output FILE`: the command's options read against the settings, then the file
scored in this machine's processes (`batch.score_file`) or on Spark (`spark_batch.score_with_spark`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.config import Config, coverage_level
from ..core.errors import UserError
from ..core.settings import Invalid


def run_predict(
    config: Config,
    source: str,
    target: str,
    engine: str = "local",
    on_error: str = "fail",
    chunk_rows: int | None = None,
    workers: int | None = None,
    coverage: str | None = None,
) -> dict[str, Any]:
    """Score `source` into `target`; the summary (rows, rejected, rejects, output, seconds). Options left
    None take their setting (predict.chunk_rows, predict.workers, uncertainty.coverage)."""
    asked = coverage is not None
    if asked:
        config = replace(
            config, uncertainty=replace(config.uncertainty, coverage=coverage_argument(coverage))
        )
    if engine == "spark":
        from .spark_batch import score_with_spark

        return score_with_spark(config, source, target, on_error=on_error, coverage_asked=asked)
    from .batch import score_file, sigterm_as_interrupt

    with sigterm_as_interrupt():  # the partial output is removed on SIGTERM as on Ctrl+C
        return score_file(
            config,
            Path(source),
            Path(target),
            chunk_rows=chunk_rows if chunk_rows is not None else config.predict.chunk_rows,
            on_error=on_error,
            workers=workers if workers is not None else config.predict.workers,
            coverage_asked=asked,
        )


def coverage_argument(raw: str) -> float:
    """`--coverage` as a level, or the one-line error in the words the API's 422 uses for it."""
    try:
        return coverage_level(float(raw))
    except (ValueError, Invalid):  # Invalid is a ValueError; float("ninety") too
        message = f"--coverage is {raw!r}; expected a number strictly between 0 and 1, e.g. 0.9"
        raise UserError(message) from None
