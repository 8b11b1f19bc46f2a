"""The simulation plot: goodput and answered p99 latency over time, one line per strategy, bursts shaded.

A self-contained SVG written by hand from the summary's timelines: no plotting dependency on edge nodes
and CI, it opens in any browser, and the report can embed it as is or redraw it from ``summary.json``.
"""
from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
WIDTH, PANEL_HEIGHT, LEFT, RIGHT, TOP, GAP = 820, 220, 70, 150, 30, 60


def write_plot(summary: dict[str, Any], path: Path) -> Path:
    """Write the SVG of ``summary`` (as :func:`mediagrid.grid.simulator.run` returns it) to ``path``."""
    strategies = summary["strategies"]
    duration = float(summary["duration_s"])
    sla = summary.get("sla_ms")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{TOP + 2 * (PANEL_HEIGHT + GAP)}" '
             f'font-family="sans-serif" font-size="12">', '<rect width="100%" height="100%" fill="white"/>']
    panels = (("goodput_rps", "goodput (requests/s within deadline)", None),
              ("p99_ms", "answered p99 latency (ms)", sla))
    for row, (key, title, line_at) in enumerate(panels):
        top = TOP + row * (PANEL_HEIGHT + GAP)
        series = {name: entry["timeline"] for name, entry in strategies.items()}
        peak = max([v for t in series.values() for v in t[key] if v is not None] + [line_at or 0, 1e-9])
        peak = _nice(peak * 1.1)
        parts += _axes(top, title, duration, peak)
        for burst in summary["bursts"]:
            x0, x1 = _x(burst["start_s"], duration), _x(min(burst["start_s"] + burst["duration_s"], duration), duration)
            parts.append(f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{PANEL_HEIGHT}" '
                         f'fill="#f4b183" fill-opacity="0.25"/>')
        if line_at is not None:
            y = _y(line_at, top, peak)
            parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="black" '
                         f'stroke-dasharray="6 4"/>')
            parts.append(f'<text x="{WIDTH - RIGHT + 4}" y="{y + 4:.1f}">SLA {line_at:g} ms</text>')
        for index, (name, timeline) in enumerate(series.items()):
            color = COLORS[index % len(COLORS)]
            points = [f"{_x((i + 0.5) * timeline['bin_s'], duration):.1f},{_y(v, top, peak):.1f}"
                      for i, v in enumerate(timeline[key]) if v is not None]
            if points:
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{" ".join(points)}"/>')
            if row == 0:
                parts.append(f'<text x="{WIDTH - RIGHT + 10}" y="{top + 16 + 18 * index}" fill="{color}">'
                             f'{escape(name)}</text>')
        if row == 0 and summary["bursts"]:
            y = top + 16 + 18 * len(series)
            parts.append(f'<rect x="{WIDTH - RIGHT + 10}" y="{y - 10}" width="12" height="12" fill="#f4b183" '
                         f'fill-opacity="0.5"/><text x="{WIDTH - RIGHT + 26}" y="{y}">burst</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def _axes(top: int, title: str, duration: float, peak: float) -> list[str]:
    bottom, right = top + PANEL_HEIGHT, WIDTH - RIGHT
    out = [f'<text x="{LEFT}" y="{top - 8}" font-weight="bold">{escape(title)}</text>',
           f'<rect x="{LEFT}" y="{top}" width="{right - LEFT}" height="{PANEL_HEIGHT}" fill="none" stroke="#888"/>']
    for i in range(5):
        value = peak * i / 4
        y = _y(value, top, peak)
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    for i in range(6):
        t = duration * i / 5
        out.append(f'<text x="{_x(t, duration):.1f}" y="{bottom + 16}" text-anchor="middle">{t:g} s</text>')
    return out


def _x(t: float, duration: float) -> float:
    return LEFT + (WIDTH - RIGHT - LEFT) * t / duration


def _y(value: float, top: int, peak: float) -> float:
    return top + PANEL_HEIGHT * (1.0 - min(value, peak) / peak)


def _nice(value: float) -> float:
    """The next round number (1, 2 or 5 times a power of ten) at or above ``value``."""
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)
