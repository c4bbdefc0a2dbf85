"""The OpenAPI 3.1 schema: valid, and describing the error shape on every operation."""

import json
import re

import pytest
from django.core.management import call_command
from django.urls import path as route
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.test import APIClient
from rest_framework.views import APIView

from api.schema import ERROR_COMPONENT, EVERY_OPERATION, WRITES

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get(reverse("api:schema"))
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_validates_without_warnings(tmp_path):
    # drf-spectacular's own check: the schema against the OpenAPI 3.1 meta-schema, and every
    # warning (a serializer it could not read, a name clash) made an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3.1.0")


def test_the_schema_is_openapi_3_1_json_by_default(schema):
    assert schema["openapi"] == "3.1.0"
    assert {"/api/v1/departments/", "/api/v1/doctors/", "/api/v1/me/"} <= set(schema["paths"])


def test_yaml_on_request():
    response = APIClient().get(reverse("api:schema"), {"format": "yaml"})
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.1.0")


def test_every_operation_describes_the_error_shape(schema):
    reference = f"#/components/schemas/{ERROR_COMPONENT}"
    assert ERROR_COMPONENT in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            wanted = EVERY_OPERATION + (
                WRITES if method in ("post", "put", "patch", "delete") else ()
            )
            for status in wanted:
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": reference}, (path, method, status)


def test_token_authentication_is_described(schema):
    schemes = schema["components"]["securitySchemes"]
    assert "tokenAuth" in schemes
    me = schema["paths"]["/api/v1/me/"]["get"]
    assert {"tokenAuth": []} in me["security"]
    login = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert login.get("security", []) in ([], [{}])


def test_the_idempotency_header_is_described_on_keyed_writes():
    from drf_spectacular.generators import SchemaGenerator

    from api.tests import idempotency_urls

    generated = SchemaGenerator(patterns=idempotency_urls.urlpatterns).get_schema(public=True)
    parameters = generated["paths"]["/durable/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in parameters)


def test_the_doc_pages_come_from_local_static_files(client):
    for name in ("api:docs", "api:redoc"):
        page = client.get(reverse(name)).content.decode()
        assert "/static/drf_spectacular_sidecar/" in page
        assert "https://" not in page
        assert "<script>" not in page  # no inline script: the CSP forbids it


def test_the_swagger_pages_script_is_served_as_javascript(client):
    response = client.get(reverse("api:docs"), {"script": ""})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert reverse("api:schema") in response.content.decode()


def test_a_refused_request_to_a_doc_page_is_json(client):
    response = client.post(reverse("api:docs"))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_doc_pages_allow_no_inline_script(client):
    for name in ("api:docs", "api:redoc"):
        policy = client.get(reverse(name))["Content-Security-Policy"]
        script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src


def test_only_the_redoc_page_allows_its_search_worker(client):
    assert "worker-src blob:" in client.get(reverse("api:redoc"))["Content-Security-Policy"]
    assert "worker-src" not in client.get(reverse("api:docs"))["Content-Security-Policy"]


class _Hours(serializers.Serializer):
    opens_at = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    shown_only = serializers.TimeField(format="%H:%M")
    iso = serializers.TimeField()


class _HoursView(APIView):
    @extend_schema(request=_Hours, responses=_Hours)
    def post(self, request):
        raise NotImplementedError  # only its schema is read


def test_wall_clock_times_are_a_pattern_not_the_rfc_3339_time_format():
    # "09:00" is not an RFC 3339 "time" (seconds and offset), so a validator of the schema
    # would refuse the API's own answers.
    from drf_spectacular.generators import SchemaGenerator

    from api.schema import WALL_CLOCK_PATTERN

    generated = SchemaGenerator(patterns=[route("hours/", _HoursView.as_view())]).get_schema(
        public=True
    )
    schemas = generated["components"]["schemas"]
    shown, read = schemas["_Hours"]["properties"], schemas["_HoursRequest"]["properties"]
    for field in (shown["opens_at"], shown["shown_only"], read["opens_at"]):
        assert field["pattern"] == WALL_CLOCK_PATTERN and "format" not in field
    # Read as any ISO 8601 time, so the request keeps the format; so does a field left alone.
    assert read["shown_only"]["format"] == "time" and "pattern" not in read["shown_only"]
    assert shown["iso"]["format"] == "time" and read["iso"]["format"] == "time"
    assert re.fullmatch(WALL_CLOCK_PATTERN.strip("^$"), "23:59")
    assert not re.fullmatch(WALL_CLOCK_PATTERN.strip("^$"), "24:00")


def test_the_redoc_page_allows_no_image_from_another_host(client):
    policy = client.get(reverse("api:redoc"))["Content-Security-Policy"]
    img_src = next((p for p in policy.split(";") if p.strip().startswith("img-src")), "")
    assert "cdn.redoc.ly" not in policy and "https:" not in img_src


def test_the_schema_alone_explains_authentication_and_the_error_shape(schema):
    guide = schema["info"]["description"]
    assert "Authorization: Token <token>" in guide and "POST /api/v1/auth/token/" in guide
    assert '{"error": {"code": ' in guide and '"fields"' in guide
    for status in ("401", "403", "404", "409", "415", "422", "429"):
        assert status in guide
