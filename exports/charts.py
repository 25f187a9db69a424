"""Charts as SVG rendered on the server: pure functions from figures to markup.

No script and no style attributes (the pages' CSP allows neither inline), only SVG
presentation attributes, so the same markup works in the browser page and in the PDF
(WeasyPrint draws inline SVG). Text uses the PDF's CJK font family first.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, log10

from markupsafe import Markup, escape

PALETTE = ("#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037")
FONT = "GongjianSans, 'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"
Series = tuple[str, Sequence[float]]
# Text size in chart units. A chart is never drawn narrower than MIN_WIDTH px (a phone scrolls
# it sideways, static/css/app.css), so its text is never under 12 px on screen (WCAG 1.4.4).
TEXT = 13
MIN_WIDTH = 600


def _text_width(text: str, size: float) -> float:
    """A rough width: CJK characters are one em, others about 0.6 em."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _nice_max(value: float) -> float:
    """An axis maximum at or above value whose quarters are round numbers (4 × 1, 2, 3 or 5 × 10^n)."""
    if value <= 0:
        return 4
    raw = value / 4
    exp = 10 ** max(int(log10(raw)) if raw >= 1 else 0, 0)
    for step in (1, 2, 3, 5, 10):
        if raw <= step * exp:
            return 4 * step * exp
    return 40 * exp


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{round(value * 100)}%"
    return f"{int(value)}" if float(value).is_integer() else f"{value:.1f}"


def _open(width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width:g} {height:g}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}" font-size="{TEXT}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(desc)}</desc>" if desc else "",
    ]


def _described(title: str, categories: Sequence[str], series: Sequence[Series], percent: bool) -> str:
    """The chart's figures as a sentence: its text alternative (WCAG 1.1.1) for screen readers."""
    rows = []
    for i, cat in enumerate(categories):
        values = "，".join(f"{name} {_fmt(float(values[i] or 0), percent)}" for name, values in series)
        rows.append(f"{cat}：{values}")
    return f"{title}。" + "；".join(rows) + "。" if rows else title


def _legend(
    series: Sequence[Series], x: float, y: float, width: float, palette: Sequence[str] = PALETTE
) -> tuple[list[str], float]:
    """Legend swatches that wrap within width; returns the parts and the height used."""
    parts, cx, cy = [], x, y
    for i, (name, _) in enumerate(series):
        w = 16 + _text_width(name, TEXT) + 14
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 18
        parts.append(
            f'<rect x="{cx:g}" y="{cy:g}" width="11" height="11" fill="{palette[i % len(palette)]}"/>'
        )
        parts.append(f'<text x="{cx + 15:g}" y="{cy + 10:g}" fill="#333">{escape(name)}</text>')
        cx += w
    return parts, cy - y + 18


def hbar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    title: str,
    *,
    percent: bool = False,
    stacked: bool = False,
    width: float = 640,
    highlight: int | None = None,
    colors: Sequence[str] | None = None,
) -> Markup:
    """Horizontal bars per category (grouped, or stacked), labels on the left, values at the bar ends.

    highlight: index of a category whose label is drawn bold (the viewer's own community).
    colors: one per series (default: the house palette).
    """
    palette = tuple(colors) if colors else PALETTE
    n, k = len(categories), max(len(series), 1)
    label_w = min(170.0, max([_text_width(c, TEXT) for c in categories] + [40]) + 10)
    legend, legend_h = _legend(series, label_w, 8, width - label_w - 10, palette)
    top = 8 + legend_h + 6
    bar_h = 17 if stacked or k == 1 else 15
    group_h = (bar_h if stacked else bar_h * k) + 10
    plot_h = max(n, 1) * group_h
    height = top + plot_h + 26
    plot_w = width - label_w - 50
    totals = [
        sum(s[1][i] for s in series) if stacked else max((s[1][i] for s in series), default=0)
        for i in range(n)
    ]
    vmax = 1.0 if percent else _nice_max(max(totals, default=0))
    scale = plot_w / vmax if vmax else 0
    parts = _open(width, height, title, _described(title, categories, series, percent))
    parts += legend
    # Gridlines at quarters of the axis.
    for q in range(5):
        gx = label_w + plot_w * q / 4
        parts.append(
            f'<line x1="{gx:g}" y1="{top - 2:g}" x2="{gx:g}" y2="{top + plot_h:g}" stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{gx:g}" y="{top + plot_h + 16:g}" text-anchor="middle" fill="#555" font-size="{TEXT}">'
            f"{_fmt(vmax * q / 4, percent)}</text>"
        )
    for i, cat in enumerate(categories):
        gy = top + i * group_h + 5
        weight = ' font-weight="bold"' if highlight == i else ""
        mid = gy + (bar_h if stacked else bar_h * k) / 2 + 4
        parts.append(
            f'<text x="{label_w - 6:g}" y="{mid:g}" text-anchor="end" fill="#222"{weight}>{escape(cat)}</text>'
        )
        x = label_w
        for j, (name, values) in enumerate(series):
            v = float(values[i] or 0)
            w = max(v * scale, 0)
            y = gy if stacked else gy + j * bar_h
            color = palette[j % len(palette)]
            parts.append(
                f'<rect x="{x:g}" y="{y:g}" width="{w:.1f}" height="{bar_h - 2:g}" fill="{color}">'
                f"<title>{escape(cat)} {escape(name)}：{_fmt(v, percent)}</title></rect>"
            )
            if stacked:
                x += w
            else:
                parts.append(
                    f'<text x="{x + w + 3:.1f}" y="{y + bar_h - 3:g}" fill="#333" font-size="{TEXT}">'
                    f"{_fmt(v, percent)}</text>"
                )
        if stacked:
            parts.append(
                f'<text x="{x + 3:.1f}" y="{gy + bar_h - 3:g}" fill="#333" font-size="{TEXT}">'
                f"{_fmt(totals[i], percent)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(p for p in parts if p))


def column_chart(
    labels: Sequence[str], series: Sequence[Series], title: str, *, width: float = 640, height: float = 240
) -> Markup:
    """Grouped vertical columns over time (e.g. per month), with a legend above."""
    n, k = len(labels), max(len(series), 1)
    legend, legend_h = _legend(series, 40, 8, width - 50)
    top = 8 + legend_h + 8
    left, bottom = 40, 28
    plot_w, plot_h = width - left - 10, height - top - bottom
    vmax = _nice_max(max((max(v, default=0) for _, v in series), default=0))
    slot = plot_w / max(n, 1)
    bar_w = max(min((slot - 4) / k, 18), 1)
    parts = _open(width, height, title, _described(title, labels, series, False))
    parts += legend
    for q in range(5):
        gy = top + plot_h - plot_h * q / 4
        parts.append(
            f'<line x1="{left:g}" y1="{gy:.1f}" x2="{left + plot_w:g}" y2="{gy:.1f}" stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 4:g}" y="{gy + 4:.1f}" text-anchor="end" fill="#555" font-size="{TEXT}">'
            f"{_fmt(vmax * q / 4, False)}</text>"
        )
    every = max(1, ceil(n / 12))
    for i, label in enumerate(labels):
        x0 = left + i * slot + (slot - bar_w * k) / 2
        for j, (name, values) in enumerate(series):
            v = float(values[i] or 0)
            h = plot_h * v / vmax if vmax else 0
            parts.append(
                f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(name)}：{_fmt(v, False)}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{left + i * slot + slot / 2:.1f}" y="{top + plot_h + 18:g}" text-anchor="middle" '
                f'fill="#444" font-size="{TEXT}">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{left:g}" y1="{top + plot_h:g}" x2="{left + plot_w:g}" y2="{top + plot_h:g}" stroke="#888" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(p for p in parts if p))


def month_labels(months: Sequence[str]) -> list[str]:
    """ "2026-03" → "3月"; over several years the year is shown where it changes ("27年1月")."""
    years = {m[:4] for m in months}
    out, last_year = [], None
    for m in months:
        year, month = m.split("-")
        same = len(years) == 1 or year == last_year
        out.append(f"{int(month)}月" if same else f"{year[2:]}年{int(month)}月")
        last_year = year
    return out
