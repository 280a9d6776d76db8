"""The audit's figures (matplotlib Figures): the notebook shows them, the HTML report embeds them. Each
reads the findings of `checks.detect`, so that what is drawn always agrees with `audit.json`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..reporting import html as h
from ..reporting import plots
from .findings import MOSTLY_MISSING_SHARE
from .tables import exclusions

WIDE = 8.6  # inches: single charts fill the report's width
NUMERIC_PLOTS = 12  # small multiples per figure, so that each stays readable
CATEGORICAL_PLOTS = 9
MIN_GRID_WIDTH = 6.0  # inches: a figure of one or two panels still fits its title


def plot_columns(frame: pd.DataFrame, findings: dict[str, Any], kind: str) -> list[str]:
    """Feature columns of one kind that are worth plotting (not excluded by the audit)."""
    excluded = exclusions(findings)
    return [
        p["name"]
        for p in findings["columns"]
        if p["role"] == "feature" and p["kind"] == kind and p["name"] not in excluded and p["name"] in frame
    ]


def missing_values_figure(findings: dict[str, Any], top: int = 25) -> Any:
    """Share of missing values per column (columns without gaps left out); None when nothing is missing."""
    rows = sorted((p for p in findings["columns"] if p["missing"]), key=lambda p: -p["missing_share"])[:top]
    if not rows:
        return None
    with plots.style():
        figure, ax = plots.new_figure(WIDE, 0.9 + 0.3 * len(rows))
        names = [plots.short_label(p["name"], 32) for p in rows][::-1]
        shares = [p["missing_share"] for p in rows][::-1]
        colors = [plots.WARNING if share >= MOSTLY_MISSING_SHARE else plots.ACCENT for share in shares]
        bars = ax.barh(names, shares, color=colors)
        ax.bar_label(bars, labels=[f"{share:.1%}" for share in shares], padding=3, fontsize=8)
        ax.set_xlim(0, min(1.0, max(shares) * 1.2 + 0.02))
        plots.percent_axis(ax, "x")
        ax.grid(axis="y", visible=False)
        plots.label(ax, "Missing values per column", "share of rows with no value")
    return figure


def target_figure(frame: pd.DataFrame, findings: dict[str, Any]) -> Any:
    """Rows per class (classification) or the distribution of the target (regression)."""
    with plots.style():
        if findings["target_distribution"]["type"] == "classes":
            return _class_counts_figure(findings)
        return _target_histogram(frame, findings["target"])


def _class_counts_figure(findings: dict[str, Any]) -> Any:
    """Rows per class (the 20 most common), with counts and shares beside the bars."""
    distribution = findings["target_distribution"]
    counts = list(distribution["counts"].items())[:20][::-1]
    figure, ax = plots.new_figure(WIDE, 0.9 + 0.32 * max(len(counts), 2))
    total = sum(distribution["counts"].values())
    bars = ax.barh([plots.short_label(label) for label, _ in counts], [count for _, count in counts])
    ax.bar_label(
        bars, labels=[f"{count:,} ({count / total:.1%})" for _, count in counts], padding=3, fontsize=8
    )
    ax.set_xlim(0, max(count for _, count in counts) * 1.25)
    for bar in bars:
        bar.set_color(plots.ACCENT)
    ax.grid(axis="y", visible=False)
    plots.thousands_axis(ax, "x")
    plots.label(ax, f"Target '{findings['target']}': rows per class", "rows")
    return figure


def _target_histogram(frame: pd.DataFrame, target: str) -> Any:
    """The distribution of a numeric target, with its median marked."""
    values = pd.to_numeric(frame[target], errors="coerce").dropna()
    figure, ax = plots.new_figure(WIDE, 3.0)
    ax.hist(values, bins=40, color=plots.ACCENT)
    if len(values):
        ax.axvline(values.median(), color=plots.WARNING, linestyle="--", linewidth=1.2)
        ax.annotate(
            f" median {h.format_value(float(values.median()))}",
            xy=(values.median(), 1),
            xycoords=("data", "axes fraction"),
            va="top",
            fontsize=8,
            color=plots.WARNING,
        )
    plots.thousands_axis(ax, "y")
    plots.thousands_axis(ax, "x")
    plots.label(ax, f"Target '{target}': distribution", target, "rows")
    return figure


def leakage_figure(findings: dict[str, Any], top: int = 15) -> Any:
    """Each column's score when it alone predicts the target; suspects above the threshold in red."""
    leakage = findings["leakage"]
    rows = leakage["scores"][:top][::-1]
    if not rows:
        return None
    with plots.style():
        figure, ax = plots.new_figure(WIDE, 1.1 + 0.3 * len(rows))
        scores = [row["score"] for row in rows]
        colors = [
            plots.WARNING if row["column"] in leakage["suspects"] else plots.ACCENT_LIGHT for row in rows
        ]
        bars = ax.barh([plots.short_label(row["column"], 32) for row in rows], scores, color=colors)
        # + 0.0 after rounding: a score of -0.001 is labelled 0.00, not -0.00
        ax.bar_label(bars, labels=[f"{round(score, 2) + 0.0:.2f}" for score in scores], padding=3, fontsize=8)
        chance = leakage["chance"] or 0.0
        lowest = min(min(scores), chance)
        left = lowest - (0.15 if lowest < chance else 0.05)  # room for the label of a bar below chance
        ax.set_xlim(max(left, -1.0), 1.08)
        _reference_lines(ax, leakage, chance)
        ax.grid(axis="y", visible=False)
        plots.label(
            ax,
            "How well each column alone predicts the target",
            f"{leakage['metric_label']} (cross-validated)",
            pad=16,  # room for the line labels above the axes
        )
    return figure


def _reference_lines(ax: Any, leakage: dict[str, Any], chance: float) -> None:
    """The suspect threshold and the chance (or average) level, labelled above the axes."""
    ax.axvline(leakage["threshold"], color=plots.WARNING, linestyle="--", linewidth=1)
    ax.axvline(chance, color=plots.MUTED, linestyle=":", linewidth=1)
    for x, text, color in (
        (leakage["threshold"], "suspect", plots.WARNING),
        (chance, "average" if leakage["metric"] == "r2" else "chance", plots.MUTED),
    ):
        ax.text(x, 1.0, f" {text}", transform=ax.get_xaxis_transform(), color=color, fontsize=8, va="bottom")


def numeric_histograms_figure(
    frame: pd.DataFrame, findings: dict[str, Any], limit: int = NUMERIC_PLOTS
) -> Any:
    """Small multiples: the distribution of each numeric feature (at most `limit`); None if there are none."""
    names = plot_columns(frame, findings, "numeric")[:limit]
    if not names:
        return None
    with plots.style():
        figure, panels = _small_multiples(len(names), per_row=4, panel_width=2.4, panel_height=2.0)
        for ax, name in zip(panels, names, strict=False):
            values = frame[name].dropna().astype("float64")
            ax.hist(values, bins=_histogram_bins(values), color=plots.ACCENT)
            ax.set_title(plots.short_label(name, 24), fontsize=9)
            ax.tick_params(labelsize=8)
            plots.thousands_axis(ax, "y")
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel("rows")
        figure.suptitle(
            "Numeric features: distribution of values", x=0.01, ha="left", fontweight="bold", fontsize=10
        )
    return figure


def _small_multiples(count: int, per_row: int, panel_width: float, panel_height: float) -> tuple[Any, list]:
    """A grid of `count` panels (at most `per_row` per row), the unused cells of the last row hidden; one
    panel is a 1×1 grid like any other."""
    ncols = min(per_row, count)
    nrows = math.ceil(count / ncols)
    width = max(panel_width * ncols + 0.4, MIN_GRID_WIDTH)  # room for the figure's title
    figure, axes = plots.new_grid(width, panel_height * nrows + 0.5, nrows, ncols)
    cells = list(axes.flat)
    for ax in cells[count:]:
        ax.set_visible(False)
    return figure, cells[:count]


def _histogram_bins(values: pd.Series) -> Any:
    """One bar per value for small whole-number counts (bedrooms, tickets), else 30 equal bins."""
    if len(values) and np.all(np.mod(values, 1) == 0) and values.max() - values.min() <= 40:
        return np.arange(values.min() - 0.5, values.max() + 1.5)
    return 30


def top_categories_figure(
    frame: pd.DataFrame, findings: dict[str, Any], limit: int = CATEGORICAL_PLOTS, top: int = 8
) -> Any:
    """Small multiples: the most frequent values of each categorical feature; None when there are none."""
    names = plot_columns(frame, findings, "categorical")[:limit]
    if not names:
        return None
    with plots.style():
        figure, panels = _small_multiples(
            len(names), per_row=3, panel_width=3.1, panel_height=0.5 + 0.24 * top
        )
        for ax, name in zip(panels, names, strict=False):
            _top_categories(ax, frame[name], name, top)
        figure.suptitle(
            f"Categorical features: the {top} most frequent values (share of rows)",
            x=0.01,
            ha="left",
            fontweight="bold",
            fontsize=10,
        )
    return figure


def _top_categories(ax: Any, series: pd.Series, name: str, top: int) -> None:
    """One panel: the `top` most frequent values of a column as shares of rows, missing as a value."""
    shares = series.astype("string").fillna("(missing)").value_counts(normalize=True).head(top)[::-1]
    ax.barh([plots.short_label(value, 18) for value in shares.index], shares.to_numpy(), color=plots.ACCENT)
    ax.set_title(plots.short_label(name, 30), fontsize=9)
    ax.set_xlim(0, min(1.0, float(shares.max()) * 1.15))
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", visible=False)
    plots.percent_axis(ax, "x")


def rows_over_time_figure(findings: dict[str, Any]) -> Any:
    """Rows per period (year, month…) of the time column (or the first date column), empty periods shaded;
    None when the data has no dates."""
    coverage = next((item for item in findings["time_coverage"] if item.get("rows_per_period")), None)
    if coverage is None:
        return None
    periods = list(coverage["rows_per_period"].items())
    with plots.style():
        figure, ax = plots.new_figure(WIDE, 2.8)
        counts = [count for _, count in periods]
        ax.bar(np.arange(len(periods)), counts, color=plots.ACCENT, width=0.85)
        for at, count in enumerate(counts):
            if not count:  # a period without rows: shade it so that the gap is seen
                ax.axvspan(at - 0.5, at + 0.5, color=plots.WARNING, alpha=0.15, linewidth=0)
        every = math.ceil(len(periods) / 12)  # at most about 12 labels
        ticks = [(at, label) for at, (label, _) in enumerate(periods) if at % every == 0]
        ax.set_xticks([at for at, _ in ticks], [label for _, label in ticks], rotation=45, ha="right")
        ax.grid(axis="x", visible=False)
        plots.thousands_axis(ax, "y")
        plots.label(
            ax, f"Rows per {coverage['period']}, by '{coverage['column']}'", coverage["period"], "rows"
        )
    return figure
