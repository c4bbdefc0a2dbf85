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
from django.utils.translation import gettext

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


# IPv6 addresses that carry an IPv4 one, which Python calls global whatever they carry: NAT64's
# well-known prefix (RFC 6052: the last 32 bits, turned into IPv4 by a NAT64 gateway on the way)
# and the deprecated IPv4-compatible form (::a.b.c.d). NAT64's local-use prefix (RFC 8215) is
# never a receiver elsewhere. 6to4 (2002::/16) and IPv4-mapped are unwrapped by ipaddress itself.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(address):
    """The IPv4 address an IPv6 one carries (see above), or None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or address in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_local(host):
    address = _ip(host)
    if address is None:
        return host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES)
    if address.version == 6:
        if address in NAT64_LOCAL_USE:
            return True
        embedded = _embedded_ipv4(address)
        if embedded is not None and _is_local(str(embedded)):
            return True
    return not address.is_global or address.is_multicast


def validate_webhook_url(value):
    """Raises ValidationError for an address webhooks must not go to (see above)."""
    well_formed(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (a port out of range raises here)
    except ValueError:
        raise ValidationError(gettext("Enter a valid URL."), code="invalid") from None
    allow_local = settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise ValidationError(gettext("Webhooks are sent over https:// only."), code="scheme")
    if scheme == "http" and not allow_local:
        raise ValidationError(
            gettext("Webhooks are sent over https:// only: the body would be readable on the way."),
            code="scheme",
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            gettext(
                "Leave the login out of the URL: deliveries are signed with the endpoint's secret."
            ),
            code="credentials",
        )
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise ValidationError(gettext("Enter a URL with the receiver's host name."), code="host")
    if not allow_local and _is_local(host):
        raise ValidationError(
            gettext(
                "That address is on this machine or a private network, not a receiver elsewhere."
            ),
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
