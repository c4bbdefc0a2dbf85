"""Every request has an id: sent back in the X-Request-ID header, and in each log line written
while the request is served, so that one request's lines can be found among many servers'.

A proxy or load balancer in front usually makes the id (nginx's $request_id, a cloud balancer's
trace id) and passes it on; the portal keeps a sane one, so the proxy's access log and the
portal's lines share it, and makes its own otherwise. Sane means 8 to 128 letters, digits and
`.`, `_`, `:` or `-`: what id generators write. Anything else (spaces, quotes, an email address
typed into a header) is never written into a log; the request gets a new id instead.
"""

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
# In a log line written outside any request (a worker, a command).
NO_REQUEST = "-"

current_request_id = contextvars.ContextVar("current_request_id", default=None)


def request_id_for(request):
    """The id the request came with, when it is sane; a new one otherwise."""
    offered = request.headers.get(HEADER, "")
    if SANE_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE: every answer carries the id, redirects and refusals included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        token = current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[HEADER] = request.request_id
        return response


class AddRequestId(logging.Filter):
    """Gives each record a `request_id`: its request's (Django's request loggers name the
    request on the record, and log some answers after the middleware has returned), else the
    request being served, else NO_REQUEST."""

    def filter(self, record):
        request = getattr(record, "request", None)
        record.request_id = (
            getattr(request, "request_id", None) or current_request_id.get() or NO_REQUEST
        )
        return True
