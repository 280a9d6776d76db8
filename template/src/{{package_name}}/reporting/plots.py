"""One plotting style for every report: small, readable figures a client can take in at a glance.

Figures are built with `matplotlib.figure.Figure` (no pyplot, no global state), so they are safe in a
command-line run, a web process and a notebook alike; `png_bytes` renders them with the Agg backend.
matplotlib is imported inside the functions because it costs time at import and most commands never plot.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Colours: one accent for the data, one for warnings, greys for everything around them.
ACCENT = "#2f6690"
ACCENT_LIGHT = "#9ec1db"
WARNING = "#c44536"
MUTED = "#8a8f98"
TEXT = "#2b2d31"

_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.labelcolor": TEXT,
    "axes.edgecolor": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e6e8eb",
    "grid.linewidth": 0.8,
    "xtick.color": TEXT,
    "ytick.color": TEXT,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "savefig.facecolor": "white",
}


@contextmanager
def style() -> Iterator[None]:
    """Apply the report style while a figure is drawn (rc settings are read when artists are created)."""
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        yield


def new_figure(width: float = 6.4, height: float = 3.2) -> tuple[Any, Any]:
    """A figure with one Axes; call inside `style()`."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots()


def new_grid(width: float, height: float, nrows: int, ncols: int) -> tuple[Any, Any]:
    """A figure with a grid of Axes, always as a 2-D array (also for a 1×1 grid, so that callers never
    special-case a single panel); call inside `style()`."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots(nrows, ncols, squeeze=False)


def label(ax: Any, title: str, xlabel: str = "", ylabel: str = "", pad: float | None = None) -> None:
    """Title and axis labels: every chart says what it shows and in which units."""
    ax.set_title(title, pad=pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def percent_axis(ax: Any, axis: str = "x") -> None:
    """Show shares (0..1) as percentages."""
    from matplotlib.ticker import PercentFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


def thousands_axis(ax: Any, axis: str = "y") -> None:
    """Counts with thousands separators (1,200 rather than 1200)."""
    from matplotlib.ticker import FuncFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def short_label(text: Any, limit: int = 24) -> str:
    """Category and column names cut to a length that fits beside a bar."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def png_bytes(figure: Any) -> bytes:
    """Render a figure to PNG with the Agg backend and close it (it is not needed afterwards)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with style():
        FigureCanvasAgg(figure)  # attaches itself as the figure's canvas
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # only figures made through pyplot are registered there
        pyplot.close(figure)
    return buffer.getvalue()
