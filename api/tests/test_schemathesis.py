"""Schemathesis against the API's own OpenAPI schema, as each role: every operation gets generated
requests, valid ones and broken ones, and every answer must be one the schema promises (a status
code it documents, a body that matches, the content type it names), never a 5xx, and every 4xx
in the one error shape.

The schema is the one the app generates (the test checks it is what /api/v1/schema/ serves), and
the requests go to the app's WSGI handler in this process: no server. An operation added to the
API is fuzzed here without a line more, as every role.

The data is the access policy's world (a clinic, doctors with working hours, a department,
patients, appointments, a charge and a payment; the clock at its NOW). Generated ids, dates and
times are swapped, half the time, for ones that exist in it (real_values()), so that requests
reach the code behind "not found". Every example runs in a savepoint rolled back after it.

Deterministic (derandomized, no example database) so that CI is stable; SCHEMATHESIS_EXAMPLES
sets the examples per operation and role (a deeper search: SCHEMATHESIS_EXAMPLES=300).
"""

import datetime as dt
import json
import os

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis import openapi as openapi_schema
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tests.factories import DEFAULT_PASSWORD
from clinic.tests.test_access_policy import (  # noqa: F401  (world, frozen_now, documented_rules: fixtures)
    NOW,
    VISIT_DAY,
    documented_rules,
    frozen_now,
    in_error_shape,
    local,
    rolled_back_savepoint,
    world,
)

pytestmark = pytest.mark.django_db

# Small enough for the module to run in about a minute on two cores; more for a deeper search.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))

# Who calls: nobody, a patient's app, a doctor's, the desk's, a clinic admin's, an integration
# (a Front desk login of its own). Each sends a token of its own login (world.tokens).
ROLES = ("anon", "patient", "doctor", "desk", "admin", "integration")

# Not schemathesis' negative_data_rejection: REST framework reads "1.0" as the integer 1 and a
# repeated query parameter as its last value, everywhere; lenient, not wrong, and no 5xx. The
# broken requests are still sent, and must be answered as the schema promises.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def generated_schema():
    """The schema as the app generates it, without a request (so, at collection time)."""
    return SchemaGenerator().get_schema(request=None, public=True)


# Security parameters are ours to send: a role's token, or nothing for the anonymous caller.
CONFIG = SchemathesisConfig.from_dict({"generation": {"with-security-parameters": False}})
SCHEMA = openapi_schema.from_dict(generated_schema(), config=CONFIG)


class InTheTestTransaction:
    """Django's WSGI handler, less the database connection's closing around each request (the
    handler cannot know the test's transaction is open), as Django's test client does it."""

    def __init__(self):
        self.handler = WSGIHandler()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start_response)
            body = list(response)
            response.close()  # sends request_finished, while the receiver is off
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return body


SCHEMA.app = InTheTestTransaction()
OPERATIONS = sorted(
    result.ok().label for result in SCHEMA.get_all_operations() if result.ok() is not None
)


# Real values -------------------------------------------------------------------------------------


def iso(moment):
    return moment.isoformat()


def real_values(world):
    """Plausible values by parameter or field name: ids that exist, times that are free slots."""
    doctors = [world.doctor.pk, world.other_doctor.pk]
    patients = [world.walk_in.pk, world.patient.pk, world.other_patient.pk]
    appointments = [world.appointment.pk, world.unpaid.pk]
    payments = [world.payment.pk]
    free = [local(VISIT_DAY, 11), local(VISIT_DAY, 11, 30)]
    days = [NOW.date() + dt.timedelta(days=n) for n in (0, 2, 9)]
    values = {
        "doctor": doctors,
        "clinic": [world.clinic.pk],
        "department": [world.department.pk],
        "patient": patients,
        "appointment": appointments,
        "payment": payments,
        "charge": [world.charge.pk],
        "start": [world.slot, world.new_slot, *map(iso, free)],
        "slot": [world.slot, world.new_slot],
        "date": [day.isoformat() for day in days],
        "email": [world.users["patient"].email, world.walk_in.email or "walk.in@example.com"],
        "phone": [world.walk_in.phone or "+919812345678"],
        "password": [DEFAULT_PASSWORD],
        "amount": ["590.00", "1.00"],
        "mode": ["cash", "card", "upi"],
        "payment_mode": ["at_clinic", "online"],
        "appointment_type": ["consultation", "follow_up"],
        "reason": ["Feeling better"],
        "page": [1, 2],
    }
    for name in ("from", "to", "date_from", "date_to", "start_date", "end_date", "on", "day"):
        values[name] = values["date"]
    for name in ("new_start", "slot_id", "starts_at"):
        values[name] = values["start"]
    values["ends_at"] = [iso(local(VISIT_DAY, 12))]
    return values


# The objects a path's {id} names, by the word before it ("/appointments/{id}/").
RESOURCES = {
    "appointments": "appointment",
    "patients": "patient",
    "doctors": "doctor",
    "departments": "department",
    "clinics": "clinic",
    "payments": "payment",
    "charges": "charge",
}


def path_resource(path, parameter):
    segments = path.strip("/").split("/")
    marker = "{" + parameter + "}"
    if marker not in segments:
        return None
    index = segments.index(marker)
    return RESOURCES.get(segments[index - 1]) if index else None


def lookup(values, name):
    key = name.removesuffix("_id").removesuffix("_pk")
    return values.get(name) or values.get(key)


def swap(draw, current, options, label, how):
    """The generated value, one of `options`, or (when `how` is "mixed") either."""
    if not options or how == "generated":
        return current
    if how == "real":
        return draw(st.sampled_from(options), label=label)
    return draw(st.one_of(st.just(current), st.sampled_from(options)), label=label)


def with_real_values(case, draw, values):
    """`case` with known names given real values: all of them (so that a login has its email
    and its password together), some, or none."""
    how = draw(st.sampled_from(["real", "mixed", "generated"]), label="values")
    for name, current in (case.path_parameters or {}).items():
        resource = path_resource(case.path, name)
        options = values.get(resource) if resource else lookup(values, name)
        case.path_parameters[name] = swap(draw, current, options, f"path {name}", how)
    for name in list(case.query or {}):
        options = lookup(values, name)
        case.query[name] = swap(draw, case.query[name], options, f"query {name}", how)
    if isinstance(case.body, dict):
        for name in list(case.body):
            options = lookup(values, name)
            case.body[name] = swap(draw, case.body[name], options, f"body {name}", how)
    return case


# The run -----------------------------------------------------------------------------------------


def cases(operation):
    # Valid requests reach the views' own logic; broken ones (wrong types, missing fields,
    # values outside the schema) must be refused in the error shape, never with a 5xx.
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


def headers_for(world, role):
    token = world.tokens[role]
    return {"Authorization": f"Token {token}"} if token else {}


def fuzz(operation, role, world, examples=EXAMPLES):
    """Every generated request answered as the schema promises; the statuses seen."""
    values = real_values(world)
    headers = headers_for(world, role)
    seen = set()

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation), data=st.data())
    def check(case, data):
        case = with_real_values(case, data.draw, values)
        with rolled_back_savepoint():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        seen.add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if response.status_code >= 400:
            assert in_error_shape(response), (response.status_code, response.text[:200])

    check()
    return seen


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_answer_is_one_the_schema_promises(operation, role, world):
    fuzz(SCHEMA.find_operation_by_label(operation), role, world)


def test_the_fuzzed_schema_is_the_one_served(world):
    served = APIClient().get(reverse("api:schema"))
    assert json.loads(served.content) == json.loads(json.dumps(generated_schema()))


def test_every_operation_is_fuzzed():
    served = {(m.upper(), p) for p, item in generated_schema()["paths"].items() for m in item}
    assert {tuple(label.split(" ", 1)) for label in OPERATIONS} == served


# The checks are not blind ----------------------------------------------------------------------


def test_real_values_reach_the_code_behind_not_found(world):
    # A login with a real email and password, and the caller's own record, are answered.
    assert 201 in fuzz(SCHEMA["/api/v1/auth/token/"]["POST"], "anon", world, examples=30)
    assert 200 in fuzz(SCHEMA["/api/v1/me/"]["GET"], "patient", world)


def test_real_values_swap_ids_by_the_resource_the_path_names(world):
    values = real_values(world)
    assert path_resource("/api/v1/appointments/{id}/cancel/", "id") == "appointment"
    assert path_resource("/api/v1/payments/{pk}/refund/", "pk") == "payment"
    assert path_resource("/api/v1/{id}/", "id") is None
    assert lookup(values, "doctor_id") == [world.doctor.pk, world.other_doctor.pk]
    assert lookup(values, "nickname") is None


def test_a_5xx_fails_the_run(world, monkeypatch):
    def broken(self, request):
        raise RuntimeError("a fault")

    monkeypatch.setattr("api.views.Me.get", broken)
    with pytest.raises(FailureGroup, match="Server error"):
        fuzz(SCHEMA["/api/v1/me/"]["GET"], "patient", world, examples=3)


def test_an_answer_the_schema_does_not_describe_fails_the_run(world, monkeypatch):
    monkeypatch.setattr("api.views.MeSerializer.data", property(lambda self: {"roles": 1}))
    with pytest.raises(FailureGroup, match="violates schema"):
        fuzz(SCHEMA["/api/v1/me/"]["GET"], "patient", world, examples=3)


def test_a_refusal_out_of_the_error_shape_fails_the_run(world, monkeypatch):
    monkeypatch.setattr("api.errors.error_body", lambda code, message, fields=None: {})
    with pytest.raises(FailureGroup, match="violates schema"):
        fuzz(SCHEMA["/api/v1/me/"]["GET"], "anon", world, examples=3)
