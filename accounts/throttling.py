"""How django-axes names the login an attempt was for (AXES_USERNAME_CALLABLE), and the visitor's
address that both its lock-out and our form throttles count (AXES_CLIENT_IP_CALLABLE)."""

import ipaddress

from django.conf import settings

# AccessAttempt.username holds at most this much; a longer "email" is junk, but must not break
# the login page (PostgreSQL refuses an over-long value instead of cutting it).
MAX_LENGTH = 255


def login_name(request, credentials):
    """The email address as the login compares it (any letter case, no surrounding spaces), so
    that typing it in another case does not start a fresh count of failures."""
    if credentials and credentials.get("username") is not None:
        value = credentials["username"]
    else:
        value = getattr(request, "POST", {}).get("username")
    return value.strip().lower()[:MAX_LENGTH] if isinstance(value, str) else None


def client_address(request):
    """The visitor's IP address (AXES_CLIENT_IP_CALLABLE), for lock-outs and throttles.

    The connection's own address, unless the portal sits behind PROXY_COUNT proxies of its own
    (BEHIND_TLS_PROXY). Each proxy appends the address it was reached from to X-Forwarded-For,
    so the client is the entry PROXY_COUNT places from the right; anything further left was
    written by the client itself and could name any address it likes.
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.CLIENT_ADDRESS_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote
