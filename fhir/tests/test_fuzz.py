"""Junk in every search (GET and POSTed), read and write: ids, parameters, values, bodies, NUL,
overflowing dates. Never a 5xx; every refusal an OperationOutcome."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings.models import Appointment, SlotHold
from fhir.tests.world import BASE, assert_outcome, parsed, post_search

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"

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


# The scheduling operations ------------------------------------------------------------------------

FIND = BASE + "Appointment/$find"
FIND_NAMES = [
    "start",
    "end",
    "practitioner",
    "location",
    "specialty",
    "service-type",
    "_count",
    "_offset",
    "start:exact",
    "patient",
    "x",
]
PERIOD = {"start": "2026-12-03", "end": "2026-12-04"}
VALUE_TYPES = [
    "valueString",
    "valueDate",
    "valueDateTime",
    "valueInteger",
    "valueReference",
    "valueCoding",
    "valueCodeableConcept",
    "valueBoolean",
    "resource",
    "part",
]


def parameters_body(items):
    return json.dumps({"resourceType": "Parameters", "parameter": items})


@pytest.mark.parametrize("name", FIND_NAMES)
def test_junk_find_parameters_never_fail(clients, name):
    client = clients["patient"]
    for value in JUNK:
        answer_is_fine(client.get(FIND, {**PERIOD, name: value}))
        items = [
            {"name": key, "valueString": text} for key, text in {**PERIOD, name: value}.items()
        ]
        answer_is_fine(client.post(FIND, parameters_body(items), content_type=FHIR_JSON))


@pytest.mark.parametrize("value_type", VALUE_TYPES)
def test_junk_values_of_every_type_in_parameters_never_fail(clients, value_type):
    client = clients["desk"]
    for value in [*JUNK, None, 7, -1, True, [], {}, {"reference": "\x00"}, {"coding": "x"}]:
        for name in ("start", "practitioner", "specialty", "_count"):
            items = [{"name": key, "valueString": text} for key, text in PERIOD.items()]
            items = [item for item in items if item["name"] != name]
            items.append({"name": name, value_type: value})
            answer_is_fine(client.post(FIND, parameters_body(items), content_type=FHIR_JSON))


PARAMETER_ITEMS = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["appt-resource", *FIND_NAMES])},
            optional={"resource": BODIES, "valueString": TEXT, "valueDate": JSON, "part": JSON},
        ),
        JSON,
    ),
    max_size=3,
)
PARAMETERS = st.one_of(
    st.fixed_dictionaries(
        {"resourceType": st.sampled_from(["Parameters", "Appointment"])},
        optional={"parameter": PARAMETER_ITEMS, "id": JSON, "meta": JSON},
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
@given(role=st.sampled_from(["patient", "desk"]), body=PARAMETERS)
def test_any_operation_body_is_answered_without_a_fault(world, clients, role, body):
    # A junk body holds and books nothing (the examples share the test's clinic).
    data = json.dumps(body)
    for name in ("find", "hold", "book"):
        answer = clients[role].post(f"{BASE}Appointment/${name}", data, content_type=FHIR_JSON)
        answer_is_fine(answer)
        if name != "find":
            assert answer.status_code >= 400
    assert Appointment.objects.count() == 1
    assert not SlotHold.objects.exists()


def test_a_resource_inside_with_an_unknown_type_is_400_everywhere(world, clients):
    inside = {
        "resourceType": "Appointment",
        "status": "booked",
        "participant": [{"status": "accepted"}],
    }
    for contained in ([{"resourceType": "Nope"}], [{"resourceType": 5}]):
        data = json.dumps({**inside, "contained": contained})
        client = clients["desk"]
        assert_outcome(client.post(BASE + "Appointment", data, content_type=FHIR_JSON), 400)
        path = f"{BASE}Appointment/{world.appointment.pk}"
        assert_outcome(client.put(path, data, content_type=FHIR_JSON), 400)
        wrapped = parameters_body([{"name": "appt-resource", "resource": json.loads(data)}])
        for name in ("hold", "book"):
            answer = client.post(f"{BASE}Appointment/${name}", wrapped, content_type=FHIR_JSON)
            assert_outcome(answer, 400)
    lost = parameters_body([{"name": "start", "resource": {"resourceType": "Nope"}}])
    assert_outcome(clients["desk"].post(FIND, lost, content_type=FHIR_JSON), 400)
