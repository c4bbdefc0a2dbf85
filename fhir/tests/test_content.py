"""JSON only (application/fhir+json), chosen by _format or Accept; every error under /fhir/R4/ an
OperationOutcome, whatever raised it; the API's and the pages' errors unchanged."""

import json

import pytest
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import OperationalError
from django.urls import reverse
from rest_framework.test import APIClient, APIRequestFactory

from api.tests.factories import client_with_token, token_for
from bookings.services import NotAllowed, SlotUnavailable
from fhir import outcomes, views
from fhir.content import FHIR_JSON, FhirJsonRenderer
from fhir.tests.world import BASE, assert_outcome, parsed

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("json", FHIR_JSON),
        (FHIR_JSON, FHIR_JSON),
        ("application/json+fhir", FHIR_JSON),
        ("application/json", "application/json"),
        ("application/fhir+json; fhirVersion=4.0", FHIR_JSON),
    ],
)
def test_format_asks_for_json(world, fmt, content_type):
    response = world.client("patient").get(BASE + "Location", {"_format": fmt})
    assert response.status_code == 200
    assert response["Content-Type"] == f"{content_type}; charset=utf-8"
    assert json.loads(response.content)["resourceType"] == "Bundle"


@pytest.mark.parametrize("fmt", ["xml", "application/fhir+xml", "text/html", "ttl", "", "\u202e"])
def test_format_other_than_json_is_406(world, fmt):
    response = world.client("patient").get(BASE + "Location", {"_format": fmt or "x"})
    assert_outcome(response, 406, "not-supported", "not_acceptable")


def test_format_given_twice_is_406(world):
    response = world.client("patient").get(BASE + "Location?_format=json&_format=json")
    assert_outcome(response, 406, "not-supported")


def test_format_overrides_accept(world):
    client = world.client("patient")
    response = client.get(BASE + "Location", {"_format": "json"}, HTTP_ACCEPT="application/xml")
    assert parsed(response).get_resource_type() == "Bundle"


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (FHIR_JSON, FHIR_JSON),
        ("application/json", "application/json"),
        ("application/json+fhir", FHIR_JSON),
        ("*/*", FHIR_JSON),
        ("text/html,application/xhtml+xml,*/*;q=0.8", FHIR_JSON),
    ],
)
def test_accept_asks_for_json(world, accept, content_type):
    response = world.client("patient").get(BASE + "metadata", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)


@pytest.mark.parametrize("accept", ["application/fhir+xml", "text/html", "application/xml"])
def test_accept_without_json_is_406_in_json(world, accept):
    response = world.client("patient").get(BASE + "Practitioner", HTTP_ACCEPT=accept)
    assert_outcome(response, 406, "not-supported", "not_acceptable")


def test_djangos_format_parameter_is_not_honoured(world):
    response = world.client("patient").get(BASE + "Location", {"format": "api"})
    assert_outcome(response, 400, "not-supported", "unknown_parameter")


class Echo(views.FhirView):
    """A FHIR view with a body, as writes will have: what the parsers make of it."""

    def post(self, request):
        return views.Response({"resourceType": "Basic", "got": sorted(request.data)})


@pytest.mark.parametrize("content_type", [FHIR_JSON, "application/json", "application/json+fhir"])
def test_a_json_body_is_read(world, content_type):
    request = APIRequestFactory().post(
        "/fhir/R4/x", data=b'{"resourceType": "Basic"}', content_type=content_type
    )
    request.META["HTTP_AUTHORIZATION"] = f"Token {token_for(world.users['desk'])}"
    response = Echo.as_view()(request).render()
    assert response.status_code == 200
    assert json.loads(response.content)["got"] == ["resourceType"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "issue"),
    [
        (b"<Basic/>", "application/fhir+xml", 415, "not-supported"),
        (b"a=1", "application/x-www-form-urlencoded", 415, "not-supported"),
        (b"{not json", FHIR_JSON, 400, "structure"),
    ],
)
def test_a_body_in_anything_but_json_is_refused(world, body, content_type, status, issue):
    request = APIRequestFactory().post("/fhir/R4/x", data=body, content_type=content_type)
    request.META["HTTP_AUTHORIZATION"] = f"Token {token_for(world.users['desk'])}"
    assert_outcome(Echo.as_view()(request).render(), status, issue)


# Errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "",
        "nope",
        "Encounter",
        "Observation/1",
        "Slot/1-1-20261203T0430Z",
        "Practitioner/1/_history",
        "Practitioner/",
        "metadata/",
        "Practitioner/1/extra",
    ],
)
def test_an_unknown_path_is_404(world, path):
    for role in ("anon", "patient"):
        assert_outcome(world.client(role).get(BASE + path), 404, "not-found", "not_found")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unknown_path_is_404_whatever_the_method(world, method):
    response = getattr(APIClient(), method)(BASE + "Encounter", b"<x/>", content_type="text/xml")
    assert_outcome(response, 404, "not-found")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_405(world, method):
    client = world.client("admin")
    for path in ("Practitioner", f"Practitioner/{world.doctor.pk}", "metadata"):
        response = getattr(client, method)(BASE + path, {"resourceType": "Practitioner"})
        assert_outcome(response, 405, "not-supported", "method_not_allowed")


def test_without_a_token_401_says_how_to_log_in(world):
    response = APIClient().get(BASE + "Practitioner")
    assert_outcome(response, 401, "login", "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("token", ["wrong", "\u00e9t\u00e9", "x" * 500])
def test_a_wrong_token_is_401(world, token):
    response = client_with_token(token).get(BASE + "Practitioner")
    assert_outcome(response, 401, "login", "authentication_failed")


def test_a_session_is_not_a_login_here(world, client):
    client.force_login(world.users["desk"])
    assert_outcome(client.get(BASE + "Practitioner"), 401, "login")


def test_a_nul_in_the_query_is_400_before_any_view(world):
    response = world.client("patient").get(BASE + "Practitioner", {"name": "a\x00b"})
    assert_outcome(response, 400, "invalid", "bad_request")


def test_too_many_requests_are_429_with_retry_after(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "api_read": "2/m",
        },
    }
    client = world.client("integration")
    assert client.get(BASE + "Location").status_code == 200
    assert client.get(BASE + "Location").status_code == 200
    response = client.get(BASE + "Location")
    assert_outcome(response, 429, "throttled", "throttled")
    assert int(response["Retry-After"]) > 0


def test_a_fault_is_500_saying_nothing(world, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr("fhir.structure.location", broken)
    response = APIClient(raise_request_exception=False)
    response.credentials(HTTP_AUTHORIZATION=f"Token {token_for(world.users['patient'])}")
    answer = response.get(BASE + "Location")
    problem = assert_outcome(answer, 500, "exception", "server_error")
    assert problem.severity == "fatal"
    assert b"secret" not in answer.content


def test_a_database_that_gives_up_is_503(world, monkeypatch):
    def busy(*args, **kwargs):
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr("fhir.structure.location", busy)
    response = world.client("patient").get(BASE + "Location")
    assert_outcome(response, 503, "transient", "busy")
    assert response["Retry-After"] == "5"


def test_djangos_handlers_answer_outcomes_under_fhir_only(rf):
    for handler, status in (
        (outcomes.bad_request, 400),
        (outcomes.permission_denied, 403),
        (outcomes.page_not_found, 404),
        (outcomes.server_error, 500),
    ):
        assert_outcome(handler(rf.get("/fhir/R4/x"), exception=None), status)
        api_answer = handler(rf.get("/api/v1/x"), exception=None)
        assert json.loads(api_answer.content)["error"]["code"]
        assert api_answer["Content-Type"] == "application/json"


def test_the_portal_and_the_api_keep_their_own_404s(world):
    assert "text/html" in APIClient().get("/no-such-page/")["Content-Type"]
    answer = APIClient().get("/api/v1/no-such-endpoint/")
    assert answer.json()["error"]["code"] == "not_found"


def test_the_apis_openapi_schema_leaves_fhir_out(world):
    """The CapabilityStatement describes /fhir/R4/; the API's schema (and its conformance tests)
    stay the API's."""
    schema = APIClient().get(reverse("api:schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert paths
    assert not [path for path in paths if "fhir" in path.lower()]


@pytest.mark.parametrize(
    ("error", "status", "issue", "code"),
    [
        (SlotUnavailable(), 409, "conflict", "slot_taken"),
        (
            NotAllowed("Too late to change this visit.", code="past_cutoff"),
            422,
            "business-rule",
            "past_cutoff",
        ),
        (PermissionDenied(), 403, "forbidden", "permission_denied"),
        (BadRequest(), 400, "invalid", "bad_request"),
    ],
)
def test_a_refusal_keeps_the_services_words(error, status, issue, code):
    """For the writes to come: a service's refusal is an OperationOutcome with its message."""
    response = outcomes.exception_handler(error, {})
    response.accepted_renderer = FhirJsonRenderer()
    response.accepted_media_type = FHIR_JSON
    response.renderer_context = {}
    problem = assert_outcome(response.render(), status, issue, code)
    if isinstance(error, SlotUnavailable | NotAllowed):
        assert problem.diagnostics == str(error)
