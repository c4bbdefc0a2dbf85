"""What a booking will cost, shown before it is made. The money rules (fee, GST, rounding) are
billing's, and bookings may not import billing, so billing registers its quote here from
AppConfig.ready(): a function of the doctor (and the visit type, if any) returning an object
with fee, gst, gst_percent, total and currency. Without billing installed there is no quote
(None), and the pages show the doctor's fee alone.
"""

_quotes = []


def register(quote):
    """Makes `quote(*, doctor)` the one used for prices; returns it (usable as a decorator)."""
    _quotes[:] = [quote]
    return quote


def quote(*, doctor, visit_type=None):
    """The price of a visit with `doctor` (of `visit_type`, whose fee overrides the doctor's
    where it has one)."""
    return _quotes[0](doctor=doctor, visit_type=visit_type) if _quotes else None
