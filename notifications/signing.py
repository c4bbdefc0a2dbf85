"""Webhook signatures: HMAC-SHA256 with the endpoint's secret over `timestamp + "." + body`.

Sent as `Clinic-Signature: t=<unix seconds>,v1=<hex digest>`. The timestamp is the moment of the
try, inside the signed text, so a receiver can refuse an old request replayed at it; the body is
the exact bytes posted. `v1` names the scheme: a later one can be sent alongside it.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Clinic-Signature"
SCHEME = "v1"
# How old a signed request a receiver should still accept (verify()'s default).
TOLERANCE_SECONDS = 300


def signature(secret, timestamp, body):
    """The hex HMAC-SHA256 of `timestamp.body` under `secret` (str), body as bytes."""
    signed = f"{int(timestamp)}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret, timestamp, body):
    return f"t={int(timestamp)},{SCHEME}={signature(secret, timestamp, body)}"


def verify(secret, header, body, *, now=None, tolerance=TOLERANCE_SECONDS):
    """Whether `header` (the Clinic-Signature value) signs `body` (bytes) with `secret`, and was
    made within `tolerance` seconds of `now` (default: the clock). What a receiver runs."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    # As bytes: compare_digest refuses a str with anything but ASCII in it (TypeError), and a
    # header is whatever the sender put there.
    given = fields.get(SCHEME, "").encode("utf-8", "backslashreplace")
    return hmac.compare_digest(expected.encode(), given)
