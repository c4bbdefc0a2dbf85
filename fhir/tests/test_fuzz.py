"""Junk in every search (GET and POSTed), read and write: ids, parameters, values, bodies, NUL,
overflowing dates. Never a 5xx; every refusal an OperationOutcome."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings.models import Appointment
from fhir.tests.world import BASE, assert_outcome, parsed, post_search

pytestmark = pytest.mark.django_db

SEARCHES = [
    "Practitioner",
    "Location",
    "HealthcareService",
    "PractitionerRole",
    "Schedule",
    "Slot",
    "Patient",
    "Appointment",
]
READS = [
    "Practitioner",
    "Location",
    "HealthcareService",
    "PractitionerRole",
    "Schedule",
    "Patient",
    "Appointment",
]
# Every junk value is POSTed to these types' _search too (the types whose searches take personal
# details or that write); the property test below POSTs to every type.
POSTED = frozenset({"Patient", "Appointment"})
# Who searches each type: a patient may not search patients at all, the front desk may.
ROLE_OF = {"Patient": "desk"}
NAMES = [
    "_id",
    "_count",
    "_offset",
    "name",
    "name:exact",
    "identifier",
    "active",
    "practitioner",
    "location",
    "service",
    "specialty",
    "actor",
    "schedule",
    "start",
    "status",
    "patient",
    "date",
    "telecom",
    "birthdate",
    "_search_id",
    "_sort",
    "_include",
    "x",
]
JUNK = [
    "",
    " ",
    "|",
    "||",
    ",",
    "/",
    "-1",
    "0",
    "1e9",
    "9" * 30,
    "x" * 300,
    "\u202e",
    "💥",
    "Practitioner/",
    "Schedule/1-1",
    "ge9999-12-31",
    "lt0001-01-01T00:00:00Z",
    "ge2026-12-03T25:61:00+05:30",
    "%00",
]


def answer_is_fine(response):
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert_outcome(response, response.status_code)
    else:
        parsed(response)


@pytest.fixture
def patient_client(world):
    return world.client("patient")


@pytest.fixture
def clients(world):
    return {role: world.client(role) for role in ("patient", "desk")}


def client_for(clients, resource_type):
    return clients[ROLE_OF.get(resource_type, "patient")]


@pytest.mark.parametrize("resource_type", SEARCHES)
@pytest.mark.parametrize("name", NAMES)
def test_junk_values_never_fail(clients, resource_type, name):
    client = client_for(clients, resource_type)
    for value in JUNK:
        params = {name: value}
        if resource_type == "Slot" and name != "schedule":
            params["schedule"] = "Schedule/1-1"
        answer_is_fine(client.get(BASE + resource_type, params))
        if resource_type in POSTED:
            answer_is_fine(post_search(client, resource_type, params))


@pytest.mark.parametrize("resource_type", READS)
def test_junk_ids_are_404(clients, resource_type):
    client = client_for(clients, resource_type)
    for value in ["0", "-1", "1.5", "9" * 30, "x" * 70, "1-", "-", "a.b", "%E2%80%AE", "1-1-1"]:
        assert_outcome(client.get(f"{BASE}{resource_type}/{value}"), 404, "not-found")


def test_a_value_too_long_is_400(patient_client):
    response = patient_client.get(BASE + "Location", {"name": "x" * 201})
    assert_outcome(response, 400, "too-long")


@pytest.mark.parametrize("resource_type", SEARCHES)
def test_nul_anywhere_is_400(clients, resource_type):
    client = client_for(clients, resource_type)
    for params in ({"name": "\x00"}, {"\x00": "1"}, {"_id": "1\x00"}):
        assert_outcome(client.get(BASE + resource_type, params), 400, "invalid")


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    resource_type=st.sampled_from(SEARCHES),
    params=st.dictionaries(
        st.one_of(st.sampled_from(NAMES), TEXT), st.one_of(st.sampled_from(JUNK), TEXT), max_size=4
    ),
)
def test_any_query_is_answered_without_a_fault(clients, resource_type, params):
    # The examples share the test's clinic; none of them writes.
    client = client_for(clients, resource_type)
    answer_is_fine(client.get(BASE + resource_type, params))
    answer_is_fine(post_search(client, resource_type, params))


# Writes -------------------------------------------------------------------------------------------

ELEMENTS = [
    "id",
    "status",
    "slot",
    "participant",
    "start",
    "end",
    "minutesDuration",
    "appointmentType",
    "reasonCode",
    "serviceType",
    "specialty",
    "cancelationReason",
    "extension",
    "comment",
]
KEYS = st.one_of(
    st.sampled_from(["reference", "actor", "status", "text", "coding", "system", "code", "url"]),
    TEXT,
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(JUNK),
    st.sampled_from(["Slot/1-1-20261203T0500Z", "Patient/1", "booked", "cancelled", "arrived"]),
    TEXT,
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)
BODIES = st.one_of(
    st.fixed_dictionaries(
        {"resourceType": st.sampled_from(["Appointment", "Patient", ""])},
        optional=dict.fromkeys(ELEMENTS, JSON),
    ),
    JSON,
)


@settings(
    max_examples=80,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(role=st.sampled_from(["patient", "desk"]), body=BODIES)
def test_any_body_is_answered_without_a_fault(world, clients, role, body):
    # A junk body books and changes nothing (the examples share the test's clinic).
    data = json.dumps(body)
    created = clients[role].post(BASE + "Appointment", data, content_type="application/fhir+json")
    answer_is_fine(created)
    path = f"{BASE}Appointment/{world.appointment.pk}"
    updated = clients[role].put(path, data, content_type="application/fhir+json")
    answer_is_fine(updated)
    assert created.status_code >= 400 and updated.status_code >= 400
    assert Appointment.objects.count() == 1
