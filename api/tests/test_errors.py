"""Every error in one JSON shape: {"error": {"code", "message", "fields"}}."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from api.errors import CONFLICT_CODES, domain_error, exception_handler
from api.tests.factories import client_for, client_with_token, token_for
from billing.services import BillingError
from bookings.services import NotAllowed, SlotUnavailable, TimeOffClashes

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_unknown_api_path_is_json_404():
    error = assert_error(Client().get("/api/v1/no-such-thing/"), 404, "not_found")
    assert error["fields"] == {}


def test_unknown_api_path_under_any_method_is_json_404():
    assert_error(Client().post("/api/v1/nothing/here", {}), 404, "not_found")


def test_the_portal_keeps_its_own_404_page():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_no_credentials_is_401():
    assert_error(APIClient().get(reverse("api:me")), 401, "not_authenticated")


@pytest.mark.parametrize("header", ["Token nonsense", "Token a b", "Token", "Token \u00e9\u00e9"])
def test_a_bad_token_is_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get(reverse("api:me")), 401, "authentication_failed")


def test_a_revoked_token_is_401(patient_user):
    token = token_for(patient_user)
    patient_user.auth_token_set.all().delete()
    assert_error(client_with_token(token).get(reverse("api:me")), 401, "authentication_failed")


def test_an_expired_token_is_401(patient_user):
    import datetime as dt

    token = token_for(patient_user, expiry=dt.timedelta(seconds=-1))
    assert_error(client_with_token(token).get(reverse("api:me")), 401, "authentication_failed")


def test_method_not_allowed_is_405():
    assert_error(APIClient().delete(reverse("api:departments")), 405, "method_not_allowed")


def test_no_acceptable_type_is_406():
    response = APIClient().get(reverse("api:departments"), HTTP_ACCEPT="text/html")
    assert_error(response, 406, "not_acceptable")


def test_a_body_that_is_not_json_is_415():
    response = APIClient().post(
        reverse("api:token"), "email=a&password=b", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_malformed_json_is_400():
    response = APIClient().post(reverse("api:token"), "{nope", content_type="application/json")
    assert_error(response, 400, "malformed")


def test_validation_errors_are_by_field():
    response = APIClient().post(reverse("api:token"), {"email": ""}, format="json")
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"email", "password"}
    assert all(isinstance(message, str) for m in error["fields"].values() for message in m)


def test_a_body_that_is_not_an_object_is_a_non_field_error():
    response = APIClient().post(reverse("api:token"), [1, 2], format="json")
    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["non_field_errors"]


def test_a_nul_in_an_api_query_is_json_400():
    response = Client().get(reverse("api:departments"), {"q": "\x00"})
    assert_error(response, 400, "bad_request")


def test_a_nul_in_a_portal_query_is_still_the_portal_page():
    response = Client().get(reverse("doctors:list"), {"q": "\x00"})
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


def test_a_fault_is_a_500_in_the_shape_with_nothing_revealed(monkeypatch, caplog):
    from api import views

    def explode(self):
        raise RuntimeError("patient Asha Rao's secret")

    monkeypatch.setattr(views.DepartmentList, "get_queryset", explode)
    response = APIClient(raise_request_exception=False).get(reverse("api:departments"))
    error = assert_error(response, 500, "server_error")
    assert "Asha" not in response.content.decode()
    assert error["fields"] == {}


def test_a_fault_outside_the_views_is_json_too():
    from api.errors import server_error

    request = Client().get("/").wsgi_request
    request.path_info = "/api/v1/departments/"
    response = server_error(request)
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"


def test_the_portal_keeps_its_own_error_pages():
    from api.errors import bad_request, permission_denied, server_error

    request = Client().get("/").wsgi_request
    assert server_error(request).status_code == 500
    assert permission_denied(request, Exception()).status_code == 403
    assert bad_request(request, Exception()).status_code == 400
    assert not server_error(request)["Content-Type"].startswith("application/json")


def test_a_permission_refusal_is_403(patient_user):
    # Roles are checked by the views that need them; the handler's shape for a refusal:
    from rest_framework.exceptions import PermissionDenied

    response = exception_handler(PermissionDenied(), {})
    assert response.status_code == 403
    assert response.data["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(
    "exc, status, code",
    [
        (SlotUnavailable(), 409, "slot_taken"),
        (NotAllowed("Too far ahead.", code="outside_window"), 422, "outside_window"),
        (NotAllowed("No."), 422, "booking_refused"),
        (TimeOffClashes([object()]), 409, "time_off_clash"),
        (BillingError("Too much.", code="overpayment"), 422, "overpayment"),
        (BillingError("Already.", code="already_recorded"), 409, "already_recorded"),
        (BillingError("No."), 422, "billing_refused"),
        (
            PermissionError("Patients with a login edit their own details."),
            422,
            "login_owns_details",
        ),
    ],
)
def test_service_refusals_keep_their_message_and_code(exc, status, code):
    response = exception_handler(exc, {})
    assert response.status_code == status
    assert response.data["error"]["code"] == code
    assert response.data["error"]["message"] == str(exc)


def test_no_answer_says_an_email_address_has_an_account():
    # Sign-up answers alike whether or not the address is registered; a code saying so would
    # let anyone test addresses.
    from pathlib import Path

    from django.conf import settings

    import api.errors
    from accounts.services import EmailAlreadyRegistered

    assert domain_error(EmailAlreadyRegistered()) is None
    assert "email_taken" not in api.errors.CONFLICT_CODES
    assert "email_taken" not in api.errors.__doc__
    assert "email_taken" not in (Path(settings.BASE_DIR) / "docs" / "api.md").read_text()


def test_django_404_and_403_and_bad_request_in_views_are_shaped():
    from django.core.exceptions import BadRequest, PermissionDenied
    from django.http import Http404

    assert exception_handler(Http404("secret name"), {}).data["error"]["message"] == "Not found."
    assert exception_handler(PermissionDenied(), {}).status_code == 403
    assert exception_handler(BadRequest(), {}).status_code == 400


def test_every_conflict_code_is_documented():
    import api.errors

    for code in CONFLICT_CODES:
        assert f" {code}" in api.errors.__doc__


def test_every_code_raised_by_the_services_is_documented():
    """The codes in the services' sources are each listed in api/errors.py's docstring."""
    import inspect
    import re

    import api.errors
    import billing.services
    import bookings.services

    sources = inspect.getsource(bookings.services) + inspect.getsource(billing.services)
    codes = set(re.findall(r'code="([a-z_]+)"', sources))
    assert {"slot_taken", "outside_window", "cap_reached"} <= codes
    missing = sorted(code for code in codes if not re.search(rf"\b{code}\b", api.errors.__doc__))
    assert not missing


def test_a_patient_reaches_their_own_me(patient_user):
    assert client_for(patient_user).get(reverse("api:me")).status_code == 200


def test_nested_field_errors_are_named_by_their_path():
    from rest_framework.exceptions import ValidationError

    detail = {"items": [{"start": ["Bad time."]}, {}], "reason": ["Too long."]}
    response = exception_handler(ValidationError(detail), {})
    fields = response.data["error"]["fields"]
    assert fields == {"items.0.start": ["Bad time."], "reason": ["Too long."]}
    assert "items.0.start" in response.data["error"]["message"]


def test_an_api_exception_of_no_known_kind_still_has_a_code():
    from rest_framework.exceptions import APIException

    response = exception_handler(APIException(), {})
    assert response.status_code == 500
    assert response.data["error"]["code"] == "error"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_no_endpoint_is_a_json_404_not_the_csrf_page(method):
    # A session-less client with CSRF checks on, as a browser's or an integration's request is.
    client = APIClient(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/v1/no-such-endpoint/1/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
