"""Junk in every search and read: ids, parameters, values, NUL, overflowing dates. Never a 5xx;
every refusal an OperationOutcome."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir.tests.world import BASE, assert_outcome, parsed

pytestmark = pytest.mark.django_db

SEARCHES = ["Practitioner", "Location", "HealthcareService", "PractitionerRole", "Schedule", "Slot"]
READS = ["Practitioner", "Location", "HealthcareService", "PractitionerRole", "Schedule"]
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


@pytest.mark.parametrize("resource_type", SEARCHES)
@pytest.mark.parametrize("name", NAMES)
def test_junk_values_never_fail(patient_client, resource_type, name):
    for value in JUNK:
        params = {name: value}
        if resource_type == "Slot" and name != "schedule":
            params["schedule"] = "Schedule/1-1"
        answer_is_fine(patient_client.get(BASE + resource_type, params))


@pytest.mark.parametrize("resource_type", READS)
def test_junk_ids_are_404(patient_client, resource_type):
    for value in ["0", "-1", "1.5", "9" * 30, "x" * 70, "1-", "-", "a.b", "%E2%80%AE", "1-1-1"]:
        assert_outcome(patient_client.get(f"{BASE}{resource_type}/{value}"), 404, "not-found")


def test_a_value_too_long_is_400(patient_client):
    response = patient_client.get(BASE + "Location", {"name": "x" * 201})
    assert_outcome(response, 400, "too-long")


@pytest.mark.parametrize("resource_type", SEARCHES)
def test_nul_anywhere_is_400(patient_client, resource_type):
    for params in ({"name": "\x00"}, {"\x00": "1"}, {"_id": "1\x00"}):
        assert_outcome(patient_client.get(BASE + resource_type, params), 400, "invalid")


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
def test_any_query_is_answered_without_a_fault(patient_client, resource_type, params):
    # The examples share the test's clinic; none of them writes.
    answer_is_fine(patient_client.get(BASE + resource_type, params))
