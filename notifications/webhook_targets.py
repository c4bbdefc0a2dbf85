"""Which addresses a webhook may be sent to.

The clinic's data leaves the portal through these URLs, so an address that is obviously not a
receiver elsewhere is refused when an endpoint is saved and again before each try: anything but
https:// (a body and its signature readable on the way), a login in the URL, and hosts on this
machine or the local network (the portal's own services, a cloud's metadata address at
169.254.169.254). WEBHOOK_ALLOW_LOCAL_RECEIVERS (on with DEBUG) lets in http:// and local hosts,
for a receiver on the same machine or network during development and tests.

What the URL says is checked when the endpoint is saved; before each try the host name is also
resolved (resolves_to_local), so that a public name pointing at a private address is refused
too. A name that changes its answer between that look-up and the connection (DNS rebinding) is
not caught: an egress proxy or firewall is the complete answer, and docs/webhooks.md says so.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal")
# Django's own check first: it refuses hosts written as bare numbers ("2130706433" is 127.0.0.1
# to the resolver) and other shapes the checks below would not recognise as an address.
well_formed = URLValidator(schemes=["http", "https"])


def _ip(host):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_local(host):
    address = _ip(host)
    if address is None:
        return host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES)
    if getattr(address, "ipv4_mapped", None) is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def validate_webhook_url(value):
    """Raises ValidationError for an address webhooks must not go to (see above)."""
    well_formed(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (a port out of range raises here)
    except ValueError:
        raise ValidationError("Enter a valid URL.", code="invalid") from None
    allow_local = settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise ValidationError("Webhooks are sent over https:// only.", code="scheme")
    if scheme == "http" and not allow_local:
        raise ValidationError(
            "Webhooks are sent over https:// only: the body would be readable on the way.",
            code="scheme",
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Leave the login out of the URL: deliveries are signed with the endpoint's secret.",
            code="credentials",
        )
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise ValidationError("Enter a URL with the receiver's host name.", code="host")
    if not allow_local and _is_local(host):
        raise ValidationError(
            "That address is on this machine or a private network, not a receiver elsewhere.",
            code="local",
        )


def resolves_to_local(url):
    """Whether any address the URL's host resolves to is on this machine or a private network
    (False when local receivers are allowed). A name that does not resolve is left to the
    connection, which fails and is tried again."""
    if settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS:
        return False
    parts = urlsplit(url)
    try:
        answers = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    return any(_is_local(answer[4][0].split("%", 1)[0]) for answer in answers)
