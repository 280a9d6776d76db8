"""Small builders for self-contained HTML reports: one file that opens anywhere, offline, and can be
emailed to a client. No external URLs (no CDN, fonts or scripts); images are embedded as data URIs; every
piece of text goes through `html.escape`. Builders return HTML strings that nest into each other.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

LEVELS = ("ok", "info", "warning")

_CSS = """
:root { --accent: #2f6690; --text: #2b2d31; --muted: #6b7079; --line: #e1e4e8; --bg: #f6f7f9;
  --ok: #2e7d4f; --ok-bg: #e8f4ec; --info: #2f6690; --info-bg: #eaf1f7;
  --warning: #a4372a; --warning-bg: #fbecea; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 32px 28px 48px; }
header { margin-bottom: 20px; }
h1 { font-size: 26px; margin: 0 0 4px; }
.subtitle { color: var(--muted); margin: 0; }
section { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px;
  margin: 18px 0; }
h2 { font-size: 18px; margin: 0 0 10px; }
p { margin: 6px 0 10px; }
.note { color: var(--muted); font-size: 13px; }
.callout { border-left: 5px solid var(--info); background: var(--info-bg); padding: 12px 16px;
  border-radius: 4px; margin: 10px 0; }
.callout.ok { border-color: var(--ok); background: var(--ok-bg); }
.callout.warning { border-color: var(--warning); background: var(--warning-bg); }
.callout.headline { font-size: 18px; font-weight: 600; }
ul.findings { padding-left: 20px; margin: 6px 0; }
ul.findings li { margin: 4px 0; }
.tag { display: inline-block; font-size: 11px; font-weight: 600; text-transform: uppercase;
  letter-spacing: .04em; padding: 1px 6px; border-radius: 3px; margin-right: 6px; }
.tag.warning { background: var(--warning-bg); color: var(--warning); }
.tag.info { background: var(--info-bg); color: var(--info); }
.tag.ok { background: var(--ok-bg); color: var(--ok); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-weight: 600; }
figure { margin: 10px 0; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
code { background: var(--bg); padding: 0 4px; border-radius: 3px; font-size: 13px; }
"""


def page(title: str, subtitle: str, sections: Iterable[str], footer: str = "") -> str:
    """A complete HTML document; `sections` are HTML fragments made with the builders below."""
    body = "\n".join(sections)
    footer_html = f"<footer>{html.escape(footer)}</footer>" if footer else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header><h1>{html.escape(title)}</h1><p class="subtitle">{html.escape(subtitle)}</p></header>\n'
        f"{body}\n{footer_html}\n</main>\n</body>\n</html>\n"
    )


def section(title: str, body_html: str, anchor: str = "") -> str:
    """A titled card; `body_html` is already HTML (built with these helpers)."""
    anchor_attr = f' id="{html.escape(anchor)}"' if anchor else ""
    return f"<section{anchor_attr}>\n<h2>{html.escape(title)}</h2>\n{body_html}\n</section>"


def paragraph(text: str, note: bool = False) -> str:
    """Plain text as a paragraph; `note` makes it small and grey (explanations, caveats)."""
    css = ' class="note"' if note else ""
    return f"<p{css}>{html.escape(text)}</p>"


def callout(text: str, level: str = "info", headline: bool = False) -> str:
    """A coloured box for a verdict or a warning; level is ok, info or warning."""
    if level not in LEVELS:
        raise ValueError(f"callout level {level!r} is not one of {', '.join(LEVELS)}")
    css = f"callout {level}" + (" headline" if headline else "")
    return f'<div class="{css}">{html.escape(text)}</div>'


def bullets(items: Iterable[tuple[str, str] | str]) -> str:
    """A list; an item is text, or (level, text) to put a small coloured tag in front of it."""
    rows = []
    for item in items:
        if isinstance(item, tuple):
            level, text = item
            tag = f'<span class="tag {html.escape(level)}">{html.escape(level)}</span>'
            rows.append(f"<li>{tag}{html.escape(text)}</li>")
        else:
            rows.append(f"<li>{html.escape(item)}</li>")
    return '<ul class="findings">\n' + "\n".join(rows) + "\n</ul>"


def facts(items: Mapping[str, Any]) -> str:
    """Key figures as label/value pairs."""
    rows = "".join(
        f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(format_value(value))}</dd>"
        for key, value in items.items()
    )
    return f'<dl class="facts">{rows}</dl>'


def table(rows: pd.DataFrame | Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """An HTML table from a DataFrame or a list of dicts; numbers are right-aligned and formatted."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if columns is not None:
        frame = frame.loc[:, list(columns)]
    if frame.empty and not len(frame.columns):
        return paragraph("(nothing to show)", note=True)
    numeric = [
        pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
        for name in frame.columns
    ]
    head = "".join(
        f"<th{' class=num' if is_num else ''}>{html.escape(str(name))}</th>"
        for name, is_num in zip(frame.columns, numeric, strict=True)
    )
    body = []
    for values in frame.itertuples(index=False, name=None):
        cells = "".join(
            f"<td{' class=num' if is_num else ''}>{html.escape(format_value(value))}</td>"
            for value, is_num in zip(values, numeric, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="table-wrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + ("\n</tbody>\n</table></div>")
    )


def image(png: bytes, alt: str, caption: str = "") -> str:
    """A PNG embedded as a base64 data URI, so the page needs no other file."""
    encoded = base64.b64encode(png).decode("ascii")
    caption_html = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">{caption_html}</figure>'
    )


def format_value(value: Any) -> str:
    """Readable text for a table cell: no NaN, no 17-digit floats, thousands separators."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalars
        return format_value(value.item())
    return str(value)
