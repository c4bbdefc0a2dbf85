"""The report charts' geometry: every label drawn inside the picture, none over another part."""

import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from clinic.charts import Series, bar_chart

SVG = "{http://www.w3.org/2000/svg}"
# Wider than the average glyph of a sans-serif face (about half an em), so that a label this
# test finds inside the picture is inside it in a browser too.
GLYPH_WIDTH_EM = 0.6


def chart(categories, series_names=("Booked",)):
    return ET.fromstring(
        bar_chart(
            chart_id="test-chart",
            title="Test chart",
            description="Numbers per category.",
            categories=categories,
            series=[Series(name, [3] * len(categories)) for name in series_names],
        )
    )


def view_box(svg):
    left, top, width, height = (float(part) for part in svg.get("viewBox").split())
    return left, top, left + width, top + height


def rotation(text):
    match = re.fullmatch(
        r"rotate\((-?[\d.]+) (-?[\d.]+) (-?[\d.]+)\)", text.get("transform", "rotate(0 0 0)")
    )
    return float(match.group(1))


def box_of(text):
    """The corners of a text's box (its ink and the line above and below it), turned as drawn."""
    size = float(text.get("font-size"))
    label = text.text or ""  # what is drawn; a <title> inside is only a tooltip
    width = len(label) * size * GLYPH_WIDTH_EM
    x, y = float(text.get("x")), float(text.get("y"))
    anchor = text.get("text-anchor", "start")
    start = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    corners = [(start, y - size), (start + width, y - size), (start, y + size * 0.3)]
    corners.append((start + width, y + size * 0.3))
    angle = math.radians(rotation(text))
    turned = []
    for cx, cy in corners:
        dx, dy = cx - x, cy - y
        turned.append(
            (
                x + dx * math.cos(angle) - dy * math.sin(angle),
                y + dx * math.sin(angle) + dy * math.cos(angle),
            )
        )
    return turned


def outside(svg):
    left, top, right, bottom = view_box(svg)
    found = []
    for text in svg.iter(f"{SVG}text"):
        for x, y in box_of(text):
            if not (left <= x <= right and top <= y <= bottom):
                found.append((text.text, round(x), round(y)))
                break
    return found


LONG_NAMES = [
    "Dr Parameswaran Venkatanarayanan Iyer",
    "Dr Ishaan Verghese",
    "Dr A Rao",
]
WEEKS = [f"Week of 2026-{month:02d}-{day:02d}" for month in (9, 10, 11) for day in (1, 8, 15)]


def test_wide_amounts_on_the_value_axis_lie_inside_the_picture():
    svg = ET.fromstring(
        bar_chart(
            chart_id="revenue",
            title="Revenue",
            description="Revenue per doctor.",
            categories=LONG_NAMES,
            series=[Series("Net revenue", [Decimal("1234567.89"), Decimal("12.50"), None])],
            unit=" INR",
        )
    )
    assert outside(svg) == []


@pytest.mark.parametrize(
    "categories",
    [LONG_NAMES, WEEKS, ["2026-12-01"], [f"2026-{m:02d}" for m in range(1, 13)], []],
    ids=["long doctor names", "weeks", "one day", "months", "nothing"],
)
def test_every_label_lies_inside_the_picture(categories):
    svg = chart(categories, series_names=("Completed", "No-show", "Cancelled", "Booked"))
    assert outside(svg) == []


def test_the_axis_labels_stay_clear_of_the_legend():
    svg = chart(LONG_NAMES)
    legend_top = min(
        float(rect.get("y")) for rect in svg.iter(f"{SVG}rect") if rect.get("class") == "legend-key"
    )
    category_labels = [text for text in svg.iter(f"{SVG}text") if text.get("transform")]
    assert category_labels
    lowest = max(y for text in category_labels for _, y in box_of(text))
    assert lowest < legend_top


def test_a_very_long_label_is_shortened_and_kept_whole_in_its_tooltip():
    name = "Dr " + "Venkatanarayanan " * 6
    svg = chart([name.strip()])
    label = next(text for text in svg.iter(f"{SVG}text") if text.get("transform"))
    shown = label.text
    assert shown.endswith("…")
    assert len(shown) < len(name)
    assert label.find(f"{SVG}title").text == name.strip()
    assert outside(svg) == []
