"""The webhook signature: HMAC-SHA256 over `timestamp + "." + body` with the endpoint's secret.

The known vector was computed outside Python, with OpenSSL:

    printf '%s' '1767225600.{"id":...}' | openssl dgst -sha256 -hmac 'whsec_9kZb...'
"""

import hashlib
import hmac

import pytest

from notifications import signing

SECRET = "whsec_9kZbX2qLr4T8uVw1yN3pQ6sA0dF5gH7j"
TIMESTAMP = 1767225600  # 2026-01-01T00:00:00Z
BODY = b'{"id":"0b7c4a58-3b1e-4d43-9d8f-6c1e2a6f9e01","type":"appointment.booked"}'
DIGEST = "61195469d44eca4a75a980f6b80597e7435725b9970e42d6fddbff14c2d9ad90"
HEADER = f"t={TIMESTAMP},v1={DIGEST}"


def test_the_signature_matches_the_known_vector():
    assert signing.signature(SECRET, TIMESTAMP, BODY) == DIGEST
    assert signing.signature_header(SECRET, TIMESTAMP, BODY) == HEADER


def documented_check(header, body, secret):
    # docs/webhooks.md's example, as a receiver would write it with the standard library only
    # (less the age check).
    fields = dict(part.split("=", 1) for part in header.split(","))
    signed = fields["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), fields["v1"].encode())


def test_the_documented_lines_verify_the_header():
    assert documented_check(HEADER, BODY, SECRET)
    assert not documented_check(HEADER, BODY + b" ", SECRET)


def test_the_documented_lines_refuse_a_v1_that_is_not_ascii_rather_than_fail():
    assert not documented_check(f"t={TIMESTAMP},v1=é{DIGEST[1:]}", BODY, SECRET)


def test_verify_accepts_the_header_within_the_tolerance():
    assert signing.verify(SECRET, HEADER, BODY, now=TIMESTAMP + 299)
    assert signing.verify(SECRET, HEADER, BODY, now=TIMESTAMP - 10)


@pytest.mark.parametrize(
    ("secret", "header", "body", "now"),
    [
        pytest.param(SECRET, HEADER, BODY + b" ", TIMESTAMP, id="body changed"),
        pytest.param("whsec_other", HEADER, BODY, TIMESTAMP, id="another secret"),
        pytest.param(SECRET, HEADER, BODY, TIMESTAMP + 301, id="too old: a replay"),
        pytest.param(SECRET, f"t={TIMESTAMP + 1},v1={DIGEST}", BODY, TIMESTAMP, id="time changed"),
        pytest.param(SECRET, f"t={TIMESTAMP}", BODY, TIMESTAMP, id="no v1"),
        pytest.param(SECRET, f"v1={DIGEST}", BODY, TIMESTAMP, id="no t"),
        pytest.param(SECRET, "t=soon,v1=abc", BODY, TIMESTAMP, id="t not a number"),
        pytest.param(SECRET, "nonsense", BODY, TIMESTAMP, id="no fields"),
        pytest.param(SECRET, "", BODY, TIMESTAMP, id="empty"),
        pytest.param(SECRET, f"t={TIMESTAMP},v1=é{DIGEST[1:]}", BODY, TIMESTAMP, id="v1 not ASCII"),
        pytest.param(SECRET, f"t={TIMESTAMP},v1=\udc80", BODY, TIMESTAMP, id="v1 a lone surrogate"),
    ],
)
def test_verify_refuses_anything_else(secret, header, body, now):
    assert not signing.verify(secret, header, body, now=now)
