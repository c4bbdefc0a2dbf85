"""The bench server's URLs: the portal's own, plus one trivial page that is the framework floor
of the HTTP load run (bench/http_load.py). Never part of the production URLs: only the bench
server's settings (bench/load_settings.py) name this module.

The floor page answers a logged-in request with two bytes. It passes the same middleware as every
page (request id, metrics, security headers, sessions, CSRF, login, idle-session clock, two-factor,
CSP, audit context...) and reads the session and its user as any logged-in page does; what a
booking costs beyond it is the booking's own. The write floor is the same with a POST that commits
one small change (below), to compare the booking with the cheapest committed write.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from clinic import urls as portal_urls

FLOOR_ROUTE = "bench/floor/"
WRITE_FLOOR_ROUTE = "bench/write-floor/"
WRITE_FLOOR_KEY = "bench_write_floor"


@login_required
def floor(request):
    return HttpResponse(b"ok", content_type="text/plain")


@require_POST
@login_required
def write_floor(request):
    """The floor of a write (`http_load --floor write`): a logged-in, CSRF-checked POST whose one
    change is committed, the session's counter (an UPDATE of the session row, and the cache's
    copy with REDIS_URL), as small a committed write as a page can make."""
    request.session[WRITE_FLOOR_KEY] = request.session.get(WRITE_FLOOR_KEY, 0) + 1
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path(FLOOR_ROUTE, floor, name="bench-floor"),
    path(WRITE_FLOOR_ROUTE, write_floor, name="bench-write-floor"),
    *portal_urls.urlpatterns,
]

handler400 = portal_urls.handler400
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
