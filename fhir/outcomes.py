"""Every error under /fhir/R4/ is an OperationOutcome, 4xx and 5xx alike, never HTML.

Each issue has a severity, a code from FHIR's issue-type value set
(http://hl7.org/fhir/ValueSet/issue-type) and `diagnostics`, the human message: where a booking
or billing service refused, its own words. `details` carries the portal's machine code (the same
codes as the JSON API's errors, docs/api.md), for programs.
"""

import json
import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import OperationalError
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from api import errors as api_errors
from fhir.content import FHIR_JSON

logger = logging.getLogger(__name__)

SERVER_ERROR_MESSAGE = api_errors.SERVER_ERROR_MESSAGE
BUSY_MESSAGE = "The clinic's system is busy. Please try again in a moment."
TRY_AGAIN_AFTER_SECONDS = 5

# REST framework's exceptions: (class, FHIR issue type, the portal's machine code).
ISSUE_TYPES = [
    (exceptions.ParseError, "structure", "malformed"),
    (exceptions.ValidationError, "invalid", "invalid"),
    (exceptions.NotAuthenticated, "login", "not_authenticated"),
    (exceptions.AuthenticationFailed, "login", "authentication_failed"),
    (exceptions.PermissionDenied, "forbidden", "permission_denied"),
    (exceptions.NotFound, "not-found", "not_found"),
    (exceptions.MethodNotAllowed, "not-supported", "method_not_allowed"),
    (exceptions.NotAcceptable, "not-supported", "not_acceptable"),
    (exceptions.UnsupportedMediaType, "not-supported", "unsupported_media_type"),
    (exceptions.Throttled, "throttled", "throttled"),
]


def error_code_system():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/error-code"


class FhirError(exceptions.APIException):
    """An error the FHIR views raise themselves: status, issue type, machine code, message."""

    def __init__(self, message, *, status_code=400, issue="invalid", code="invalid"):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.issue = issue
        self.code = code


def as_json(resource):
    """A resource as plain JSON data, for an answer that an Idempotency-Key's record may keep
    (the model has validated it already)."""
    return json.loads(resource.model_dump_json())


def outcome(issue, code, message, *, severity="error"):
    """A validated OperationOutcome with one issue."""
    return OperationOutcome(
        issue=[
            {
                "severity": severity,
                "code": issue,
                "details": {"coding": [{"system": error_code_system(), "code": code}]},
                "diagnostics": str(message),
            }
        ]
    )


def _classified(exc):
    """(status, issue type, machine code, message, headers) for an exception, or None."""
    refusal = api_errors.domain_error(exc)
    if refusal is not None:
        status_code, code, message = refusal
        return status_code, "conflict" if status_code == 409 else "business-rule", code, message, {}
    if isinstance(exc, FhirError):
        return exc.status_code, exc.issue, exc.code, str(exc.detail), {}
    if isinstance(exc, api_errors.ApiError):
        # The API's own refusals that the FHIR writes share: the Idempotency-Key's.
        issue = {400: "invalid", 409: "conflict", 422: "business-rule"}.get(exc.status_code)
        return exc.status_code, issue or "processing", exc.code, str(exc.detail), exc.headers
    if isinstance(exc, exceptions.ValidationError):
        return 400, "invalid", "invalid", _validation_message(exc.detail), {}
    if isinstance(exc, Http404):
        return 404, "not-found", "not_found", "Not found.", {}
    if isinstance(exc, PermissionDenied):
        return 403, "forbidden", "permission_denied", "You may not do this.", {}
    if isinstance(exc, BadRequest):
        return 400, "invalid", "bad_request", "The request was not understood.", {}
    if isinstance(exc, exceptions.APIException):
        issue, code = next(
            ((issue, code) for cls, issue, code in ISSUE_TYPES if isinstance(exc, cls)),
            ("processing", "error"),
        )
        detail = exc.detail
        message = detail if isinstance(detail, str) else "The request was refused."
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + (exc.wait % 1 > 0))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        return exc.status_code, issue, code, message, headers
    return None


def _validation_message(detail):
    """The problems of a REST framework ValidationError as one sentence: "field: problem; ..."."""
    if isinstance(detail, dict):
        parts = [
            f"{name}: {_validation_message(value)}"
            if name != "non_field_errors"
            else _validation_message(value)
            for name, value in detail.items()
        ]
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_validation_message(item) for item in detail)
    return str(detail)


def exception_handler(exc, context):
    """The FHIR views' exception handler (REST framework's, per view). The OperationOutcome is
    answered as plain JSON, which an Idempotency-Key's record can keep."""
    classified = _classified(exc)
    if classified is not None:
        status_code, issue, code, message, headers = classified
        set_rollback()
        body = as_json(outcome(issue, code, message))
        return Response(body, status=status_code, headers=headers)
    set_rollback()
    if isinstance(exc, OperationalError):
        # The database ran out of time or went away: nothing was changed, and a retry may work.
        # Which operation only; nothing of what was asked.
        logger.warning("Database unavailable on a FHIR request: answered 503")
        body = as_json(outcome("transient", "busy", BUSY_MESSAGE))
        return Response(body, status=503, headers={"Retry-After": str(TRY_AGAIN_AFTER_SECONDS)})
    # A fault: the traceback goes to the (scrubbed) logs, the client hears nothing of it.
    logger.exception("Unhandled error in a FHIR view")
    body = outcome("exception", "server_error", SERVER_ERROR_MESSAGE, severity="fatal")
    return Response(as_json(body), status=500)


def outcome_response(status_code, issue, code, message, *, severity="error"):
    """An OperationOutcome answered outside REST framework (Django's error handlers)."""
    body = outcome(issue, code, message, severity=severity).model_dump_json()
    response = HttpResponse(body, status=status_code, content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any path under /fhir/R4/ that names no interaction. Exempt from the CSRF check, which
    would answer a POST here with Django's HTML page; this view changes nothing."""
    return outcome_response(404, "not-found", "not_found", "No such resource type or operation.")


def _fhir_or(fallback, status_code, issue, code, message, severity="error"):
    """Django's error handler for `status_code`: an OperationOutcome under /fhir/, else the
    API's handler (JSON under /api/, the portal's page elsewhere)."""

    def handler(request, *args, **kwargs):
        if request.path_info.startswith("/fhir/"):
            return outcome_response(status_code, issue, code, message, severity=severity)
        return fallback(request, *args, **kwargs)

    return handler


bad_request = _fhir_or(
    api_errors.bad_request, 400, "invalid", "bad_request", "The request was not understood."
)
permission_denied = _fhir_or(
    api_errors.permission_denied, 403, "forbidden", "permission_denied", "You may not do this."
)
page_not_found = _fhir_or(api_errors.page_not_found, 404, "not-found", "not_found", "Not found.")
server_error = _fhir_or(
    api_errors.server_error, 500, "exception", "server_error", SERVER_ERROR_MESSAGE, "fatal"
)
