"""The report charts as Chromium draws them: no text cut off at the picture's edges."""

import base64
from decimal import Decimal

import pytest

from clinic.charts import Series, bar_chart
from clinic.tests.test_charts import LONG_NAMES, WEEKS

pytestmark = pytest.mark.browser

# Each text's drawn box and the picture's, in page pixels, for every text that leaves the picture.
TEXTS_OUTSIDE = """
const frame = document.querySelector("svg").getBoundingClientRect();
return [...document.querySelectorAll("svg text")]
    .map((text) => [text.firstChild.textContent, text.getBoundingClientRect()])
    .filter(([, box]) => box.left < frame.left - 0.5 || box.right > frame.right + 0.5
        || box.top < frame.top - 0.5 || box.bottom > frame.bottom + 0.5)
    .map(([label, box]) => [label, Math.round(box.left), Math.round(box.bottom)]);
"""


@pytest.mark.parametrize(
    ("categories", "values", "unit"),
    [
        (LONG_NAMES, [Decimal("1234567.89"), Decimal("12.50"), None], " INR"),
        (WEEKS, [7] * len(WEEKS), ""),
        (["Dr " + "Venkatanarayanan " * 6], [1], ""),
    ],
    ids=["revenue per doctor", "weeks", "a very long name"],
)
def test_no_chart_text_is_cut_off(browser, categories, values, unit):
    svg = bar_chart(
        chart_id="chart",
        title="Chart",
        description="Numbers.",
        categories=categories,
        series=[Series("Completed", values), Series("Cancelled by the patient", values)],
        unit=unit,
    )
    page = f'<!doctype html><html><body style="margin:0"><div style="width:720px">{svg}</div>'
    browser.get("data:text/html;base64," + base64.b64encode(page.encode()).decode())

    assert browser.execute_script(TEXTS_OUTSIDE) == []
