"""The findings in plain words: one entry per finding (severity, check, column, summary, message), warnings
first. Warnings need a decision before modelling; info is good to know. The target's and the dates'
findings are worded in `findings_target` and `findings_time`."""

from __future__ import annotations

from typing import Any

from ..core.config import Config
from ..core.wording import count
from .common import Issue, make_issue
from .findings_target import target_issues
from .findings_time import time_issues

MOSTLY_MISSING_SHARE = 0.5
SEVERITIES = ("warning", "info")
# Checks whose findings take a column out of the features, in the order their reasons are listed.
EXCLUDING_CHECKS = ("leakage", "personal_data", "id_like", "constant")


def list_issues(findings: dict[str, Any], config: Config) -> list[Issue]:
    """One entry per finding, with a short summary (used as the exclusion reason) and a message a client
    can read. Warnings need a decision before modelling; info is good to know."""
    issues = [
        *_leakage_issues(findings["leakage"], config.data.target),
        *_personal_data_issues(findings["personal_data"]),
        *_duplicate_issues(findings["duplicates"], config),
        *target_issues(findings["target_distribution"], config),
        *_id_like_issues(findings["id_like_columns"], findings["personal_data"]),
        *_constant_issues(findings["constant_columns"]),
    ]
    for coverage in findings["time_coverage"]:
        issues += time_issues(coverage, config)
    issues += _missing_marker_issues(findings.get("missing_markers", {}))
    issues += _kept_marker_issues(findings.get("kept_markers", {}), config)
    left_out = {issue["column"] for issue in issues if issue["check"] in EXCLUDING_CHECKS}
    issues += _feature_issues(findings["columns"], left_out, config)
    issues += _skipped_scan_issues(findings["leakage"])
    order = {severity: index for index, severity in enumerate(SEVERITIES)}
    return sorted(issues, key=lambda issue: order[issue["severity"]])


def _leakage_issues(leakage: dict[str, Any], target: str) -> list[Issue]:
    scores = {item["column"]: item["score"] for item in leakage["scores"]}
    issues = []
    for name in leakage["suspects"]:
        score = f"{leakage['metric_label']} {scores[name]:.2f}"
        issues.append(
            make_issue(
                "warning",
                "leakage",
                name,
                f"leakage suspect: alone predicts the target with {score}",
                f"'{name}' alone predicts '{target}' almost perfectly ({score}). It is probably recorded "
                "after the outcome, or is a copy of it; it is left out of the model. Ask the client when "
                "this value is filled in.",
            )
        )
    return issues


def _personal_data_issues(personal_data: list[dict[str, Any]]) -> list[Issue]:
    issues = []
    for item in personal_data:
        found_by = " and ".join(
            part
            for part, hit in (
                ("its name", item["by_name"]),
                (f"{(item['value_share'] or 0):.0%} of sampled values", item["by_values"]),
            )
            if hit
        )
        if item.get("quasi_identifier"):
            issues.append(_quasi_identifier_issue(item, found_by))
            continue
        issues.append(
            make_issue(
                "warning",
                "personal_data",
                item["column"],
                f"personal data: {item['kind']}",
                f"'{item['column']}' looks like personal data ({item['kind']}, going by {found_by}). It is "
                "left out of the model; agree with the client whether it should be in the data at all.",
            )
        )
    return issues


def _quasi_identifier_issue(item: dict[str, Any], found_by: str) -> Issue:
    """A postcode: kept as a feature unless the table also describes people (then it is left out, under
    the `personal_data` check so that it is excluded). `data.keep_columns` overrides either way."""
    name, kind = item["column"], item["kind"]
    rule = (
        f"'{name}' looks like {kind} (going by {found_by}): a quasi-identifier. Alone it names an area, "
        "not a person; with facts about a person it can single one out, so the audit leaves it out only "
        "when the table also describes people."
    )
    if item["excluded"]:
        people = ", ".join(f"'{column}'" for column in item["people_columns"][:4])
        return make_issue(
            "info",
            "personal_data",
            name,
            f"quasi-identifier: {kind}, left out (the table describes people)",
            f"{rule} It does ({people}), so '{name}' is left out. To use it anyway, add it to "
            "data.keep_columns in configs/project.yaml.",
        )
    return make_issue(
        "info",
        "quasi_identifier",
        name,
        f"quasi-identifier: {kind}, kept",
        f"{rule} No column here describes a person, so '{name}' is kept as a feature. To leave it out, add "
        "it to data.drop_columns in configs/project.yaml.",
    )


def _duplicate_issues(duplicates: dict[str, Any], config: Config) -> list[Issue]:
    issues = []
    if duplicates["rows"]:
        copies = count(duplicates["rows"], "row is an exact copy", "rows are exact copies")
        issues.append(
            make_issue(
                "warning",
                "duplicates",
                None,
                count(duplicates["rows"], "duplicate row"),
                f"{copies} of another row ({duplicates['share']:.1%} of rows). Ask the client whether these "
                "are real repeats or an export error; copies inflate cross-validated scores.",
            )
        )
    ids = ", ".join(duplicates["id_columns"])
    if duplicates.get("repeated_ids"):
        issues.append(_repeated_id_issue(duplicates, ids, config))
    if duplicates.get("rows_ignoring_ids", 0) > duplicates["rows"]:
        issues.append(
            make_issue(
                "info",
                "duplicates",
                None,
                f"{count(duplicates['rows_ignoring_ids'], 'row repeats', 'rows repeat')} apart from the ID",
                f"{count(duplicates['rows_ignoring_ids'], 'row is', 'rows are')} identical to another row "
                f"in everything but the ID ({ids}).",
            )
        )
    return issues


def _repeated_id_issue(duplicates: dict[str, Any], ids: str, config: Config) -> Issue:
    """Several rows per ID (a customer's visits, a firm's years) are fine when expected: training keeps
    each ID's rows together, so that the model is never scored on an ID it has seen. With a time column,
    validation is split by time instead."""
    values = count(duplicates["repeated_ids"], "value", "values")
    verb = "occurs" if duplicates["repeated_ids"] == 1 else "occur"
    if config.data.time_column:
        handling = (
            f"validation splits by time ('{config.data.time_column}'), so an ID's earlier rows can train the "
            "model and its later rows test it."
        )
    else:
        handling = (
            "training keeps each ID's rows in one cross-validation fold, so the model is always tested on "
            "IDs it has not seen."
        )
    return make_issue(
        "info",
        "duplicates",
        ids,
        count(duplicates["repeated_ids"], "repeated ID"),
        f"{values} of the ID ({ids}) {verb} more than once "
        f"({count(duplicates['rows_with_repeated_id'], 'row')}). If several rows per ID are expected, "
        f"{handling} If one row per ID was expected, ask the client about the repeats.",
    )


def _id_like_issues(id_like: list[dict[str, Any]], personal_data: list[dict[str, Any]]) -> list[Issue]:
    personal = {item["column"] for item in personal_data if item["excluded"]}
    return [
        make_issue(
            "warning",
            "id_like",
            item["column"],
            f"looks like an identifier ({item['reason']})",
            f"'{item['column']}' looks like an identifier ({item['reason']}): a model can memorise it but it "
            "tells nothing about new rows, so it is left out. If it is an ID, add it to data.id_columns.",
        )
        for item in id_like
        if item["column"] not in personal  # the personal-data finding already takes it out
    ]


def _constant_issues(constant_columns: list[dict[str, Any]]) -> list[Issue]:
    issues = []
    for item in constant_columns:
        empty = item["value"] is None
        issues.append(
            make_issue(
                "warning",
                "constant",
                item["column"],
                "empty: no values" if empty else "constant: the same value in every row",
                f"'{item['column']}' "
                + ("is empty" if empty else f"holds the same value ({item['value']}) in every row")
                + ": it carries no information and is left out.",
            )
        )
    return issues


def _feature_issues(profiles: list[dict[str, Any]], left_out: set[str], config: Config) -> list[Issue]:
    """Free text and mostly-missing columns among the features that no other finding leaves out."""
    issues = []
    for profile in profiles:
        name = profile["name"]
        if profile["role"] != "feature" or name in left_out:
            continue
        if profile["kind"] == "text":
            issues.append(
                make_issue(
                    "info",
                    "free_text",
                    name,
                    f"free text ({profile['distinct']:,} distinct values)",
                    f"'{name}' has {profile['distinct']:,} distinct text values (more than "
                    f"data.max_categories = {config.data.max_categories}), so it is treated as free text "
                    "and left out of the model. If it matters, group its values or derive features from it "
                    "in features.py.",
                )
            )
        elif MOSTLY_MISSING_SHARE <= profile["missing_share"] < 1:
            issues.append(
                make_issue(
                    "info",
                    "missing",
                    name,
                    f"{profile['missing_share']:.0%} missing",
                    f"'{name}' is missing in {profile['missing_share']:.0%} of rows. The model fills the "
                    "gaps and marks them; ask the client whether 'missing' has a meaning here.",
                )
            )
    return issues


def _missing_marker_issues(markers: dict[str, dict[str, int]]) -> list[Issue]:
    """One note per column: which text the loader read as a missing value, and in how many cells, so that
    a marker that is really a value (a product called 'NA') is seen."""
    issues = []
    for column, counts in markers.items():
        parts = [f"'{marker}' in {count(cells, 'cell')}" for marker, cells in counts.items()]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        issues.append(
            make_issue(
                "info",
                "missing",
                column,
                f"read as missing: {listed}",
                f"The loader read {listed} of '{column}' as missing values. If such a value means "
                "something here (not 'unknown'), ask the client and correct the export.",
            )
        )
    return issues


def _kept_marker_issues(markers: dict[str, dict[str, int]], config: Config) -> list[Issue]:
    """One finding per text column holding a word that often means "no value": kept as a value, which is
    right for a class called "None" and wrong for an export's NA; a warning on the target, whose classes
    the model learns."""
    issues = []
    for column, counts in markers.items():
        parts = [f"'{marker}' ({count(cells, 'cell')})" for marker, cells in counts.items()]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        target = column == config.data.target
        example = next(iter(counts))
        issues.append(
            make_issue(
                "warning" if target else "info",
                "missing",
                column,
                f"kept as {'classes' if target else 'values'}: {listed}",
                f"'{column}' holds {listed}, which often stand for a missing value; they are kept as "
                f"{'classes of the target' if target else 'values'}. If they mean 'unknown', list them in "
                f"data.missing_values in configs/project.yaml (e.g. data.missing_values: ['{example}']).",
            )
        )
    return issues


def _skipped_scan_issues(leakage: dict[str, Any]) -> list[Issue]:
    if not leakage["skipped"]:
        return []
    message = f"The leakage scan was skipped: {leakage['skipped']}."
    return [make_issue("info", "leakage", None, "leakage scan skipped", message)]
