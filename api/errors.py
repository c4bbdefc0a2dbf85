"""One JSON shape for every error the API answers, 4xx and 5xx alike:

    {"error": {"code": "slot_taken", "message": "Sorry, that time was just taken. ...",
               "fields": {}}}

`code` is stable, for programs; `message` is for people (a booking refusal carries the very
words the portal's pages show); `fields` maps a request field to its problems, and is empty
unless the code is "invalid" (a field named "non_field_errors" holds problems of the whole body).

HTTP errors:
    400 invalid                     the body or the query failed validation (see `fields`)
    400 malformed                   the body is not JSON
    400 bad_request                 anything else Django refused as a bad request
    400 invalid_idempotency_key     an Idempotency-Key header that is empty or over 255 characters
    401 not_authenticated           no credentials
    401 authentication_failed       a token that is wrong, expired or revoked
    401 invalid_credentials         POST auth/token/: the email or password is wrong
    401 two_factor_required         POST auth/token/: this staff login needs `otp_code`
    401 two_factor_invalid          POST auth/token/: the code is wrong or used
    403 permission_denied           the login's role may not do this
    403 two_factor_setup_required   a clinic admin without two-factor codes, when they are required
    404 not_found                   no such path, or an object that is not yours
    405 method_not_allowed
    406 not_acceptable              the client accepts no JSON
    409 idempotency_in_progress     the first request with this Idempotency-Key is still running
    409 department_has_doctors      DELETE departments/{id}/: doctors still belong to it
    409 conflict                    a write the database refused after its checks passed
    415 unsupported_media_type      a body that is not application/json
    422 idempotency_key_reused      this Idempotency-Key came with a different request before
    429 throttled                   too many requests; Retry-After says when to try again
    429 locked_out                  too many failed logins (django-axes); Retry-After as well
    500 server_error                a fault of ours; the message says nothing more
    503 busy                        the database could not get a lock or finish in time;
                                    the request may not have been saved: retry (a write with
                                    the same Idempotency-Key) after Retry-After seconds

Refusals by the services, with the service's own message: 409 when the request collided with
the data's current state (someone else got there first, or the object has moved on), 422 when
the request, well-formed, breaks a rule whatever the state of the data (CONFLICT_CODES):
    409 slot_taken, invalid_status, already_recorded, time_off_clash, hold_expired (a hold
        presented with a booking has expired, been used or been let go), visit_type_paid (a
        move into a type at another price of a visit already paid for)
    422 booking_refused (a booking rule without a code of its own), doctor_inactive,
        registration_expired, wrong_clinic, in_the_past, outside_window, short_notice,
        not_a_slot, cap_reached, past_cutoff, already_started, same_time, not_today,
        too_early, invalid_interval, visit_type_not_offered (a visit type the doctor does
        not offer, or no longer), visit_type_not_online (patients: a type booked by the desk,
        or a change of type of a visit of such a type), billing_refused (a billing rule
        without a code of its own), invalid_amount,
        invalid_mode, too_long, overpayment, not_allowed, reason_required, not_a_payment,
        over_refund, login_owns_details
"""

import logging

from django.core.exceptions import BadRequest, PermissionDenied
from django.db import OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from billing.services import BillingError
from bookings.services import BookingError

logger = logging.getLogger(__name__)

CONFLICT_CODES = frozenset(
    {
        "slot_taken",
        "invalid_status",
        "already_recorded",
        "time_off_clash",
        "hold_expired",
        "visit_type_paid",
    }
)

# REST framework's exceptions by class, each with the code the API promises for it.
CODES = [
    (exceptions.ParseError, "malformed"),
    (exceptions.ValidationError, "invalid"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]

# A fault's message names nothing: the traceback goes to the (scrubbed) logs, never to clients.
SERVER_ERROR_MESSAGE = "Something went wrong on our side. Please try again later."


class ApiError(exceptions.APIException):
    """An error the API itself raises, with its own status and code."""

    def __init__(self, message, *, code, status_code, headers=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.code = code
        self.headers = headers or {}


def error_body(code, message, fields=None):
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _flatten_fields(detail, prefix=""):
    """{"field": ["problem", ...]} from REST framework's nested detail; nested serializers'
    fields are named by their path ("items.0.start")."""
    if isinstance(detail, dict):
        fields = {}
        for name, value in detail.items():
            fields.update(_flatten_fields(value, f"{prefix}{name}."))
        return fields
    if isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        fields = {}
        for index, value in enumerate(detail):
            fields.update(_flatten_fields(value, f"{prefix}{index}."))
        return fields
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix.rstrip(".") or "non_field_errors": [str(message) for message in messages]}


def _validation_message(fields):
    if list(fields) == ["non_field_errors"]:
        return fields["non_field_errors"][0]
    return "Some fields are not right: " + ", ".join(sorted(fields)) + "."


def _code_for(exc):
    for exception_class, code in CODES:
        if isinstance(exc, exception_class):
            return code
    return "error"


def domain_status(code):
    return status.HTTP_409_CONFLICT if code in CONFLICT_CODES else 422


def domain_error(exc):
    """(status, code, message) for a refusal by a service, or None if `exc` is none."""
    if isinstance(exc, BookingError | BillingError):
        code = getattr(exc, "code", None) or "refused"
        return domain_status(code), code, str(exc)
    if isinstance(exc, PermissionError):
        return 422, "login_owns_details", str(exc)
    return None


def exception_handler(exc, context):
    """REST framework's EXCEPTION_HANDLER: every error, whatever raised it, in the one shape."""
    headers = {}
    refusal = domain_error(exc)
    if refusal is not None:
        status_code, code, message = refusal
        body = error_body(code, message)
    elif isinstance(exc, Http404):
        status_code, body = 404, error_body("not_found", "Not found.")
    elif isinstance(exc, PermissionDenied):
        status_code = 403
        body = error_body("permission_denied", "You may not do this.")
    elif isinstance(exc, BadRequest):
        status_code, body = 400, error_body("bad_request", "The request was not understood.")
    elif isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        status_code, body = 400, error_body("invalid", _validation_message(fields), fields)
    elif isinstance(exc, exceptions.APIException):
        status_code = exc.status_code
        code = getattr(exc, "code", None) or _code_for(exc)
        detail = exc.detail
        message = detail if isinstance(detail, str) else "The request was refused."
        body = error_body(code, message)
        headers.update(getattr(exc, "headers", {}))
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + (exc.wait % 1 > 0))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
    elif isinstance(exc, OperationalError):
        # The database gave up (a lock or a statement ran out of time) or went away: the
        # project's middleware answers that, with 503 "busy" where it is only a wait.
        return None
    else:
        # A fault: logged with its traceback by Django's request logger (scrubbed), answered in
        # the shape without a word about it.
        logger.exception("Unhandled error in an API view")
        status_code, body = 500, error_body("server_error", SERVER_ERROR_MESSAGE)
    set_rollback()
    return Response(body, status=status_code, headers=headers)


def _json_error(status_code, code, message):
    response = JsonResponse(error_body(code, message), status=status_code)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any path under /api/v1/ that names no endpoint: JSON, never the portal's HTML page.
    Exempt from the CSRF check, which would otherwise answer a POST or DELETE here (a path
    with a malformed id, say) with Django's HTML 403 page; this view changes nothing."""
    return _json_error(404, "not_found", "No such endpoint.")


def _portal_or_json(page_view, status_code, code, message):
    """Django's error handler for `page_view`'s status: the portal's page, but the JSON shape
    for any request under /api/ (a NUL in an API query, a fault in a middleware)."""

    def handler(request, *args, **kwargs):
        if request.path_info.startswith("/api/"):
            return _json_error(status_code, code, message)
        return page_view(request, *args, **kwargs)

    return handler


def _default(name):
    from django.views import defaults

    return getattr(defaults, name)


bad_request = _portal_or_json(
    _default("bad_request"), 400, "bad_request", "The request was not understood."
)
permission_denied = _portal_or_json(
    _default("permission_denied"), 403, "permission_denied", "You may not do this."
)
page_not_found = _portal_or_json(_default("page_not_found"), 404, "not_found", "Not found.")
server_error = _portal_or_json(_default("server_error"), 500, "server_error", SERVER_ERROR_MESSAGE)
