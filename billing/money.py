"""Money arithmetic in one place: Decimal to the paisa (cent), rounded half-up."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def _decimal(value):
    # A float as written (0.18), not its binary value (0.17999...), which would round 45.045 down.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def to_money(value):
    return _decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def gst_on(fee, rate):
    """GST on a fee at `rate` (0.18 for 18%), to the paisa."""
    return to_money(_decimal(fee) * _decimal(rate))


def as_percent(rate):
    """18 for a rate of 0.1800 (12.5 for 0.1250, 10 for 0.1000)."""
    percent = _decimal(rate) * 100
    if percent == percent.to_integral_value():
        # normalize() alone would write 10 as 1E+1.
        return percent.to_integral_value()
    return percent.normalize()


def share_of(part_total, whole_total, whole_amount):
    """`whole_amount` scaled by part_total / whole_total, to the paisa (0 when whole_total is 0).

    Used to split a part payment or refund into its fee and GST: taking each share of the running
    sum (not of each piece) makes the pieces add up exactly to the whole.
    """
    if not whole_total:
        return Decimal("0.00")
    return to_money(_decimal(whole_amount) * _decimal(part_total) / _decimal(whole_total))


def grouped(amount, *, currency):
    """`amount` to the paisa with its digits grouped: as in India for rupees (12,34,567.50: the
    last three digits, then pairs: lakh, crore), in threes otherwise (1,234,567.50). Latin digits,
    the way Indian clinics print amounts in Hindi as in English."""
    value = to_money(amount)
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    if currency == "INR" and len(whole) > 3:
        head, last = whole[:-3], whole[-3:]
        pairs = []
        while len(head) > 2:
            head, pair = head[:-2], head[-2:]
            pairs.insert(0, pair)
        whole = ",".join([head, *pairs, last])
    elif currency != "INR":
        whole = f"{int(whole):,}"
    return f"{sign}{whole}.{cents}"


def money_text(amount, currency):
    """ "INR 12,34,567.50": the currency's code, then the amount grouped (grouped())."""
    return f"{currency} {grouped(amount, currency=currency)}"
