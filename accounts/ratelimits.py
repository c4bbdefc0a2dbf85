"""Throttling of the forms that work without a full login: sign-up, password reset and the
two-factor code prompt (logging in itself is django-axes' work).

django-ratelimit counts tries in Django's cache, so the limits hold across app servers once the
cache is shared (Redis). Each form has two counters, one for the address (the email typed, or
the login at the code prompt) and one for the client's IP address; the library stores only
hashes of them as cache keys, never the addresses themselves.
"""

import datetime as dt
import math

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.shortcuts import render
from django_ratelimit.core import get_usage

# The longest address a counter keys on: longer input is junk, but must not cost more to hash.
MAX_KEY_LENGTH = 320


def client_ip(request):
    """RATELIMIT_IP_META_KEY: the client's address as django-axes sees it (behind a proxy too),
    so that both throttles count the same visitor."""
    return get_client_ip_address(request) or request.META.get("REMOTE_ADDR") or "0.0.0.0"


def _count(request, *, group, key, rate):
    return get_usage(request, group=group, key=key, rate=rate, method="POST", increment=True)


def refuse_if_too_many(request, *, form, address, per_address):
    """Counts this POST for `address` and for the client's IP address; once either is over
    its limit, answers the 429 page (the caller then does nothing else). None otherwise."""
    if request.method != "POST":
        return None
    address = address.strip().lower()[:MAX_KEY_LENGTH]
    # Both counters move on every try, so that tries refused by one still count for the other.
    usages = [
        _count(request, group=f"{form}:ip", key="ip", rate=settings.THROTTLE_FORMS_PER_IP),
    ]
    if address:
        usages.append(
            _count(
                request,
                group=f"{form}:address",
                key=lambda _group, _request: address,
                rate=per_address,
            )
        )
    limited = [usage for usage in usages if usage is not None and usage["should_limit"]]
    if not limited:
        return None
    wait = max(max(usage["time_left"] for usage in limited), 1)
    # Said in whole minutes, rounded up, so that "try again in N minutes" is never too soon.
    pause = dt.timedelta(minutes=math.ceil(wait / 60))
    response = render(request, "accounts/too_many_tries.html", {"pause": pause}, status=429)
    response["Retry-After"] = str(wait)
    return response
