"""The weekly summary as text: Markdown (for the repository and email) and one self-contained HTML page
(images embedded, no external links), with the trend of the main metric and the latest experiments."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..artifacts.experiments import REJECTED, ExperimentEntry
from ..core import metrics
from ..core.config import Config
from . import health
from .shadow import shadow_part
from .sources import Sources, source_names

WEEK = timedelta(days=7)
RECENT_EXPERIMENTS = 10


@dataclass
class Bullet:
    """One line of the summary; `level` (ok, info, warning) colours it in the HTML page."""

    title: str
    text: str
    level: str = "info"


# Trend and experiment table ---------------------------------------------------------------------------------


def trend_figure(experiments: list[ExperimentEntry], metric: str) -> bytes | None:
    """The main metric of every experiment (model and baseline), rejected ones marked; None when empty."""
    from . import plots

    points = [(i, e) for i, e in enumerate(experiments, start=1) if metric in e.metrics]
    if not points:
        return None
    numbers = [i for i, _ in points]
    with plots.style():
        figure, ax = plots.new_figure(width=6.4, height=2.8)
        ax.plot(
            numbers, [e.metrics[metric] for _, e in points], marker="o", color=plots.ACCENT, label="model"
        )
        ax.plot(
            numbers,
            [e.baseline[metric] for _, e in points],
            ls="--",
            marker="s",
            color=plots.MUTED,
            label="baseline",
        )
        rejected = [(i, e.metrics[metric]) for i, e in points if e.status == REJECTED]
        if rejected:
            ax.scatter(*zip(*rejected, strict=True), color=plots.WARNING, zorder=3, label="rejected")
        ax.set_xticks(numbers)
        ax.legend(loc="lower right", frameon=False)
        name, direction = metrics.label(metric), metrics.METRICS[metric].direction
        plots.label(ax, f"{name} over experiments ({direction})", "experiment", name)
    return plots.png_bytes(figure)


def experiment_rows(experiments: list[ExperimentEntry]) -> list[dict[str, Any]]:
    """The latest experiments as table rows, newest first."""
    numbered = list(enumerate(experiments, start=1))[-RECENT_EXPERIMENTS:]
    rows = []
    for index, e in reversed(numbered):
        rows.append(
            {
                "#": index,
                "date": str(e.timestamp or "")[:16].replace("T", " "),
                "model": str(e.model_family or "").replace("_", " "),
                "score": _rounded(e.gate.model if e.gate else None, 3),
                "baseline": _rounded(e.gate.baseline if e.gate else None, 3),
                "status": e.status or "",
                # What the run cost: the compute the client pays for.
                "wall time (s)": _rounded(e.wall_seconds, 1),
                "CPU time (s)": _rounded(e.cpu_seconds, 1),
            }
        )
    return rows


# Rendering --------------------------------------------------------------------------------------------------


def render_markdown(
    config: Config, day: date, bullets: list[Bullet], sources: Sources, paths: dict[str, Path]
) -> str:
    lines = [f"# Weekly summary: {config.project_name}", "", f"{_subtitle(config, day)}", ""]
    lines += [f"- **{bullet.title}**: {bullet.text}" for bullet in bullets]
    lines += health_markdown(config, sources, paths)
    part = shadow_part(sources.pointer, sources.compare, day)
    if part is not None:
        lines += ["", "## Shadow model", "", *[f"- {line}" for line in part.lines]]
    if "figure" in paths:
        metric = metrics.label(config.gate_metric)
        lines += ["", f"![{metric} over experiments]({paths['figure'].name})"]
    rows = experiment_rows(sources.experiments)
    if rows:
        lines += ["", "## Latest experiments", "", "| " + " | ".join(rows[0]) + " |"]
        lines.append("|" + " --- |" * len(rows[0]))
        lines += ["| " + " | ".join(str(value) for value in row.values()) + " |" for row in rows]
    lines += ["", f"Sources: {', '.join(source_names(sources))}.", ""]
    return "\n".join(lines)


def health_markdown(config: Config, sources: Sources, paths: dict[str, Path]) -> list[str]:
    """The model's health: whether it needs attention, the week's input warnings, then realized and
    estimated performance over time."""
    _, sentence = health.attention(sources.drift, sources.performance, sources.warnings)
    lines = ["", "## Model health", "", sentence]
    if sources.warnings is not None:
        lines += ["", sources.warnings.sentence()]
    if "performance_figure" in paths:
        metric = metrics.label(config.gate_metric)
        lines += ["", f"![{metric} over time, realized and estimated]({paths['performance_figure'].name})"]
    rows = health.period_rows(sources.performance) if sources.performance else []
    if rows:
        lines += ["", "| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
        lines += ["| " + " | ".join(_cell(value) for value in row.values()) + " |" for row in rows]
    return lines


def health_html(config: Config, sources: Sources, figure: bytes | None) -> str:
    from . import html as h

    level, sentence = health.attention(sources.drift, sources.performance, sources.warnings)
    parts = [h.callout(sentence, level)]
    if sources.warnings is not None:
        parts.append(h.paragraph(sources.warnings.sentence()))
    metric = metrics.label(config.gate_metric)
    if figure is not None:
        caption = "Realized: from outcomes. Estimated: from the probabilities. Line: cross-validated score."
        parts.append(h.image(figure, f"{metric} over time", caption))
    if sources.performance and sources.performance.get("periods"):
        parts.append(h.table(health.period_rows(sources.performance)))
    return h.section("Model health", "\n".join(parts), anchor="health")


def _cell(value: Any) -> str:
    return "" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def render_html(
    config: Config,
    day: date,
    bullets: list[Bullet],
    sources: Sources,
    figure: bytes | None,
    performance_figure: bytes | None = None,
) -> str:
    from . import html as h

    summary = "".join(
        f'<div class="callout {bullet.level}"><strong>{html.escape(bullet.title)}:</strong> '
        f"{html.escape(bullet.text)}</div>"
        for bullet in bullets
    )
    sections = [
        h.section("This week", summary, anchor="summary"),
        health_html(config, sources, performance_figure),
    ]
    part = shadow_part(sources.pointer, sources.compare, day)
    if part is not None:
        body = h.callout(part.lines[-1], part.level) + h.bullets(part.lines[:-1])
        sections.append(h.section("Shadow model", body, anchor="shadow"))
    metric = metrics.label(config.gate_metric)
    if figure is not None:
        trend = h.image(figure, f"{metric} over experiments", "Dashed: the dummy baseline. Red: rejected.")
        sections.append(h.section(f"{metric} over experiments", trend, anchor="trend"))
    rows = experiment_rows(sources.experiments)
    if rows:
        sections.append(h.section("Latest experiments", h.table(rows), anchor="experiments"))
    sources_text = h.paragraph(f"Computed from {', '.join(source_names(sources))}.", note=True)
    sections.append(h.section("Sources", sources_text, anchor="sources"))
    return h.page(f"Weekly summary: {config.project_name}", _subtitle(config, day), sections)


def _subtitle(config: Config, day: date) -> str:
    client = f" for {config.client}" if config.client else ""
    return f"Week {(day - WEEK + timedelta(days=1)).isoformat()} to {day.isoformat()}{client}"


def _rounded(value: Any, digits: int) -> float | str:
    """A table cell: rounded, never -0.0; empty where the experiment did not record the value."""
    if value is None or value != value:  # missing or NaN
        return ""
    return round(float(value), digits) + 0.0
