"""GET /fhir/R4/metadata: public, FHIR 4.0.1, JSON, the token security, and exactly what the routes
serve: each listed interaction and search parameter works, and nothing else does."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from fhir.tests.world import BASE, LOGGED_IN, assert_outcome, parsed

pytestmark = pytest.mark.django_db

RESOURCES = {
    "Practitioner": {"read", "search-type"},
    "Location": {"read", "search-type"},
    "HealthcareService": {"read", "search-type"},
    "PractitionerRole": {"read", "search-type"},
    "Schedule": {"read", "search-type"},
    "Slot": {"search-type"},
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
    "actor": lambda w: f"Location/{w.clinic.pk}",
    "schedule": lambda w: f"Schedule/{w.doctor.pk}-{w.clinic.pk}",
    "start": lambda w: "ge2026-12-02",
    "status": lambda w: "free",
}


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
    client = world.client("patient")
    reads = {
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
        params = {"schedule": VALUES["schedule"](world)} if resource.type == "Slot" else {}
        assert parsed(client.get(BASE + resource.type, params)).type == "searchset"


def test_every_listed_search_parameter_is_accepted(world):
    client = world.client("desk")
    for resource in statement().rest[0].resource:
        base = {"schedule": VALUES["schedule"](world)} if resource.type == "Slot" else {}
        for param in resource.searchParam:
            assert param.definition.startswith("http://hl7.org/fhir/SearchParameter/")
            answer = client.get(
                BASE + resource.type, {**base, param.name: VALUES[param.name](world)}
            )
            assert parsed(answer).type == "searchset", (resource.type, param.name)


def test_a_search_parameter_not_listed_is_refused(world):
    client = world.client("desk")
    for resource in statement().rest[0].resource:
        listed = {param.name for param in resource.searchParam}
        base = {"schedule": VALUES["schedule"](world)} if resource.type == "Slot" else {}
        for name in set(VALUES) - listed:
            answer = client.get(BASE + resource.type, {**base, name: VALUES[name](world)})
            assert_outcome(answer, 400, "not-supported", "unknown_parameter")


def test_metadata_takes_no_parameters_but_format(world):
    assert parsed(APIClient().get(BASE + "metadata", {"_format": "json", "_pretty": "true"}))
    assert_outcome(APIClient().get(BASE + "metadata", {"mode": "full"}), 400, "not-supported")
