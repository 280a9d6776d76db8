"""The target's findings in plain words: rows without a target, too few rows to judge a model by, a
target that is not numeric or is skewed, the wrong number of classes, imbalanced and very rare classes."""

from __future__ import annotations

from typing import Any

from ..core.config import Config
from ..core.wording import count
from .common import Issue, make_issue

TINY_ROWS = 100  # fewer labelled rows: scores swing from fold to fold and flexible models memorise
MIN_ROWS_PER_FOLD = 5  # of the rarest class (classification) in each validation fold


def target_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    target = config.data.target
    issues = []
    if distribution["missing"]:
        issues.append(
            make_issue(
                "warning",
                "target",
                target,
                f"{count(distribution['missing'], 'row')} without a target",
                f"{count(distribution['missing'], 'row has', 'rows have')} no value in '{target}'. Rows "
                "without a target cannot be used for training and are dropped; ask the client why the "
                "outcome is unknown for them.",
            )
        )
    issues += _size_issues(distribution, config)
    if distribution["type"] == "numeric":
        return issues + _numeric_target_issues(distribution, target)
    return issues + _class_issues(distribution, config)


def _size_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    """Too few rows to judge a model by: overall (tiny tables), or of the rarest class in each validation
    fold. Classes too rare to validate at all have their own finding (`_rare_class_issues`)."""
    folds = config.model.cv_folds
    classes = distribution["type"] == "classes"
    labelled = sum(distribution["counts"].values()) if classes else distribution["count"]
    rarest = distribution["counts"].get(distribution.get("minority"), 0) if classes else 0
    if 0 < labelled < TINY_ROWS:
        return [_tiny_data_issue(labelled, distribution if classes else None, config)]
    if classes and 2 * folds <= rarest < MIN_ROWS_PER_FOLD * folds:
        label = distribution["minority"]
        fewer_folds = "Fewer folds (model.cv_folds: 3) give each fold more of them. " if folds > 3 else ""
        return [
            make_issue(
                "info",
                "target",
                config.data.target,
                f"few '{label}' rows per validation fold",
                f"'{label}' has {count(rarest, 'row')}: about {rarest / folds:.0f} in each of the "
                f"{folds} validation folds (model.cv_folds), so the scores on it will vary from fold to "
                f"fold. {fewer_folds}More examples of '{label}' from the client would help most.",
            )
        ]
    return []


def _tiny_data_issue(labelled: int, distribution: dict[str, Any] | None, config: Config) -> Issue:
    folds = config.model.cv_folds
    per_fold = f"each validation fold holds about {count(round(labelled / folds), 'row')}"
    if distribution and distribution.get("classes", 0) > 1:
        rarest = distribution["counts"][distribution["minority"]]
        per_fold += (
            f" (of which about {rarest / folds:.1f} of the rarest class, '{distribution['minority']}')"
        )
    return make_issue(
        "warning",
        "size",
        None,
        f"tiny data: {count(labelled, 'row')} with a target",
        f"Only {count(labelled, 'row has', 'rows have')} a target. With model.cv_folds = {folds}, "
        f"{per_fold}: cross-validated scores will swing from fold to fold, and a flexible model can "
        f"memorise so few rows and still look good. {_small_data_advice(config)}",
    )


def _small_data_advice(config: Config) -> str:
    """What to try with little data, leaving out what the config already does."""
    steps = []
    if config.model.family != "linear":
        steps.append("a simpler model (model.family: linear)")
    if config.model.cv_folds > 3:
        steps.append("fewer folds (model.cv_folds: 3)")
    steps.append("more data from the client")
    return "Try " + ", ".join(steps[:-1]) + (" and " if len(steps) > 1 else "") + steps[-1] + "."


def _numeric_target_issues(distribution: dict[str, Any], target: str) -> list[Issue]:
    issues = []
    if distribution["not_numeric"]:
        values = count(
            distribution["not_numeric"], "value that is not a number", "values that are not numbers"
        )
        issues.append(
            make_issue(
                "warning",
                "target",
                target,
                "target is not numeric",
                f"'{target}' holds {values}, but the problem type "
                "is regression. Fix the values, or choose binary or multiclass for labels.",
            )
        )
    if distribution.get("skewed"):
        side = "large" if distribution["skew"] > 0 else "small"
        issues.append(
            make_issue(
                "info",
                "target",
                target,
                "target is skewed",
                f"'{target}' is skewed (skewness {distribution['skew']:.1f}): a few very {side} values. "
                "Errors on them weigh heavily in the scores; compare the median error as well.",
            )
        )
    return issues


def _class_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    target = config.data.target
    classes = distribution.get("classes", 0)
    issues = []
    if config.problem_type == "binary" and classes != 2:
        issues.append(
            make_issue(
                "warning",
                "target",
                target,
                f"{count(classes, 'class', 'classes')} for a binary problem",
                f"'{target}' has {count(classes, 'distinct value')}, but the problem type is binary (two "
                "classes). Set problem_type in configs/project.yaml, or fix the labels.",
            )
        )
    if config.problem_type == "multiclass" and classes < 3:
        issues.append(
            make_issue(
                "info",
                "target",
                target,
                f"only {count(classes, 'class', 'classes')}",
                f"'{target}' has only {count(classes, 'class', 'classes')}; "
                + (
                    "problem_type binary would describe it better."
                    if classes == 2
                    else "a model needs at least two classes to learn from."
                ),
            )
        )
    if distribution.get("imbalanced"):
        issues.append(_imbalance_issue(distribution, target))
    return issues + _rare_class_issues(distribution, config)


def _imbalance_issue(distribution: dict[str, Any], target: str) -> Issue:
    """The rarest class against an even split, and the most common class against the rarest."""
    classes = distribution["classes"]
    ratio = distribution["imbalance_ratio"]
    times = f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.1f}"
    return make_issue(
        "warning",
        "target",
        target,
        "imbalanced target",
        f"The rarest class of '{target}', '{distribution['minority']}', is "
        f"{distribution['minority_share']:.1%} of rows, against {distribution['even_share']:.1%} each if "
        f"the {classes} classes were even; the most common, '{distribution['majority']}', has {times} times "
        "as many rows. Accuracy would mislead; the model is judged on metrics that weigh every class.",
    )


def _rare_class_issues(distribution: dict[str, Any], config: Config) -> list[Issue]:
    enough = 2 * config.model.cv_folds
    rare = [label for label, rows in distribution["counts"].items() if rows < enough]
    if not rare:
        return []
    listed = ", ".join(f"'{label}' ({distribution['counts'][label]:,})" for label in rare[:5])
    listed += " …" if len(rare) > 5 else ""
    return [
        make_issue(
            "warning",
            "target",
            config.data.target,
            count(len(rare), "very rare class", "very rare classes"),
            f"{count(len(rare), 'class has', 'classes have')} fewer than {enough} rows (twice "
            f"model.cv_folds = {config.model.cv_folds}): {listed}. Too few to learn from or to validate on; "
            "merge them with a related class or collect more examples.",
        )
    ]
