"""What a booking will cost, shown before it is made. The money rules (fee, GST, rounding) are
billing's, and bookings may not import billing, so billing registers its quote here from
AppConfig.ready(): a function of the doctor returning an object with fee, gst, gst_percent,
total and currency. Without billing installed there is no quote (None), and the pages show
the doctor's fee alone.
"""

_quotes = []


def register(quote):
    """Makes `quote(*, doctor)` the one used for prices; returns it (usable as a decorator)."""
    _quotes[:] = [quote]
    return quote


def quote(*, doctor):
    return _quotes[0](doctor=doctor) if _quotes else None
