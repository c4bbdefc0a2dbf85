"""Patient: the directory for the clinic's roles. Staff read every patient with contact details
and date of birth; a doctor the patients of their own schedule, name and sex only; patients are
refused. Personal parameters are searched only through POST _search, and the pages of such a
search carry a stored id, never the details."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from auditlog.models import LogEntry
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import PatientFactory
from bookings.models import Status
from bookings.tests.factories import AppointmentFactory
from fhir import stored_searches
from fhir.tests.world import (
    BASE,
    STAFF,
    VISIT_DAY,
    assert_outcome,
    entries,
    ids,
    local,
    parsed,
    post_search,
    search,
)

pytestmark = pytest.mark.django_db

SYSTEM = "https://clinic.example/fhir/patient"


def read(world, role, patient):
    return world.client(role).get(f"{BASE}Patient/{patient.pk}")


# Read ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_staff_read_any_patient_with_contact_details_and_birth_date(world, role):
    walk_in = world.walk_in
    resource = parsed(read(world, role, walk_in))
    assert resource.id == str(walk_in.pk)
    assert resource.identifier[0].system == SYSTEM
    assert resource.identifier[0].value == str(walk_in.pk)
    assert resource.name[0].text == walk_in.full_name
    assert resource.birthDate == walk_in.date_of_birth
    assert [(t.system, t.value) for t in resource.telecom] == [
        ("phone", walk_in.phone),
        ("email", walk_in.email),
    ]
    assert (
        resource.gender
        == {
            "female": "female",
            "male": "male",
            "other": "other",
            "undisclosed": "unknown",
        }[walk_in.sex]
    )


def test_a_doctor_reads_their_patient_by_name_and_sex_only(world):
    resource = parsed(read(world, "doctor", world.patient))
    assert resource.name[0].text == world.patient.full_name
    assert resource.gender
    assert resource.telecom is None
    assert resource.birthDate is None


def test_a_doctor_reads_a_patient_of_a_cancelled_appointment_too(world):
    assert_outcome(read(world, "doctor", world.walk_in), 404, "not-found")
    AppointmentFactory(
        patient=world.walk_in,
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 11),
        status=Status.CANCELLED,
        created_by=world.users["desk"],
    )
    assert parsed(read(world, "doctor", world.walk_in)).id == str(world.walk_in.pk)


def test_another_doctors_patient_is_404(world):
    assert_outcome(read(world, "other_doctor", world.patient), 404, "not-found")


def test_an_inactive_doctor_reads_no_patient(world):
    world.doctor.is_active = False
    world.doctor.save()
    assert_outcome(read(world, "doctor", world.patient), 404, "not-found")


@pytest.mark.parametrize("role", ["patient", "other_patient"])
def test_patients_are_refused_403_even_for_their_own_record(world, role):
    assert_outcome(read(world, role, world.patient), 403, "forbidden", "permission_denied")
    response = world.client(role).get(BASE + "Patient", {"_id": world.patient.pk})
    assert_outcome(response, 403, "forbidden")
    response = post_search(world.client(role), "Patient", {"name": "asha"})
    assert_outcome(response, 403, "forbidden")


def test_anonymous_is_401(world):
    assert_outcome(read(world, "anon", world.patient), 401, "login")
    assert_outcome(world.client("anon").get(BASE + "Patient"), 401, "login")


@pytest.mark.parametrize("value", ["0", "x", "9" * 12, "1-2", "1.0"])
def test_an_id_that_is_not_ours_is_404(world, value):
    assert_outcome(world.client("desk").get(f"{BASE}Patient/{value}"), 404, "not-found")


def test_a_read_is_recorded_in_the_audit_trail(world):
    parsed(read(world, "desk", world.walk_in))
    assert LogEntry.objects.filter(
        object_pk=str(world.walk_in.pk), action=LogEntry.Action.ACCESS
    ).exists()


# Search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_staff_search_every_patient(world, role):
    bundle = search(world.client(role), "Patient")
    assert bundle.total == 3
    assert ids(bundle) == sorted(
        [str(p.pk) for p in (world.patient, world.other_patient, world.walk_in)], key=int
    )


def test_a_doctors_search_finds_their_patients_only(world):
    assert ids(search(world.client("doctor"), "Patient")) == [str(world.patient.pk)]
    assert search(world.client("other_doctor"), "Patient").total == 0


def test_search_by_identifier_with_or_without_our_system(world):
    client = world.client("desk")
    pk = str(world.walk_in.pk)
    assert ids(search(client, "Patient", identifier=pk)) == [pk]
    assert ids(search(client, "Patient", identifier=f"{SYSTEM}|{pk}")) == [pk]
    assert search(client, "Patient", identifier=f"https://elsewhere.example/mrn|{pk}").total == 0
    assert search(client, "Patient", identifier=f"|{pk}").total == 0
    assert ids(search(client, "Patient", _id=pk)) == [pk]


def test_personal_parameters_in_a_url_are_refused(world):
    client = world.client("desk")
    for params in (
        {"name": "chandra"},
        {"telecom": "+919812345678"},
        {"birthdate": "1990-01-01"},
        {"name:exact": "Chandra Walkin"},
    ):
        response = client.get(BASE + "Patient", params)
        problem = assert_outcome(response, 400, "not-supported", "personal_detail_in_url")
        assert "POST" in problem.diagnostics


def test_posted_search_by_name_and_birthdate(world):
    client = world.client("desk")
    walk_in = world.walk_in
    found = parsed(post_search(client, "Patient", {"name": "chandra"}))
    assert ids(found) == [str(walk_in.pk)]
    both = {"name": "walkin", "birthdate": walk_in.date_of_birth.isoformat()}
    assert ids(parsed(post_search(client, "Patient", both))) == [str(walk_in.pk)]
    day_after = (walk_in.date_of_birth + dt.timedelta(days=1)).isoformat()
    assert parsed(post_search(client, "Patient", {**both, "birthdate": day_after})).total == 0
    ranged = {"birthdate": [f"ge{walk_in.date_of_birth}", f"lt{day_after}"], "name": "chan"}
    assert ids(parsed(post_search(client, "Patient", ranged))) == [str(walk_in.pk)]
    exact = {"name:exact": "chandra walkin"}
    assert parsed(post_search(client, "Patient", exact)).total == 0
    contains = {"name:contains": "ndra wal"}
    assert ids(parsed(post_search(client, "Patient", contains))) == [str(walk_in.pk)]


@pytest.mark.parametrize(
    "value",
    [
        "+919812345678",
        "+91 98123 45678",
        "phone|+919812345678",
        "sms|0091-98123-45678",
        "fax|+919812345678,+919812345678",
    ],
)
def test_posted_search_by_phone(world, value):
    found = parsed(post_search(world.client("desk"), "Patient", {"telecom": value}))
    assert ids(found) == [str(world.walk_in.pk)]


def test_posted_search_by_email_ignores_case_and_other_systems_match_nothing(world):
    client = world.client("desk")
    email = world.other_patient.email
    for value in (email.upper(), f"email|{email}"):
        found = parsed(post_search(client, "Patient", {"telecom": value}))
        assert ids(found) == [str(world.other_patient.pk)]
    for value in (f"url|{email}", "fax|+919812345678", "email|"):
        assert parsed(post_search(client, "Patient", {"telecom": value})).total == 0


@pytest.mark.parametrize(
    ("params", "issue"),
    [
        ({"telecom": "98123"}, "invalid"),
        ({"telecom": "phone|not a number"}, "invalid"),
        ({"birthdate": "1990"}, "invalid"),
        ({"birthdate": "1990-02-30"}, "invalid"),
        ({"birthdate": "sa1990-01-01"}, "invalid"),
        ({"birthdate": "0001-01-01"}, "invalid"),
        ({"gender": "female"}, "not-supported"),
        ({"name:phonetic": "asha"}, "not-supported"),
        ({"name": ["a", "b"]}, "invalid"),
        ({"_search_id": "x" * 20}, "invalid"),
    ],
)
def test_posted_search_junk_is_400(world, params, issue):
    assert_outcome(post_search(world.client("desk"), "Patient", params), 400, issue)


def test_a_posted_search_must_be_a_form(world):
    response = world.client("desk").post(f"{BASE}Patient/_search", {"name": "asha"}, format="json")
    assert_outcome(response, 415, "not-supported", "unsupported_media_type")


def test_a_doctor_may_not_search_by_what_they_do_not_see(world):
    client = world.client("doctor")
    for params in ({"telecom": world.patient.phone}, {"birthdate": "1990-01-01"}):
        assert_outcome(post_search(client, "Patient", params), 403, "forbidden")
    name = world.patient.full_name.split()[0]
    assert ids(parsed(post_search(client, "Patient", {"name": name}))) == [str(world.patient.pk)]


# Pages of a personal search -----------------------------------------------------------------------


def link(bundle, relation):
    return next((item.url for item in bundle.link if item.relation == relation), None)


def test_the_pages_of_a_personal_search_name_a_stored_search_not_the_details(world):
    for n in range(3):
        PatientFactory(full_name=f"Chandra Number{n}")
    client = world.client("desk")
    first = parsed(post_search(client, "Patient", {"name": "chandra", "_count": "2"}))
    assert first.total == 4
    next_url = link(first, "next")
    for url in (next_url, link(first, "self")):
        assert "chandra" not in url.lower()
        query = parse_qs(urlsplit(url).query)
        assert set(query) <= {"_search_id", "_count", "_offset"}
    second = parsed(client.get(next_url))
    assert second.total == 4
    assert len(entries(second)) == 2
    assert not set(ids(first)) & set(ids(second))
    assert link(second, "next") is None
    previous = parse_qs(urlsplit(link(second, "previous")).query)
    assert "_offset" not in previous  # the first page
    assert ids(parsed(client.get(link(second, "previous")))) == ids(first)


def test_a_stored_search_is_its_logins_only_and_expires(world):
    client = world.client("desk")
    first = parsed(post_search(client, "Patient", {"birthdate": "ge1900-01-01", "_count": "1"}))
    next_url = link(first, "next")
    assert parsed(client.get(next_url)).total == first.total
    for role in ("admin", "integration", "doctor"):
        assert_outcome(world.client(role).get(next_url), 410, "not-found", "search_expired")
    assert_outcome(client.get(next_url + "&name=x"), 400, "not-supported")
    cache.clear()
    assert_outcome(client.get(next_url), 410, "not-found", "search_expired")


def test_a_stored_search_pages_only_its_own_type(world):
    client = world.client("desk")
    first = parsed(post_search(client, "Patient", {"birthdate": "ge1900-01-01", "_count": "1"}))
    search_id = parse_qs(urlsplit(link(first, "next")).query)[stored_searches.PARAMETER][0]
    response = client.get(BASE + "Practitioner", {stored_searches.PARAMETER: search_id})
    assert_outcome(response, 410, "not-found")


def test_a_search_without_personal_details_links_its_own_parameters(world):
    client = world.client("desk")
    pk = str(world.walk_in.pk)
    bundle = parsed(post_search(client, "Patient", {"identifier": pk, "_count": "1"}))
    assert ids(bundle) == [pk]
    assert parse_qs(urlsplit(link(bundle, "self")).query)["identifier"] == [pk]


def test_a_refused_personal_search_is_not_stored(world, monkeypatch):
    searches = []
    keep = cache.set

    def watched(key, *args, **kwargs):
        if key.startswith("fhir:search:"):
            searches.append(key)
        return keep(key, *args, **kwargs)

    monkeypatch.setattr(cache, "set", watched)
    refused = post_search(world.client("doctor"), "Patient", {"telecom": world.patient.phone})
    assert_outcome(refused, 403)
    assert searches == []
    parsed(post_search(world.client("desk"), "Patient", {"telecom": world.patient.phone}))
    assert len(searches) == 1


# Cost ---------------------------------------------------------------------------------------------


def queries_of(client, params):
    with CaptureQueriesContext(connection) as queries:
        parsed(post_search(client, "Patient", params))
    return len(queries.captured_queries)


@pytest.mark.parametrize("role", ["desk", "doctor"])
def test_a_search_costs_the_same_however_many_it_finds(world, role):
    client = world.client(role)
    client.get(BASE + "metadata")
    few = queries_of(client, {"name": "a"})
    for n in range(8):
        patient = PatientFactory(full_name=f"Anand Many{n}")
        AppointmentFactory(
            patient=patient,
            doctor=world.doctor,
            clinic=world.clinic,
            start=local(VISIT_DAY, 9, 0) + dt.timedelta(days=7 + n),
            created_by=world.users["desk"],
        )
    assert queries_of(client, {"name": "a"}) == few
