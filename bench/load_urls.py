"""The bench server's URLs: the portal's own, plus one trivial page that is the framework floor
of the HTTP load run (bench/http_load.py). Never part of the production URLs: only the bench
server's settings (bench/load_settings.py) name this module.

The floor page answers a logged-in request with two bytes. It passes the same middleware as every
page (request id, metrics, security headers, sessions, CSRF, login, idle-session clock, two-factor,
CSP, audit context...) and reads the session and its user as any logged-in page does; what a
booking costs beyond it is the booking's own.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from clinic import urls as portal_urls

FLOOR_ROUTE = "bench/floor/"


@login_required
def floor(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path(FLOOR_ROUTE, floor, name="bench-floor"), *portal_urls.urlpatterns]

handler400 = portal_urls.handler400
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
