"""Money arithmetic: to the paisa, half-up, and split pieces that add up exactly."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.money import gst_on, share_of, to_money

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.125", "0.13"),  # half-up, not the banker's 0.12
        ("0.135", "0.14"),
        ("0.115", "0.12"),
        ("0.124999", "0.12"),
        ("45.045", "45.05"),
        ("59.9994", "60.00"),
        ("-0.125", "-0.13"),  # half away from zero
        ("7", "7.00"),
        (7, "7.00"),
        (D("590"), "590.00"),
    ],
)
def test_to_money_rounds_half_up_to_the_paisa(value, expected):
    result = to_money(value)
    assert result == D(expected)
    assert str(result) == expected  # always two places


def test_to_money_rounds_a_float_as_it_is_written_not_as_it_is_stored():
    # 2.675 is stored as 2.67499999999999982236431605997495353221893310546875.
    assert to_money(2.675) == D("2.68")
    assert to_money(0.125) == D("0.13")


@pytest.mark.parametrize(
    ("fee", "rate", "gst"),
    [
        ("333.33", "0.18", "60.00"),  # 59.9994
        ("250.25", "0.18", "45.05"),  # 45.045: half-up
        ("500.00", "0.18", "90.00"),
        ("0.01", "0.18", "0.00"),  # 0.0018
        ("0.03", "0.18", "0.01"),  # 0.0054
        ("100.10", "0.125", "12.51"),  # 12.5125
        ("0.20", "0.125", "0.03"),  # 0.025: half-up
        ("1.00", "0.125", "0.13"),  # 0.125: half-up
        ("999.99", "0", "0.00"),
    ],
)
def test_gst_on_a_fee_is_rounded_half_up_to_the_paisa(fee, rate, gst):
    assert gst_on(D(fee), D(rate)) == D(gst)
    assert gst_on(fee, rate) == D(gst)  # strings, as settings.GST_RATE is


def test_gst_on_with_a_float_rate_is_not_thrown_off_by_binary_fractions():
    assert gst_on(D("250.25"), 0.18) == D("45.05")


def test_share_of_scales_and_rounds_half_up():
    assert share_of(D("100.00"), D("590.00"), D("500.00")) == D("84.75")  # 84.7457...
    assert share_of(D("295.00"), D("590.00"), D("90.00")) == D("45.00")
    assert share_of(D("1.00"), D("8.00"), D("1.00")) == D("0.13")  # 0.125
    assert share_of(D("590.00"), D("590.00"), D("500.00")) == D("500.00")


def test_share_of_a_zero_whole_is_zero():
    assert share_of(D("0.00"), D("0.00"), D("0.00")) == D("0.00")
    assert share_of(D("5.00"), D("0"), D("3.00")) == D("0.00")


cents = st.integers(min_value=0, max_value=10_000_000).map(lambda n: D(n) / 100)


@st.composite
def charge_and_parts(draw):
    """A fee and GST, and their total cut into positive parts (amounts in whole paise)."""
    fee = draw(cents)
    gst = draw(cents)
    total = fee + gst
    total_paise = int(total * 100)
    if total_paise == 0:
        return fee, gst, []
    cuts = draw(st.lists(st.integers(min_value=1, max_value=total_paise), max_size=12, unique=True))
    bounds = [0, *sorted(set(cuts) - {total_paise}), total_paise]
    parts = [D(b - a) / 100 for a, b in itertools.pairwise(bounds)]
    return fee, gst, parts


@given(charge_and_parts())
def test_pieces_taken_on_the_running_sum_add_up_to_the_whole_fee_and_gst(case):
    fee, gst, parts = case
    total = fee + gst
    assert sum(parts, D(0)) == total
    fee_pieces, gst_pieces = [], []
    paid = D("0.00")
    for part in parts:
        fee_piece = share_of(paid + part, total, fee) - share_of(paid, total, fee)
        fee_pieces.append(fee_piece)
        gst_pieces.append(part - fee_piece)
        paid += part
    assert sum(fee_pieces, D(0)) == fee
    assert sum(gst_pieces, D(0)) == gst
    # Each piece is a real split of its part: neither share negative, both to the paisa.
    for part, fee_piece, gst_piece in zip(parts, fee_pieces, gst_pieces, strict=True):
        assert fee_piece >= 0 and gst_piece >= 0
        assert fee_piece + gst_piece == part
        assert fee_piece == to_money(fee_piece) and gst_piece == to_money(gst_piece)
