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

from accounts.selectors import SEARCH_LIMIT, name_matches, search_patients
from accounts.tests.factories import PatientFactory
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from fhir import stored_searches
from fhir.patients import reachable_patients
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


def every_patient(world):
    return ",".join(str(p.pk) for p in (world.patient, world.other_patient, world.walk_in))


@pytest.mark.parametrize("role", STAFF)
def test_staff_find_every_patient_they_name(world, role):
    bundle = search(world.client(role), "Patient", _id=every_patient(world))
    assert bundle.total == 3
    assert ids(bundle) == sorted(
        [str(p.pk) for p in (world.patient, world.other_patient, world.walk_in)], key=int
    )


def test_a_doctors_search_finds_their_patients_only(world):
    named = every_patient(world)
    assert ids(search(world.client("doctor"), "Patient", _id=named)) == [str(world.patient.pk)]
    assert search(world.client("other_doctor"), "Patient", _id=named).total == 0
    found = parsed(post_search(world.client("doctor"), "Patient", {"name": "a"}))
    assert ids(found) == [str(world.patient.pk)]
    assert parsed(post_search(world.client("other_doctor"), "Patient", {"name": "a"})).total == 0


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


# A search, not a list of the directory ------------------------------------------------------------

SEARCHERS = (*STAFF, "doctor")


def viewed():
    """The audit trail's "viewed" entries, by patient id."""
    return sorted(
        LogEntry.objects.filter(action=LogEntry.Action.ACCESS).values_list("object_pk", flat=True),
        key=int,
    )


@pytest.mark.parametrize("role", SEARCHERS)
def test_a_search_naming_nothing_to_find_is_400_and_says_what_to_give(world, role):
    client = world.client(role)
    for response in (
        client.get(BASE + "Patient"),
        # The reviewer's walk through the directory, a page at a time.
        client.get(BASE + "Patient", {"_count": "100", "_offset": "100"}),
        post_search(client, "Patient", {"_count": "100"}),
        # An empty value is no parameter (FHIR ignores it), so it narrows nothing either.
        post_search(client, "Patient", {"name": "", "_id": ""}),
    ):
        problem = assert_outcome(response, 400, "required", "required")
        for name in ("_id", "identifier", "name"):
            assert name in problem.diagnostics
        # A doctor is not told to search by what their login may not search by.
        assert ("telecom" in problem.diagnostics) is (role != "doctor")
        assert ("birthdate" in problem.diagnostics) is (role != "doctor")
    assert viewed() == []


@pytest.mark.parametrize("role", ["patient", "other_patient"])
def test_a_patients_search_naming_nothing_is_still_403(world, role):
    client = world.client(role)
    assert_outcome(client.get(BASE + "Patient"), 403, "forbidden", "permission_denied")
    assert_outcome(post_search(client, "Patient", {}), 403, "forbidden", "permission_denied")


def the_doctors_patients(world, count, full_name):
    """`count` new patients, each with an appointment with the doctor."""
    made = PatientFactory.create_batch(count, full_name=full_name)
    booked = Appointment.objects.count()
    for n, patient in enumerate(made, start=booked):
        AppointmentFactory(
            patient=patient,
            doctor=world.doctor,
            clinic=world.clinic,
            start=local(VISIT_DAY, 9) + dt.timedelta(days=7 + n),
            created_by=world.users["desk"],
        )
    return made


def assert_too_many(response):
    problem = assert_outcome(response, 400, "too-costly", "too_many_matches")
    assert problem.diagnostics == f"More than {SEARCH_LIMIT} patients matched: narrow the search."


@pytest.mark.parametrize("role", SEARCHERS)
def test_more_matches_than_the_directorys_limit_is_400_narrow_the_search(world, role):
    many = the_doctors_patients(world, SEARCH_LIMIT + 1, "Devi Samename")
    client = world.client(role)
    for params in (
        {"name": "samename"},
        {"name": "samename", "_count": "0"},
        {"name": "samename", "_count": "100", "_offset": "50"},
    ):
        assert_too_many(post_search(client, "Patient", params))
    if role != "doctor":
        assert_too_many(post_search(client, "Patient", {"birthdate": "ge1900-01-01"}))
    assert viewed() == []
    # Narrowed, the same search answers.
    narrowed = {"name": "samename", "identifier": str(many[0].pk)}
    assert ids(parsed(post_search(client, "Patient", narrowed))) == [str(many[0].pk)]


@pytest.mark.parametrize("role", SEARCHERS)
def test_as_many_matches_as_the_limit_are_answered_and_paged(world, role):
    same = the_doctors_patients(world, SEARCH_LIMIT, "Devi Samename")
    client = world.client(role)
    first = parsed(post_search(client, "Patient", {"name": "samename", "_count": "30"}))
    assert first.total == SEARCH_LIMIT
    second = parsed(client.get(link(first, "next")))
    assert ids(first) + ids(second) == [str(p.pk) for p in sorted(same, key=lambda p: p.pk)]


def test_the_limit_counts_only_the_doctors_own_patients(world):
    PatientFactory.create_batch(SEARCH_LIMIT + 1, full_name="Asha Samename")
    assert_too_many(post_search(world.client("desk"), "Patient", {"name": "asha"}))
    found = parsed(post_search(world.client("doctor"), "Patient", {"name": "asha"}))
    assert ids(found) == [str(world.patient.pk)]


# Who matches: the directory's rule (accounts.selectors) -------------------------------------------


@pytest.mark.parametrize("role", SEARCHERS)
def test_a_name_matches_as_the_directorys_search_finds_a_name(world, role):
    """Anywhere in the name, ignoring case, as the desk's and the JSON API's search; within
    what the login reaches. (FHIR's own default, the start of a word, missed "atien".)"""
    PatientFactory(full_name="Latika Sen")  # "ati" inside a word, nobody's patient
    reachable = reachable_patients(world.users[role])
    for text in ("atien", "ATI", "a pat", "walk", "sen"):
        expected = reachable.filter(name_matches(text)).order_by("pk")
        found = parsed(post_search(world.client(role), "Patient", {"name": text}))
        assert ids(found) == [str(p.pk) for p in expected], text
    found = parsed(post_search(world.client(role), "Patient", {"name": "atien"}))
    assert ids(found) == [str(world.patient.pk)]


@pytest.mark.parametrize("role", SEARCHERS)
def test_name_finds_names_only_not_emails_or_phones(world, role):
    """The desk's box also reads an email or a phone number; FHIR's name does not, so a doctor
    (who may not search by telecom) cannot learn their patients' contact details through it."""
    client = world.client(role)
    assert search_patients(world.patient.email)  # the desk's search finds it by email
    for text in (world.patient.email, "example.com", world.patient.phone[3:]):
        assert parsed(post_search(client, "Patient", {"name": text})).total == 0, text


def test_telecom_is_the_whole_address_or_number_not_a_part(world):
    """A token: a program takes the match as the person, so a part of an address is no match."""
    client = world.client("desk")
    uma = PatientFactory(email="uma@example.org")
    assert parsed(post_search(client, "Patient", {"telecom": "ma@example.org"})).total == 0
    found = parsed(post_search(client, "Patient", {"telecom": "UMA@example.org"}))
    assert ids(found) == [str(uma.pk)]
    assert parsed(post_search(client, "Patient", {"telecom": "+91981234567"})).total == 0


# Every patient a search returns is recorded as viewed ---------------------------------------------


AS_A_READ_RECORDS = (
    "content_type_id",
    "object_pk",
    "object_id",
    "object_repr",
    "serialized_data",
    "changes",
    "actor_id",
    "actor_email",
    "remote_addr",
    "additional_data",
)


@pytest.mark.parametrize("role", SEARCHERS)
def test_each_patient_a_search_returns_is_recorded_as_viewed_as_a_read_is(world, role):
    client = world.client(role)
    mine = the_doctors_patients(world, 2, "Esha Recorded")
    reachable = sorted(reachable_patients(world.users[role]).values_list("pk", flat=True))

    parsed(post_search(client, "Patient", {"name": "a", "_count": "0"}))
    assert viewed() == []  # the total alone shows nobody
    first = parsed(post_search(client, "Patient", {"name": "a", "_count": "2"}))
    assert viewed() == ids(first) == [str(pk) for pk in reachable[:2]]
    second = parsed(client.get(link(first, "next")))
    assert viewed() == ids(first) + ids(second)
    entries = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).order_by("pk")
    assert {entry.actor for entry in entries} == {world.users[role]}

    searched = entries.filter(object_pk=str(mine[0].pk)).values(*AS_A_READ_RECORDS).get()
    LogEntry.objects.all().delete()
    parsed(read(world, role, mine[0]))
    assert LogEntry.objects.values(*AS_A_READ_RECORDS).get() == searched


@pytest.mark.parametrize("role", SEARCHERS)
def test_recording_a_searchs_patients_costs_one_statement_however_many(world, role):
    client = world.client(role)
    parsed(post_search(client, "Patient", {"name": "esha"}))  # nothing found; caches warm
    the_doctors_patients(world, 2, "Esha Few")
    with CaptureQueriesContext(connection) as few:
        assert parsed(post_search(client, "Patient", {"name": "esha"})).total == 2
    the_doctors_patients(world, 12, "Esha Many")
    with CaptureQueriesContext(connection) as many:
        assert parsed(post_search(client, "Patient", {"_count": "100", "name": "esha"})).total == 14
    assert len(many.captured_queries) == len(few.captured_queries)
    audit_inserts = [
        query["sql"]
        for query in many.captured_queries
        if query["sql"].startswith("INSERT") and "auditlog_logentry" in query["sql"]
    ]
    assert len(audit_inserts) == 1
    assert len(viewed()) == 2 + 14
