"""/metrics: the Prometheus scrape (clinic.metrics), for operators only.

Who may read it is set by METRICS_ALLOWED_IPS (addresses or networks, e.g. 10.0.5.7 or
10.0.5.0/24, seen as the lock-outs see them: accounts.throttling.client_address) and
METRICS_TOKEN (sent as `Authorization: Bearer <token>`). Each one set must be met; with neither
set, nobody may. Anyone else gets the portal's 404, as for an address that does not exist: the
figures name the portal's views and its outbox's state, nothing for the public.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotAllowed

from accounts.throttling import client_address
from clinic.metrics import exposition

BEARER = "Bearer "


def allowed_networks():
    return [ipaddress.ip_network(entry, strict=False) for entry in settings.METRICS_ALLOWED_IPS]


def _from_allowed_address(request):
    try:
        address = ipaddress.ip_address(client_address(request) or "")
    except ValueError:
        return False
    return any(address in network for network in allowed_networks())


def _with_the_token(request):
    sent = request.headers.get("Authorization", "")
    if not sent.startswith(BEARER):
        return False
    return hmac.compare_digest(sent.removeprefix(BEARER).encode(), settings.METRICS_TOKEN.encode())


def may_read_metrics(request):
    if not settings.METRICS_ALLOWED_IPS and not settings.METRICS_TOKEN:
        return False
    if settings.METRICS_ALLOWED_IPS and not _from_allowed_address(request):
        return False
    if settings.METRICS_TOKEN and not _with_the_token(request):
        return False
    return True


def metrics(request):
    # Access first: a refused method would otherwise tell anyone that the page exists.
    if not may_read_metrics(request):
        raise Http404("No such page.")
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
