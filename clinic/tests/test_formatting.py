"""How the portal writes money and durations, in English and in Hindi."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from billing.money import grouped, money_text
from clinic.templatetags.portal import duration_words


@pytest.mark.parametrize(
    ("amount", "rupees", "euros"),
    [
        ("0", "0.00", "0.00"),
        ("999.5", "999.50", "999.50"),
        ("1000", "1,000.00", "1,000.00"),
        ("123456", "1,23,456.00", "123,456.00"),
        ("1234567.505", "12,34,567.51", "1,234,567.51"),
        ("100000000", "10,00,00,000.00", "100,000,000.00"),
        ("-150000", "-1,50,000.00", "-150,000.00"),
    ],
)
def test_rupees_are_grouped_in_lakhs_and_crores_other_currencies_in_threes(amount, rupees, euros):
    assert grouped(Decimal(amount), currency="INR") == rupees
    assert grouped(Decimal(amount), currency="EUR") == euros


@pytest.mark.parametrize("language", ["en-gb", "hi"])
def test_the_money_filter_is_the_same_in_every_language(settings, language):
    settings.CURRENCY = "INR"
    template = Template(
        "{% load portal %}{{ amount|money }}|{{ amount|money:'EUR' }}|{{ none|money }}"
    )
    with translation.override(language):
        rendered = template.render(Context({"amount": Decimal("254800.00"), "none": None}))
    assert rendered == "INR 2,54,800.00|EUR 254,800.00|"
    assert money_text(Decimal("5"), "INR") == "INR 5.00"


def test_durations_in_english_and_hindi():
    with translation.override("en-gb"):
        assert duration_words(dt.timedelta(minutes=75)) == "1 hour 15 minutes"
        assert duration_words(dt.timedelta(minutes=120)) == "2 hours"
    with translation.override("hi"):
        assert duration_words(dt.timedelta(minutes=75)) == "1 घंटा 15 मिनट"
        assert duration_words(dt.timedelta(minutes=1)) == "1 मिनट"


def test_report_cells_group_money_and_leave_the_rest(settings):
    settings.CURRENCY = "INR"
    template = Template(
        "{% load portal %}{{ money|report_cell }}|{{ count|report_cell }}|{{ name|report_cell }}"
    )
    rendered = template.render(
        Context({"money": Decimal("1234567.5"), "count": 1234, "name": "OPD"})
    )
    assert rendered == "12,34,567.50|1234|OPD"


def test_amounts_in_sentences_are_grouped_by_their_currency(settings):
    settings.CURRENCY = "INR"
    template = Template("{% load portal %}{{ fee|grouped_amount }} {{ fee|grouped_amount:'USD' }}")
    assert template.render(Context({"fee": Decimal("150000")})) == "1,50,000.00 150,000.00"
