"""What a load balancer or an orchestrator asks each app server, every few seconds.

- /healthz: the process answers (200 "ok"). Nothing else is asked: a database outage must not
  get every app server restarted.
- /readyz: this server can serve pages: the database answers one `SELECT 1`, and so does each
  cache on a server (Redis, memcached) when one is configured (REDIS_URL, CACHE_URL). 200 "ok",
  or 503 "unavailable" so that the balancer sends traffic elsewhere until it answers again.

Neither says more than that: no versions, no error text (which names hosts and users); the log
says which check failed and the kind of error. They need no login, and are answered by
HealthProbeMiddleware before sessions, authentication, CSRF and the audit log run: a probe costs
only its check, reads no session even when a cookie comes along, and is never cached (a cached
"ok" would hide an outage). The URLconf names them (`healthz`, `readyz`); SECURE_REDIRECT_EXEMPT
lets a plain-HTTP probe on the host through when the portal otherwise redirects to HTTPS.
"""

import logging

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

# The URLconf's routes for the two probes (clinic/urls.py), and SECURE_REDIRECT_EXEMPT's.
HEALTHZ_ROUTE = "healthz"
READYZ_ROUTE = "readyz"
PROBE_PATHS = {f"/{HEALTHZ_ROUTE}", f"/{READYZ_ROUTE}"}

# Caches that live on a server of their own, which this app server needs to reach.
SERVER_CACHE_BACKENDS = (
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django_redis.cache.RedisCache",
)
PROBE_KEY = "clinic:readyz"


def _answer(status, text):
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    add_never_cache_headers(response)
    return response


@require_safe
def healthz(request):
    return _answer(200, "ok")


def _database_answers():
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _server_caches():
    return [
        alias
        for alias, options in settings.CACHES.items()
        if options.get("BACKEND") in SERVER_CACHE_BACKENDS
    ]


def readiness_checks():
    """(name, check) for each thing this server needs: the database, then its server caches."""
    checks = [("database", _database_answers)]
    for alias in _server_caches():
        # Django's Redis and memcached caches raise when their server does not answer.
        checks.append((f"cache {alias}", lambda alias=alias: caches[alias].get(PROBE_KEY)))
    return checks


@require_safe
def readyz(request):
    for name, check in readiness_checks():
        try:
            check()
        except Exception as error:
            # The kind of error only: its text may name hosts, users and addresses.
            logger.warning("Not ready: the %s did not answer (%s)", name, type(error).__name__)
            response = _answer(503, "unavailable")
            # Logged above, once, as a warning. Django would log every probe's 503 again as an
            # error, each one emailed to ADMINS: one email every few seconds per balancer for
            # as long as an outage lasts. (Django's own mark for an answer already logged.)
            response._has_been_logged = True
            return response
    return _answer(200, "ok")


class HealthProbeMiddleware:
    """Answers /healthz and /readyz with their views before the rest of MIDDLEWARE runs (see
    the module's note); placed after the database timeouts, so that the readiness query has the
    web requests' statement timeout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in PROBE_PATHS:
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:  # a URLconf without the probes (a test's own)
            return self.get_response(request)
        # Kept on the request as the URL resolver would, for the metrics' view label.
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
