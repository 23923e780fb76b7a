"""Radar chart and risk heat map, drawn on the server as inline SVG (no script, no CDN); each
carries a title and a text description, so a screen reader and a PDF both say what it shows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

SERIES_COLOURS = ("#2a5d8f", "#b26a00", "#2e7d32", "#7b1fa2", "#c62828")
LEVEL_COLOURS = {"low": "#c8e6c9", "medium": "#fff59d", "high": "#ffb74d", "critical": "#e57373"}


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[float | None]  # one per axis; None draws at the centre


def radar(
    axes: Sequence[str], series: Sequence[Series], *, top: float, title: str, chart_id: str
) -> Markup:
    """Axes around a circle, rings at each whole step up to `top`, one polygon per series."""
    size, pad, legend = 440, 70, 24
    cx = cy = size / 2
    r = size / 2 - pad
    height = size - pad // 2 + legend * len(series)
    n = max(1, len(axes))

    def point(i: int, value: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        d = r * max(0.0, min(value, top)) / top
        return cx + d * math.cos(angle), cy + d * math.sin(angle)

    desc = "; ".join(
        f"{s.label}: "
        + ", ".join(f"{a} {'-' if v is None else v}" for a, v in zip(axes, s.values, strict=False))
        for s in series
    )
    parts = [
        f'<svg class="chart radar" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'viewBox="0 0 {size} {height}" width="{size}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    for ring in range(1, int(top) + 1):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(n)))
        parts.append(f'<polygon points="{pts}" fill="none" stroke="#cbd5e1" stroke-width="1"/>')
    for i, name in enumerate(axes):
        x, y = point(i, top)
        lx, ly = point(i, top * 1.12)
        anchor = "middle" if abs(lx - cx) < 10 else ("start" if lx > cx else "end")
        parts.append(
            f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="#94a3b8"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" font-size="12">'
            f"{escape(name)}</text>"
        )
    for k, s in enumerate(series):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        pts = " ".join(
            f"{x:.1f},{y:.1f}" for x, y in (point(i, v or 0.0) for i, v in enumerate(s.values))
        )
        parts.append(
            f'<polygon points="{pts}" fill="{colour}" fill-opacity="0.18" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        y = size - pad // 2 + legend * k + 6
        parts.append(
            f'<rect x="20" y="{y - 10}" width="14" height="14" fill="{colour}"/>'
            f'<text x="40" y="{y + 2}" font-size="12">{escape(s.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def heat_map(
    grid: Sequence[Sequence[int]],
    levels: Sequence[Sequence[str]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    chart_id: str,
) -> Markup:
    """The 5 × 5 risk matrix: likelihood across, impact up; each cell its count of risks,
    coloured by the level of its score."""
    cell, left, bottom = 64, 56, 48
    width, height = left + 5 * cell + 8, 5 * cell + bottom + 8
    desc = "; ".join(
        f"L{lk + 1}×I{im + 1}: {grid[im][lk]}" for im in range(5) for lk in range(5) if grid[im][lk]
    )
    parts = [
        f'<svg class="chart heatmap" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc or "-")}</desc>',
    ]
    for im in range(5):
        y = 4 + (4 - im) * cell
        parts.append(
            f'<text x="{left - 10}" y="{y + cell / 2 + 5}" text-anchor="end" '
            f'font-size="13">{im + 1}</text>'
        )
        for lk in range(5):
            x = left + lk * cell
            fill = LEVEL_COLOURS[levels[im][lk]]
            count = grid[im][lk]
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" '
                f'stroke="#ffffff" stroke-width="2"/>'
            )
            if count:
                parts.append(
                    f'<text x="{x + cell / 2}" y="{y + cell / 2 + 7}" text-anchor="middle" '
                    f'font-size="20" font-weight="bold">{count}</text>'
                )
    for lk in range(5):
        parts.append(
            f'<text x="{left + lk * cell + cell / 2}" y="{4 + 5 * cell + 18}" '
            f'text-anchor="middle" font-size="13">{lk + 1}</text>'
        )
    parts.append(
        f'<text x="{left + 2.5 * cell}" y="{height - 6}" text-anchor="middle" '
        f'font-size="13">{escape(x_label)}</text>'
        f'<text x="14" y="{4 + 2.5 * cell}" text-anchor="middle" font-size="13" '
        f'transform="rotate(-90 14 {4 + 2.5 * cell})">{escape(y_label)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
