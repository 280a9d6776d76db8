"""`predict --engine spark`: a file, a folder or a table scored on Spark with the scorer and the data-contract
checks of local `predict` (`spark_rows`, run by the executors through `mapInPandas`).

The session is the active one (spark-submit, a Databricks job) or, with `spark.master` set in
configs/project.yaml, a session on that master (e.g. local[4]). The model version is fixed when the command
starts: the driver loads and checks it, and broadcasts its files once.

Input: a CSV or Parquet path (a file or a folder; local, s3://, abfss://, dbfs:/, any URI Spark reads; a
folder is Parquet unless its name ends in .csv or it holds .csv files) or a table name (db.table,
catalog.schema.table). Output: Parquet written by Spark at --output (a folder), with the columns of local
`predict`: the ID columns present, prediction, probability_<class>, the interval or set, warnings.

Rows that break the contract: with on_error "fail" the first one stops the job, so no scored row is
committed (as with every Spark overwrite, an earlier output at --output is removed when the write starts;
a local output folder left empty is removed too); the bad rows are then counted and quoted as local
`predict` does. With "skip" the good rows are scored and the bad values go to `<output stem>.rejects.csv`
beside the output (a CSV folder with one part file: ID columns, row, column, value, reason). Rows are
numbered from 1 in Spark's reading order: for a single file, the row under the header is row 1, as in
local `predict`.
"""

from __future__ import annotations

import os
import re
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from ..artifacts.paths import REJECTS_SUFFIX
from ..core.config import Config
from ..core.errors import UserError
from ..core.progress import RowProgress, say
from ..data.tables import READERS
from ..training.conformal import check_coverage
from .batch import ON_ERROR, SHOWN_PROBLEMS, Tally
from .batch_chunks import INTERVAL_COLUMNS, PREDICTION_COLUMN, PROBABILITY_PREFIX, SET_COLUMN, WARNINGS_COLUMN
from .row_checks import REJECTS_COLUMNS
from .spark_rows import CONTRACT_STOP, Job, ModelFiles, problem_batches, score_batches
from .trained_model import TrainedModel, load_trained

INSTALL_HINT = (
    "`predict --engine spark` needs pyspark and a Java runtime 17 or newer: `make install-spark` "
    "(or `uv sync --group spark`), and Java from your system's packages (e.g. default-jre-headless)"
)
# db.table or catalog.schema.table, each part a plain or `quoted` identifier
TABLE_NAME = re.compile(r"^(?:[A-Za-z_]\w*|`[^`]+`)(?:\.(?:[A-Za-z_]\w*|`[^`]+`)){1,2}$")


def score_with_spark(
    config: Config, source: str, target: str, on_error: str = "fail", coverage_asked: bool = False
) -> dict[str, Any]:
    """Score `source` (path or table) into Parquet at `target` on Spark; the summary of local `predict`
    (rows, rejected, rejects, output, seconds)."""
    if on_error not in ON_ERROR:
        raise UserError(f"--on-error is {on_error!r}; use {' or '.join(ON_ERROR)}")
    started = time.perf_counter()
    source, target = str(source), str(target).rstrip("/")
    _check_output(source, target)
    trained = load_trained(config)  # the version scored, fixed now; its hashes and signature checked
    spark = spark_session(config)
    frame, csv = _read(spark, source)
    features = [feature["name"] for feature in trained.input_features]
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise UserError(f"{source} lacks the feature column(s) {', '.join(map(repr, missing))}")
    ids = [name for name in config.data.id_columns if name in frame.columns and name not in features]
    frame = frame.select(*[f"`{name}`" for name in ids + features])
    if frame.isEmpty():
        raise UserError(f"{source} has no rows to score (only a header, or no data at all)")
    check_coverage(config, trained.metadata.uncertainty, coverage_asked)
    schema = _output_schema(trained, ids, config)
    job = Job(config, _broadcast(spark, ModelFiles.of(trained)), csv, ids, schema.fieldNames())
    say(f"… scoring {source} on Spark ({_master(spark)}), model version {trained.version}")
    progress = RowProgress("scored on Spark", every=float("inf"))
    rejects, rejected = None, 0
    if on_error == "skip":
        rejects = rejects_location(target)
        with _spark_errors(f"Spark could not check the rows of {source} into {rejects}"):
            rejected = _write_rejects(frame, job, source, rejects)
    _write_scores(spark, frame, job, schema, source, target, fail=on_error == "fail")
    rows = spark.read.parquet(target).count()  # from the Parquet footers: no second scoring
    progress.add(rows)
    progress.finish()
    return {
        "rows": rows,
        "rejected": rejected,
        "rejects": rejects,
        "output": target,
        "seconds": round(time.perf_counter() - started, 2),
    }


# ---------------------------------------------------------------------------------------------------------
# The session, the input and the output


def spark_session(config: Config) -> Any:
    """The active session (spark-submit, Databricks) or one on `spark.master`. Python workers of a local
    master run this interpreter, which has the project and its dependencies."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    builder = SparkSession.builder.appName(f"{config.project_name or 'project'} predict")
    master = config.spark.master
    if master:
        builder = builder.master(master)
        if master.startswith("local"):
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # pyspark warns about every pandas it has not been released with; the project pins the pandas it tests.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    try:
        spark = builder.getOrCreate()
    except Exception as error:  # no Java, a Java too old, a master that does not answer
        raise UserError(f"Spark did not start ({_first_line(error)}); {INSTALL_HINT}") from None
    if master:  # a session of this command: its log is this terminal (a cluster's log stays as configured)
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def _master(spark: Any) -> str:
    try:
        return f"master {spark.sparkContext.master}"
    except Exception:  # Spark Connect has no SparkContext
        return "Spark Connect"


def input_kind(source: str) -> str:
    """ "csv", "parquet" or "table": by suffix, then a local folder's files, then the shape of the name."""
    suffix = READERS.get(Path(source.rstrip("/")).suffix.lower())
    if suffix:
        return suffix
    local = Path(source)
    if local.is_dir():
        return "csv" if any(local.glob("*.csv")) else "parquet"
    if "/" in source or ":" in source or local.exists():
        return "parquet"  # a folder Spark wrote, on a cluster's storage
    if TABLE_NAME.match(source):
        return "table"
    raise UserError(
        f"--input {source!r} is neither a path nor a table name; give a CSV or Parquet file or folder "
        "(e.g. data/new.csv, s3://bucket/batch/) or a table (e.g. sales.customers, main.sales.customers)"
    )


def _read(spark: Any, source: str) -> tuple[Any, bool]:
    """The input as a Spark DataFrame, and whether it was read as text (CSV)."""
    from pyspark.errors import AnalysisException

    kind = input_kind(source)
    if kind != "table" and "://" not in source and ":/" not in source and not Path(source).exists():
        raise UserError(f"input {source} does not exist")
    try:
        if kind == "table":
            return spark.read.table(source), False
        if kind == "parquet":
            return spark.read.parquet(source), False
        # Every column as text, quotes as pandas reads them; `as_read_locally` types each batch.
        # multiLine: a quoted line break stays inside its row (a single file is then one task to read).
        reader = spark.read.option("header", True).option("inferSchema", False).option("escape", '"')
        return reader.option("multiLine", True).csv(source), True
    except AnalysisException as error:
        raise UserError(f"{source} could not be read by Spark as {kind}: {_first_line(error)}") from None


def _check_output(source: str, target: str) -> None:
    if not target:
        raise UserError("--output is empty; give a path for the Parquet output, e.g. scores/batch.parquet")
    if source.rstrip("/") == target or Path(source).resolve() == Path(target).resolve():
        raise UserError(f"--output ({target}) is the input: scoring would overwrite it; write elsewhere")


def rejects_location(target: str) -> str:
    """Beside the output: `<output stem>.rejects.csv`, as local `predict` names it (here a Spark folder)."""
    head, _, name = target.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{head}/{stem}{REJECTS_SUFFIX}" if head else f"{stem}{REJECTS_SUFFIX}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


# ---------------------------------------------------------------------------------------------------------
# The passes


def _broadcast(spark: Any, files: ModelFiles) -> Any:
    """The model files, sent once to each executor (a broadcast); Spark Connect carries them in the plan."""
    try:
        return spark.sparkContext.broadcast(files)
    except Exception:  # Spark Connect: no SparkContext
        return _Carried(files)


class _Carried:
    """The model files inside the plan, for sessions without broadcasts; read like a Broadcast."""

    def __init__(self, value: ModelFiles) -> None:
        self.value = value


def _output_schema(trained: TrainedModel, ids: list[str], config: Config) -> Any:
    """The columns of local `predict`'s Parquet output: IDs as text, the prediction, the probabilities, and
    the interval's bounds or the set (JSON text) when there is uncertainty to give, the input warnings (JSON
    text)."""
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructField, StructType

    fields = [StructField(name, StringType()) for name in ids]
    if not trained.is_classification:
        label = DoubleType()
    elif all(isinstance(value, bool) for value in trained.classes):
        label = BooleanType()
    elif all(isinstance(value, int) and not isinstance(value, bool) for value in trained.classes):
        label = LongType()
    elif all(isinstance(value, int | float) for value in trained.classes):
        label = DoubleType()
    else:
        label = StringType()
    fields.append(StructField(PREDICTION_COLUMN, label))
    fields += [StructField(f"{PROBABILITY_PREFIX}{label}", DoubleType()) for label in trained.classes]
    if config.uncertainty.enabled and trained.metadata.uncertainty.enabled:
        if trained.is_classification:
            fields.append(StructField(SET_COLUMN, StringType()))
        else:
            fields += [StructField(name, DoubleType()) for name in INTERVAL_COLUMNS]
    fields.append(StructField(WARNINGS_COLUMN, StringType()))
    return StructType(fields)


def _write_scores(
    spark: Any, frame: Any, job: Job, schema: Any, source: str, target: str, fail: bool
) -> None:
    """The scoring pass, written as Parquet; with `fail`, a bad row stops it and the bad rows are counted."""
    scored = frame.mapInPandas(partial(score_batches, job=job, fail=fail), schema)
    try:
        with _quiet_task_errors(spark, job, fail), staged(spark, target) as staging:
            scored.write.mode("overwrite").parquet(staging)
        return
    except Exception as error:
        if not (fail and CONTRACT_STOP in str(error)):
            raise UserError(f"Spark could not score {source} into {target}: {spark_reason(error)}") from None
    with _spark_errors(f"Spark could not check the rows of {source}"):
        problems, total = _problems(frame, job)
        message = _tally(problems, frame.columns).message(source, total, "fail", rejects_location(target))
    raise UserError(message)


@contextmanager
def _spark_errors(doing: str) -> Iterator[None]:
    """A Spark job that fails (an executor without the project's dependencies, storage that refuses a
    write) as one line: `doing`, then the reason from the worker."""
    try:
        yield
    except UserError:
        raise
    except Exception as error:
        raise UserError(f"{doing}: {spark_reason(error)}") from None


@contextmanager
def _quiet_task_errors(spark: Any, job: Job, fail: bool) -> Iterator[None]:
    """On a session of this command (spark.master set), the stop at a bad row is not logged as a crash (a
    page of stack traces before the one-line error); the level is back afterwards."""
    quiet = fail and job.config.spark.master is not None
    if quiet:
        spark.sparkContext.setLogLevel("OFF")
    try:
        yield
    finally:
        if quiet:
            spark.sparkContext.setLogLevel("ERROR")


@contextmanager
def staged(spark: Any, target: str) -> Iterator[str]:
    """Where to write `target`'s folder: `<target>.partial`, moved onto `target` once the write is complete,
    so that a failed run leaves an earlier output as it was (local `predict` does the same with files).
    Through the cluster's Hadoop file system (local, HDFS, s3a, abfss; on object stores the move is a copy);
    a session without one (Spark Connect) writes to `target` itself, where Spark's overwrite removes an
    earlier output when the write starts."""
    files = _hadoop_files(spark, target)
    if files is None:
        yield target
        return
    fs, path_of = files
    staging = f"{target}.partial"
    try:
        yield staging
    except BaseException:
        fs.delete(path_of(staging), True)
        raise
    if fs.exists(path_of(target)):
        fs.delete(path_of(target), True)
    if not fs.rename(path_of(staging), path_of(target)):
        raise UserError(f"Spark wrote {staging} but could not move it to {target}")


def _hadoop_files(spark: Any, target: str) -> tuple[Any, Any] | None:
    """The Hadoop file system holding `target` and a maker of its paths; None without a JVM gateway."""
    try:
        jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
        path_of = jvm.org.apache.hadoop.fs.Path
        return path_of(target).getFileSystem(conf), path_of
    except Exception:  # Spark Connect: no JVM in this process
        return None


def spark_reason(error: BaseException) -> str:
    """The line of a Spark error that says what went wrong: the Python exception raised in a worker, else
    the first line."""
    found = re.findall(r"^\w+(?:Error|Exception): .+$", str(error), flags=re.MULTILINE)
    reason = found[-1][:300] if found else _first_line(error)
    if reason.startswith("ModuleNotFoundError"):
        reason += (
            " (the executors' Python needs the project and its dependencies: README, 'Scoring on Spark'; "
            "on a local master, PYSPARK_PYTHON must be the project's Python)"
        )
    return reason


def _write_rejects(frame: Any, job: Job, source: str, rejects: str) -> int:
    """The problems pass of on_error "skip": the bad values to `rejects`; the number of bad rows. A table
    without a single good row is an error, as in local `predict`."""
    problems, total = _problems(frame, job)
    rejected = problems.select("row").distinct().count()
    if rejected and rejected == total:
        raise UserError(_tally(problems, frame.columns).message(source, total, "skip", rejects))
    with staged(problems.sparkSession, rejects) as staging:
        problems.orderBy("row").coalesce(1).write.mode("overwrite").option("header", True).csv(staging)
    problems.unpersist()
    return rejected


def _problems(frame: Any, job: Job) -> tuple[Any, int]:
    """Every bad value of the input (cached) and the number of rows. A row's number counts the rows of the
    partitions before its own (one small counting job): for a single file, its line under the header."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    counts = frame.select(F.spark_partition_id().alias("p")).groupBy("p").count().collect()
    offsets, total = {}, 0
    for partition, rows in sorted((row["p"], row["count"]) for row in counts):
        offsets[partition] = total
        total += rows
    fields = [StructField(name, StringType()) for name in job.ids]
    fields += [StructField("row", LongType())]
    fields += [StructField(name, StringType()) for name in REJECTS_COLUMNS[1:]]
    numbered = replace(job, row_offsets=offsets)
    problems = frame.mapInPandas(partial(problem_batches, job=numbered), StructType(fields))
    return problems.cache(), total


def _tally(problems: Any, columns: list[str]) -> Tally:
    """The bad rows and values counted, the first few quoted in the order local `predict` quotes them (by
    row, then by column)."""
    from pyspark.sql import functions as F

    totals = problems.agg(F.countDistinct("row").alias("rows"), F.count("*").alias("values")).first()
    first = problems.orderBy("row").limit(SHOWN_PROBLEMS * len(columns)).toPandas()
    position = first["column"].map({name: index for index, name in enumerate(columns)})
    first = first.assign(position=position).sort_values(["row", "position"], kind="stable")
    tally = Tally()
    tally.add(first[REJECTS_COLUMNS])
    tally.rows, tally.values = int(totals["rows"]), int(totals["values"])
    return tally
