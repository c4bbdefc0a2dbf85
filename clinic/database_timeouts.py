"""Waits on PostgreSQL have an end, and a page that ran out of time asks the visitor to try again.

- Every connection waits at most DATABASE_LOCK_TIMEOUT_SECONDS for a lock (the connection's
  startup options, in settings.py): the web pages, the notification worker and `migrate` alike.
  A migration that cannot get its table soon fails and can be run again, instead of queueing
  every page of the portal behind it.
- A web request's statements run at most DATABASE_STATEMENT_TIMEOUT_SECONDS: set on each
  connection opened while a request is served. The worker, `migrate` and other commands open
  theirs outside a request and have no such limit (a large migration may legitimately run long).
- A page whose statement hit either limit answers 503 with "please try again", never a 500 or a
  worker stuck for good. The statement's own transaction rolled back, but an earlier one of the
  same request may have committed (a service that finished before the answer was built), so the
  API's message says the request may not have been saved, not that nothing was.
"""

import contextvars
import logging

from django.conf import settings
from django.db import OperationalError
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from api.errors import error_body

logger = logging.getLogger(__name__)

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
TRY_AGAIN_AFTER_SECONDS = 5
BUSY_MESSAGE = (
    "The clinic's system is busy, and this request may not have been saved. Try again in a "
    "moment; retry a write with the same Idempotency-Key, so that it is not made twice."
)

serving_a_request = contextvars.ContextVar("serving_a_request", default=False)


def ran_out_of_time(error):
    """Whether a database error is PostgreSQL giving up on a lock or a statement that took too
    long (psycopg2 names the SQLSTATE pgcode, psycopg 3 sqlstate)."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    return code in (LOCK_NOT_AVAILABLE, QUERY_CANCELED)


@receiver(connection_created)
def limit_statements_in_requests(sender, connection, **kwargs):
    seconds = settings.DATABASE_STATEMENT_TIMEOUT_SECONDS
    if connection.vendor == "postgresql" and serving_a_request.get() and seconds > 0:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, false)", [str(int(seconds * 1000))]
            )


class DatabaseTimeoutsMiddleware:
    """Marks the connections opened for a request (see the module's note) and turns a lock or
    statement that ran out of time into the "busy, please try again" page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = serving_a_request.set(True)
        try:
            return self.get_response(request)
        finally:
            serving_a_request.reset(token)

    def process_exception(self, request, exception):
        if not ran_out_of_time(exception):
            return None
        # Which page and which limit, nothing of what was submitted.
        logger.warning(
            "Database busy on %s %s (SQLSTATE %s): answered 503",
            request.method,
            request.path,
            getattr(exception.__cause__, "pgcode", None)
            or getattr(exception.__cause__, "sqlstate", None),
        )
        if request.path_info.startswith("/api/"):
            response = JsonResponse(
                error_body("busy", BUSY_MESSAGE),
                status=503,
            )
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(TRY_AGAIN_AFTER_SECONDS)
        return response
