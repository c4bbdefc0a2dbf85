"""Server-rendered SVG charts for the reports: no JavaScript, readable without colour, each with a
text alternative (the same numbers are always in a table beside the chart).

Series are told apart by colour and by a pattern-free legend with text; colours come from a
palette with at least 3:1 contrast against white (WCAG 1.4.11 for graphics).
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from html import escape

PALETTE = ["#0a3d91", "#b3541e", "#2e7d32", "#6a1b9a", "#7a5c00", "#c62828", "#00695c"]

WIDTH = 720
HEIGHT = 300
MARGIN_LEFT = 56
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 64

# The category labels under the bars are turned so that many fit; how far a turned label reaches
# (down, and left past its bar) depends on its length, and the picture is made that much larger.
# Text is measured generously (a system font's average glyph is about half an em), so that the
# room is enough in any browser; a label longer than LABEL_MAX_CHARS is shortened (the table and
# the label's tooltip have it whole).
LABEL_SIZE = 11
LABEL_ANGLE = 35
LABEL_MAX_CHARS = 28
GLYPH_WIDTH_EM = 0.62
LEGEND_SIZE = 12


@dataclass(frozen=True)
class Series:
    name: str
    values: list  # numbers (int, float or Decimal); None counts as 0


def _number(value):
    return float(value) if value is not None else 0.0


def _nice_ceiling(value):
    """A round number at or above `value` for the top of the axis (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _format(value):
    if isinstance(value, Decimal) or (isinstance(value, float) and not value.is_integer()):
        return f"{value:,.2f}"
    return f"{int(value):,}"


def bar_chart(*, chart_id, title, description, categories, series, stacked=False, unit=""):
    """Vertical bars, one group (or stack) per category. Returns SVG markup."""
    count = max(len(categories), 1)
    if stacked:
        peak = max(
            (sum(_number(s.values[i]) for s in series) for i in range(len(categories))),
            default=0,
        )
    else:
        peak = max((_number(v) for s in series for v in s.values), default=0)
    top = _nice_ceiling(peak)
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_width / count
    bar_area = slot * 0.8
    bar_width = bar_area if stacked else bar_area / max(len(series), 1)

    def y(value):
        return MARGIN_TOP + plot_height - plot_height * (_number(value) / top)

    parts = []
    reach_left = 0.0  # the furthest any text reaches left of x=0 (negative), to widen the picture
    axis, axis_reach = _axis(top, plot_width, plot_height, unit)
    parts += axis
    reach_left = min(reach_left, axis_reach)
    label_every = max(1, count // 12)  # at most about a dozen labels along the bottom
    label_y = HEIGHT - MARGIN_BOTTOM + 14
    labels_bottom = label_y
    for index, category in enumerate(categories):
        left = MARGIN_LEFT + index * slot + (slot - bar_area) / 2
        base = _number(0)
        for number, one in enumerate(series):
            value = _number(one.values[index])
            if stacked:
                top_y, bottom_y = y(base + value), y(base)
                x = left
                base += value
            else:
                top_y, bottom_y = y(value), y(0)
                x = left + number * bar_width
            height = max(bottom_y - top_y, 0)
            if height:
                parts.append(
                    f'<rect class="bar" x="{x:.1f}" y="{top_y:.1f}" '
                    f'width="{max(bar_width - 1, 1):.1f}" '
                    f'height="{height:.1f}" fill="{PALETTE[number % len(PALETTE)]}">'
                    f"<title>{escape(str(category))}, {escape(one.name)}: "
                    f"{_format(one.values[index] or 0)}{escape(unit)}</title></rect>"
                )
        if index % label_every == 0:
            cx = MARGIN_LEFT + index * slot + slot / 2
            full = str(category)
            shown = full if len(full) <= LABEL_MAX_CHARS else full[: LABEL_MAX_CHARS - 1] + "…"
            across, down = _turned_reach(_text_width(shown, LABEL_SIZE))
            reach_left = min(reach_left, cx - across)
            labels_bottom = max(labels_bottom, label_y + down)
            tooltip = f"<title>{escape(full)}</title>" if shown != full else ""
            parts.append(
                f'<text x="{cx:.1f}" y="{label_y}" font-size="{LABEL_SIZE}" '
                f'text-anchor="end" transform="rotate(-{LABEL_ANGLE} {cx:.1f} {label_y})">'
                f"{escape(shown)}{tooltip}</text>"
            )
    legend, legend_bottom = _legend(series, top=labels_bottom + 8)
    parts += legend
    parts.append("</svg>")
    left_edge = min(0.0, reach_left - 4)
    frame = (left_edge, WIDTH - left_edge, max(HEIGHT, legend_bottom + 8))
    return _open(chart_id, title, description, frame) + "".join(parts)


def _text_width(text, size):
    return len(text) * size * GLYPH_WIDTH_EM


def _turned_reach(width):
    """How far a label of this width, turned by LABEL_ANGLE about its end, reaches left of its
    end and below its baseline (its own line height included)."""
    angle = math.radians(LABEL_ANGLE)
    across = width * math.cos(angle) + LABEL_SIZE * math.sin(angle)
    down = width * math.sin(angle) + LABEL_SIZE * math.cos(angle)
    return across, down


def _open(chart_id, title, description, frame):
    left, width, height = frame
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:.1f} 0 {width:.1f} {height:.1f}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="report-chart" '
        f'font-family="system-ui, sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )


def _axis(top, plot_width, plot_height, unit):
    """The value lines and their labels, and how far the widest label reaches left of x=0."""
    parts = []
    reach_left = 0.0
    for step in range(5):
        value = top * step / 4
        y = MARGIN_TOP + plot_height - plot_height * step / 4
        label = f"{_format(value)}{unit}"
        reach_left = min(reach_left, MARGIN_LEFT - 6 - _text_width(label, 11))
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{MARGIN_LEFT + plot_width}" y2="{y:.1f}" '
            f'stroke="#d0d0d0" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#333">{escape(label)}</text>'
        )
    return parts, reach_left


def _legend(series, *, top):
    """The key, in rows that wrap at the right edge; returns it and where its last row ends."""
    parts = []
    x, row_top = MARGIN_LEFT, top
    for number, one in enumerate(series):
        item_width = 16 + _text_width(one.name, LEGEND_SIZE)
        if x > MARGIN_LEFT and x + item_width > WIDTH - MARGIN_RIGHT:
            x, row_top = MARGIN_LEFT, row_top + LEGEND_SIZE + 8
        color = PALETTE[number % len(PALETTE)]
        parts.append(
            f'<rect class="legend-key" x="{x:.1f}" y="{row_top:.1f}" width="12" height="12" '
            f'fill="{color}"/>'
            f'<text x="{x + 16:.1f}" y="{row_top + 10:.1f}" font-size="{LEGEND_SIZE}" '
            f'fill="#1a1a1a">{escape(one.name)}</text>'
        )
        x += item_width + 12
    return parts, row_top + LEGEND_SIZE + 4
