"""Server-rendered SVG charts: readable from across a classroom, no client-side drawing code."""

from __future__ import annotations

import datetime as dt
import math
import time
from html import escape

from lsi_contract.payloads import EARLIEST_TIMESTAMP, MAX_AHEAD_SECONDS
from lsi_contract.scale import band_of, lsi_bands

EMOTION_COLOURS = {"happy": "#2e9e4f", "surprise": "#7cc36b", "neutral": "#9aa5b1", "sad": "#4a78c2",
                   "fear": "#8a63c9", "angry": "#d64541", "disgust": "#b5651d"}
SEGMENT_COLOURS = {"lecture": "#e8f0fe", "exercise": "#e6f4ea", "discussion": "#fef7e0", "quiz": "#fce8e6",
                   "break": "#f1f3f4", "custom": "#f3e8fd"}


LSI_BANDS = lsi_bands()  # the appliance's default weights
BAND_CSS = {"low": "lsi-bad", "below calm": "lsi-mid", "calm": "lsi-good", "positive": "lsi-high"}


def lsi_class(value: float | None) -> str:
    """CSS class for an LSI figure by its band (lsi_contract/scale.py); grey when there is none."""
    if value is None:
        return "lsi-none"
    return BAND_CSS[band_of(value, LSI_BANDS).name]


def lsi_band_name(value: float | None) -> str:
    return "" if value is None else band_of(value, LSI_BANDS).name


def finite_number(value) -> bool:
    """Rows stored before the feed was validated may hold NaN or strings where numbers belong."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _plottable(points: list[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    """Rows stored before the feed was validated may hold times no clock shows or non-numbers."""
    latest = time.time() + MAX_AHEAD_SECONDS
    return [(t, v) for t, v in points if finite_number(t) and EARLIEST_TIMESTAMP <= t <= latest
            and (v is None or (finite_number(v) and 0 <= v <= 100))]


def _clock(epoch: float, span: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%H:%M" if span >= 600 else "%H:%M:%S")


def _svg_open(width: int, height: int, title: str, title_x: int) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" class="chart">',
            f'<text x="{title_x}" y="18" class="chart-title">{escape(title)}</text>']


def _empty(parts: list[str], width: int, height: int, message: str) -> str:
    parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="muted">{message}</text></svg>')
    return "".join(parts)


def lsi_timeline(points: list[tuple[float, float | None]], segments: list[dict], width: int = 900,
                 height: int = 300, title: str = "Learning Satisfaction Index (0–100) over time") -> str:
    """points: (window_end epoch, lsi or None for suppressed); segments: {kind, label, start, end}."""
    points = _plottable(points)
    left, right, top, bottom = 48, 36, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = _svg_open(width, height, title, left)
    if not points:
        return _empty(parts, width, height, "no data yet")
    t0, t1 = points[0][0], max(points[-1][0], points[0][0] + 60)
    x = lambda t: left + (t - t0) / (t1 - t0) * plot_w  # noqa: E731
    y = lambda v: top + (1 - v / 100.0) * plot_h  # noqa: E731
    for segment in segments:
        s0, s1 = max(segment["start"], t0), min(segment.get("end") or t1, t1)
        if s1 > s0:
            parts.append(f'<rect x="{x(s0):.1f}" y="{top}" width="{x(s1) - x(s0):.1f}" height="{plot_h}" '
                         f'fill="{SEGMENT_COLOURS.get(segment["kind"], "#f3e8fd")}"/>'
                         f'<text x="{x(s0) + 4:.1f}" y="{top + 14}" class="segment-label">'
                         f'{escape(segment["kind"])}{": " + escape(segment["label"]) if segment.get("label") and segment["label"] != segment["kind"] else ""}</text>')
    for level in (0, 25, 50, 75, 100):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" class="gridline"/>'
                     f'<text x="{left - 6}" y="{y(level) + 4:.1f}" text-anchor="end" class="axis">{level}</text>')
    for k in range(5):
        t = t0 + (t1 - t0) * k / 4
        parts.append(f'<text x="{x(t):.1f}" y="{height - 10}" text-anchor="middle" class="axis">{_clock(t, t1 - t0)}</text>')
    run: list[str] = []
    runs = [run]
    for t, value in points:
        if value is None:
            run = []
            runs.append(run)
            continue
        run.append(f"{x(t):.1f},{y(value):.1f}")
    for segment_points in runs:
        if len(segment_points) == 1:
            cx, cy = segment_points[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="4" class="lsi-line-dot"/>')
        elif segment_points:
            parts.append(f'<polyline points="{" ".join(segment_points)}" class="lsi-line"/>')
    parts.append(f'<desc>{len(points)} windows</desc></svg>')
    return "".join(parts)


def emotion_bars(shares: dict[str, float] | None, width: int = 420, height: int = 230,
                 title: str = "Emotion distribution (% of faces)") -> str:
    parts = _svg_open(width, height, title, 8)
    if not shares:
        return _empty(parts, width, height, "suppressed or no data (fewer faces than the privacy minimum)")
    order = ["happy", "surprise", "neutral", "sad", "fear", "angry", "disgust"]
    names = [n for n in order if n in shares] + [n for n in shares if n not in order]
    row = (height - 34) / len(names)
    bar_left, bar_width = 90, width - 90 - 60
    for k, name in enumerate(names):
        share = max(0.0, min(1.0, float(shares[name])))
        top = 28 + k * row
        parts.append(f'<text x="{bar_left - 8}" y="{top + row * 0.65:.1f}" text-anchor="end" class="axis">{escape(name)}</text>'
                     f'<rect x="{bar_left}" y="{top + 3:.1f}" width="{bar_width * share:.1f}" height="{row - 6:.1f}" '
                     f'fill="{EMOTION_COLOURS.get(name, "#888")}" rx="3"/>'
                     f'<text x="{bar_left + bar_width * share + 6:.1f}" y="{top + row * 0.65:.1f}" class="axis">'
                     f'{share * 100:.0f} %</text>')
    parts.append("</svg>")
    return "".join(parts)
