"""Small bar charts drawn on the server as inline SVG (no JavaScript, no external library)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

LABEL_W = 170
BAR_W = 260
ROW_H = 26
VALUE_W = 70
COLOURS = {
    "clear": "#e5e7eb",
    "green": "#2e7d32",
    "amber": "#b26a00",
    "amber+strict": "#7a4100",
    "red": "#c62828",
}
DEFAULT = "#2a5d8f"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    shown: str  # the value as the page's locale writes it
    colour_key: str = ""


def bar_chart(bars: list[Bar], title: str, chart_id: str) -> Markup:
    """Horizontal bars with their values written next to them; the title names it for readers."""
    width = LABEL_W + BAR_W + VALUE_W
    height = max(1, len(bars)) * ROW_H + 4
    top = max((b.value for b in bars), default=0) or 1
    desc = "; ".join(f"{b.label}: {b.shown}" for b in bars)
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    for i, bar in enumerate(bars):
        y = i * ROW_H + 2
        length = max(2, round(BAR_W * bar.value / top)) if bar.value else 0
        fill = COLOURS.get(bar.colour_key, DEFAULT)
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 17}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{length}" height="{ROW_H - 8}" '
            f'fill="{fill}" stroke="#374151" stroke-width="1"/>'
            f'<text x="{LABEL_W + length + 6}" y="{y + 17}">{escape(bar.shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
