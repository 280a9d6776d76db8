"""`predict --engine spark`: a rendered project installed with its Spark group (`make install-spark`) scores
the sample on a local[2] Spark session and gives what local `predict` gives, row for row (matched by the
ID column: Spark keeps no order), from a CSV file, a Parquet copy and a table; a file with bad rows fails as
local `predict` fails, or with `--on-error skip` scores the others and lists the bad ones.

Spark starts once: the Spark commands run through the project's own `main()` in one process (one session),
each with its own output captured; local `predict` runs as the command line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import Project, check, render, run

# One group: the module's project (an install with pyspark) is built once, on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.long_running, pytest.mark.xdist_group("spark")]

SAMPLE = "data/sample/customer_churn.csv"
ID = "customer_id"
# Broken on purpose, as a shifted export would break them: (row under the header, column, value).
BROKEN = [
    (3, "tenure_months", "abc"),
    (7, "plan", "17"),
    (7, "tenure_months", "twelve"),
    (4001, "monthly_charges", "x"),
]
# Outside what training saw, but scored (with its input warning): (row, column, value, warning kind).
WARNED = [
    (20, "monthly_charges", "99999", "out_of_range"),
    (21, "region", "Atlantis", "unseen_category"),
    (22, "logins_30d", "", "missing"),  # a feature that had no missing values in training
]

# Several command lines through one interpreter: one Spark session for all of them.
RUN_COMMANDS = """
import contextlib, io, json, sys
from {package}.cli import main
from {package}.core.config import load_config
from {package}.serving.spark_batch import spark_session
# A table in the session's catalog, as a cluster's metastore would hold the batch (`--input db.table`).
spark = spark_session(load_config())
spark.read.parquet("data/sample.parquet").write.mode("overwrite").saveAsTable("default.batch_table")
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append({{"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}})
print("RESULTS " + json.dumps(results))
"""


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The default project with pyspark, trained, local[2] in its settings; every scoring done once."""
    root = render(tmp_path_factory.mktemp("spark") / "acme-churn")
    check(run(["make", "install-spark"], cwd=root, timeout=1200))
    settings = root / "configs" / "project.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "spark:\n" in text and "  master: null" in text, "the settings file has no spark.master"
    settings.write_text(text.replace("  master: null", '  master: "local[2]"'), encoding="utf-8")
    project = Project(root, root / ".venv" / "bin" / "python")
    check(project.cli("train"))
    data = root / "data"
    # The Parquet copy holds the values as local `predict` reads the CSV file: typed, empty cells missing.
    pd.read_csv(root / SAMPLE, keep_default_na=False, na_values=[""]).to_parquet(data / "sample.parquet")
    sample = pd.read_csv(root / SAMPLE, dtype=str, keep_default_na=False)
    bad = sample.copy()
    for row, column, value in BROKEN:
        bad.loc[row - 1, column] = value
    for row, column, value, _ in WARNED:
        bad.loc[row - 1, column] = value
    bad.to_csv(data / "bad.csv", index=False)
    # Quoted line breaks inside values (an ID and a category), as exports of free-text fields carry them.
    multiline = sample.head(200).copy()
    multiline.loc[4, ID] = "C-line\nbreak"
    multiline.loc[9, "cancellation_reason"] = 'moved\n"abroad", then\r\nback'
    multiline.to_csv(data / "multiline.csv", index=False)
    # An earlier output where the failing run writes: a failed run must leave it as it was.
    (root / "out" / "spark_fail.parquet").mkdir(parents=True)
    (root / "out" / "spark_fail.parquet" / "part-earlier.parquet").write_bytes(b"an earlier run")
    local = {
        name: project.cli("predict", "--input", source, "--output", f"out/{name}.parquet", *extra)
        for name, source, extra in [
            ("local", SAMPLE, []),
            ("local_fail", "data/bad.csv", []),
            ("local_skip", "data/bad.csv", ["--on-error", "skip"]),
            ("local_multiline", "data/multiline.csv", []),
        ]
    }
    commands = {
        "spark_csv": [SAMPLE],
        "spark_parquet": ["data/sample.parquet"],
        "spark_table": ["default.batch_table"],
        "spark_fail": ["data/bad.csv"],
        "spark_skip": ["data/bad.csv", "--on-error", "skip"],
        "spark_multiline": ["data/multiline.csv"],
    }
    argvs = [
        ["predict", "--engine", "spark", "--input", source, "--output", f"out/{name}.parquet", *extra]
        for name, (source, *extra) in commands.items()
    ]
    script = RUN_COMMANDS.format(package=project.package)
    result = check(run([project.python, "-c", script, json.dumps(argvs)], cwd=root, env=project.env))
    spark = json.loads(result.stdout.split("RESULTS ", 1)[1])
    return {"project": project, "local": local, "spark": dict(zip(commands, spark, strict=True))}


def scores(folder: Path) -> pd.DataFrame:
    """A Parquet output (file or Spark folder) in the order of its IDs."""
    return pd.read_parquet(folder).sort_values(ID, ignore_index=True)


def test_spark_scores_csv_and_parquet_exactly_as_local_predict(spark_run: dict) -> None:
    root = spark_run["project"].root
    check(spark_run["local"]["local"])
    expected = scores(root / "out" / "local.parquet")
    assert len(expected) == 5000 and expected[ID].is_unique
    # The conformal prediction set and the input warnings of each row (JSON text): local predict's columns.
    assert list(expected.columns) == [ID, "prediction", "probability_0", "probability_1", "set", "warnings"]
    for name in ("spark_csv", "spark_parquet", "spark_table"):
        outcome = spark_run["spark"][name]
        assert outcome["code"] == 0, outcome["stderr"]
        assert "5,000 rows scored in" in outcome["stdout"] and f"out/{name}.parquet" in outcome["stdout"]
        assert "scored on Spark: 5,000 rows" in outcome["stderr"]  # the progress line at the end
        folder = root / "out" / f"{name}.parquet"
        assert folder.is_dir() and list(folder.glob("part-*.parquet")), "Spark writes a folder of parts"
        got = scores(folder)
        assert list(got.columns) == list(expected.columns)
        pd.testing.assert_frame_equal(got.astype({ID: str}), expected.astype({ID: str}), check_exact=True)
        assert got["prediction"].nunique() == 2  # both classes predicted: a real model, not a constant
        assert got["set"].nunique() > 1  # sets of one class and of both: real thresholds, not a constant


def test_spark_fail_writes_nothing_and_words_the_error_as_local_predict(spark_run: dict) -> None:
    root = spark_run["project"].root
    local, spark = spark_run["local"]["local_fail"], spark_run["spark"]["spark_fail"]
    assert local.returncode == 2 and spark["code"] == 2
    earlier = root / "out" / "spark_fail.parquet"
    assert [path.name for path in earlier.iterdir()] == ["part-earlier.parquet"], "nothing is committed"
    assert (earlier / "part-earlier.parquet").read_bytes() == b"an earlier run"
    assert not (root / "out" / "spark_fail.parquet.partial").exists(), "nor leaves its staging folder"
    message = spark["stderr"].strip().splitlines()[-1]
    assert message.startswith("error: 3 of 5,000 rows of data/bad.csv break the model's data contract")
    for row, column, value in BROKEN:
        assert f"row {row}, column {column!r}: value {value!r}" in message
    # Word for word local predict's message, but for the name of the rejects file it suggests.
    expected = local.stderr.strip().splitlines()[-1]
    assert message == expected.replace("out/local_fail.rejects.csv", "out/spark_fail.rejects.csv")


def test_spark_skip_scores_the_good_rows_and_lists_the_bad_ones(spark_run: dict) -> None:
    root = spark_run["project"].root
    spark = spark_run["spark"]["spark_skip"]
    assert spark["code"] == 0, spark["stderr"]
    assert "4,997 rows scored, 3 rejected (listed in out/spark_skip.rejects.csv)" in spark["stdout"]
    check(spark_run["local"]["local_skip"])
    expected = scores(root / "out" / "local_skip.parquet")
    got = scores(root / "out" / "spark_skip.parquet")
    pd.testing.assert_frame_equal(got.astype({ID: str}), expected.astype({ID: str}), check_exact=True)
    [part] = (root / "out" / "spark_skip.rejects.csv").glob("part-*.csv")
    rejects = pd.read_csv(part, dtype=str, keep_default_na=False)
    local_rejects = pd.read_csv(root / "out" / "local_skip.rejects.csv", dtype=str, keep_default_na=False)
    key = ["row", "column"]
    assert list(rejects.columns) == [ID, *local_rejects.columns]
    pd.testing.assert_frame_equal(
        rejects.drop(columns=ID).sort_values(key, ignore_index=True),
        local_rejects.sort_values(key, ignore_index=True),
    )
    # The ID of each listed row is the ID of that row of the file (row 1: the row under the header).
    sample = pd.read_csv(root / SAMPLE, dtype=str, keep_default_na=False)
    for row, customer in zip(rejects["row"].astype(int), rejects[ID], strict=True):
        assert sample.loc[row - 1, ID] == customer
    listed = sorted(
        (int(row), column, value) for row, column, value in rejects[["row", "column", "value"]].values
    )
    assert listed == sorted(BROKEN)
    # The rows outside what training saw are scored, each with its warning, as local predict gives it.
    warned = got.set_index(ID)["warnings"]
    for row, column, _, kind in WARNED:
        assert json.loads(warned[sample.loc[row - 1, ID]]) == [{"feature": column, "kind": kind}]


def test_quoted_line_breaks_stay_inside_their_rows(spark_run: dict) -> None:
    root = spark_run["project"].root
    check(spark_run["local"]["local_multiline"])
    outcome = spark_run["spark"]["spark_multiline"]
    assert outcome["code"] == 0, outcome["stderr"]
    assert "200 rows scored in" in outcome["stdout"]
    expected = scores(root / "out" / "local_multiline.parquet")
    got = scores(root / "out" / "spark_multiline.parquet")
    assert "C-line\nbreak" in set(got[ID]) and len(got) == 200
    pd.testing.assert_frame_equal(got.astype({ID: str}), expected.astype({ID: str}), check_exact=True)
    assert not (root / "out" / "spark_multiline.parquet.partial").exists()


def test_spark_without_pyspark_says_how_to_install_it(spark_run: dict) -> None:
    """The default install has no pyspark: one line saying what to install, exit 2."""
    project = spark_run["project"]
    script = (
        f"import sys; sys.modules['pyspark'] = None; from {project.package}.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    argv = ["predict", "--engine", "spark", "--input", SAMPLE, "--output", "out/none.parquet"]
    result = run([project.python, "-c", script, *argv], cwd=project.root, env=project.env)
    assert result.returncode == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("error: ") and "make install-spark" in line and "Java" in line
    assert re.search(r"17 or newer", line)
