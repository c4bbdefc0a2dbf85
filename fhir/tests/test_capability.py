"""GET /fhir/R4/metadata: public, FHIR 4.0.1, JSON, the token security, and exactly what the routes
serve: each listed interaction and search parameter works, and nothing else does."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from fhir.tests.world import BASE, LOGGED_IN, assert_outcome, parsed, post_search

pytestmark = pytest.mark.django_db

RESOURCES = {
    "Practitioner": {"read", "search-type"},
    "Location": {"read", "search-type"},
    "HealthcareService": {"read", "search-type"},
    "PractitionerRole": {"read", "search-type"},
    "Schedule": {"read", "search-type"},
    "Slot": {"search-type"},
    "Patient": {"read", "search-type"},
    "Appointment": {"read", "search-type", "create", "update"},
}
# A value each search parameter accepts, in the test clinic's terms.
VALUES = {
    "_id": lambda w: str(w.doctor.pk),
    "identifier": lambda w: w.doctor.registration_number,
    "name": lambda w: "a",
    "active": lambda w: "true",
    "practitioner": lambda w: f"Practitioner/{w.doctor.pk}",
    "location": lambda w: f"Location/{w.clinic.pk}",
    "service": lambda w: f"HealthcareService/{w.department.pk}",
    "specialty": lambda w: str(w.department.pk),
    "service-type": lambda w: str(w.department.pk),
    "actor": lambda w: f"Location/{w.clinic.pk}",
    "schedule": lambda w: f"Schedule/{w.doctor.pk}-{w.clinic.pk}",
    "start": lambda w: "ge2026-12-02",
    "status": lambda w: "free",
    "telecom": lambda w: "+919812345678",
    "birthdate": lambda w: "ge1900-01-01",
    "patient": lambda w: f"Patient/{w.appointment.patient_id}",
    "date": lambda w: "ge2026-12-01",
}
# Where a type reads a parameter of the same name otherwise.
VALUES_OF_TYPE = {("Appointment", "status"): lambda w: "booked"}


def value_of(world, resource_type, name):
    return VALUES_OF_TYPE.get((resource_type, name), VALUES[name])(world)


def statement():
    return parsed(APIClient().get(BASE + "metadata"))


def test_metadata_is_public_and_says_r4_json(world):
    capability = statement()
    assert capability.get_resource_type() == "CapabilityStatement"
    assert capability.fhirVersion == "4.0.1"
    assert capability.format == ["json"]
    assert capability.kind == "instance"
    assert capability.implementation.url == "http://testserver" + reverse("fhir:metadata")[:-8]
    (rest,) = capability.rest
    assert rest.mode == "server"
    assert rest.security.service[0].text == "Token"
    assert "Authorization: Token" in rest.security.description


@pytest.mark.parametrize("role", LOGGED_IN)
def test_every_login_reads_the_same_statement(world, role):
    answer = parsed(world.client(role).get(BASE + "metadata"))
    assert answer.model_dump() == statement().model_dump()


def test_it_lists_exactly_the_interactions_served(world):
    served = {
        resource.type: {interaction.code for interaction in resource.interaction}
        for resource in statement().rest[0].resource
    }
    assert served == RESOURCES


def test_every_listed_read_answers_and_search_answers_a_bundle(world):
    client = world.client("desk")
    reads = {
        "Patient": world.appointment.patient_id,
        "Appointment": world.appointment.pk,
        "Practitioner": world.doctor.pk,
        "Location": world.clinic.pk,
        "HealthcareService": world.department.pk,
        "PractitionerRole": f"{world.doctor.pk}-{world.clinic.pk}",
        "Schedule": f"{world.doctor.pk}-{world.clinic.pk}",
    }
    for resource in statement().rest[0].resource:
        codes = {interaction.code for interaction in resource.interaction}
        if "read" in codes:
            answer = parsed(client.get(f"{BASE}{resource.type}/{reads[resource.type]}"))
            assert answer.get_resource_type() == resource.type
        else:
            assert_outcome(client.get(f"{BASE}{resource.type}/1-1-20261203T0430Z"), 404)
        # A Slot search needs its schedule, a Patient search something to find (400 without).
        params = {
            "Slot": {"schedule": VALUES["schedule"](world)},
            "Patient": {"_id": reads["Patient"]},
        }.get(resource.type, {})
        assert parsed(client.get(BASE + resource.type, params)).type == "searchset"


def test_every_listed_write_is_served_and_no_other(world):
    """A create or an update listed is routed (a body that is no resource: 400, not 405); a
    type that lists neither refuses both (405)."""
    client = world.client("desk")
    ids = {"Appointment": world.appointment.pk, "Practitioner": world.doctor.pk}
    for resource in statement().rest[0].resource:
        codes = {interaction.code for interaction in resource.interaction}
        created = client.post(BASE + resource.type, {}, format="json")
        assert_outcome(created, 400 if "create" in codes else 405)
        if resource.type in ids:
            updated = client.put(f"{BASE}{resource.type}/{ids[resource.type]}", {}, format="json")
            assert_outcome(updated, 400 if "update" in codes else 405)


def test_every_listed_search_parameter_is_accepted(world):
    """In a URL, or (every one, those with personal details only so) POSTed to _search."""
    client = world.client("desk")
    for resource in statement().rest[0].resource:
        base = {"schedule": VALUES["schedule"](world)} if resource.type == "Slot" else {}
        for param in resource.searchParam:
            assert param.definition.startswith("http://hl7.org/fhir/SearchParameter/")
            search = {**base, param.name: value_of(world, resource.type, param.name)}
            posted = post_search(client, resource.type, search)
            assert parsed(posted).type == "searchset", (resource.type, param.name)
            answer = client.get(BASE + resource.type, search)
            if "POST _search only" in param.documentation:
                assert_outcome(answer, 400, "not-supported", "personal_detail_in_url")
            else:
                assert parsed(answer).type == "searchset", (resource.type, param.name)


def test_a_search_parameter_not_listed_is_refused(world):
    client = world.client("desk")
    for resource in statement().rest[0].resource:
        listed = {param.name for param in resource.searchParam}
        base = {"schedule": VALUES["schedule"](world)} if resource.type == "Slot" else {}
        for name in set(VALUES) - listed:
            search = {**base, name: value_of(world, resource.type, name)}
            answer = client.get(BASE + resource.type, search)
            assert_outcome(answer, 400, "not-supported", "unknown_parameter")
            posted = post_search(client, resource.type, search)
            assert_outcome(posted, 400, "not-supported", "unknown_parameter")


def test_metadata_takes_no_parameters_but_format(world):
    assert parsed(APIClient().get(BASE + "metadata", {"_format": "json", "_pretty": "true"}))
    assert_outcome(APIClient().get(BASE + "metadata", {"mode": "full"}), 400, "not-supported")


def test_it_lists_the_scheduling_operations_and_each_is_served(world):
    """Appointment's $find, $hold and $book, with definitions of our own; each answers its POST
    (a body that is no Parameters resource: 400, not 404 or 405); no other type lists one."""
    client = world.client("desk")
    listed = {
        resource.type: [(op.name, op.definition) for op in resource.operation or []]
        for resource in statement().rest[0].resource
    }
    ours = "https://clinic.example/fhir/OperationDefinition/appointment-"
    assert listed.pop("Appointment") == [(name, ours + name) for name in ("find", "hold", "book")]
    assert all(operations == [] for operations in listed.values())
    for name in ("find", "hold", "book"):
        answer = client.post(f"{BASE}Appointment/${name}", {}, format="json")
        assert_outcome(answer, 400, "invalid")
    assert_outcome(client.post(BASE + "Slot/$find", {}, format="json"), 404, "not-found")
