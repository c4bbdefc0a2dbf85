"""Appointment/$find: free times as proposed Appointments, from the same slot engine as the pages
(each doctor's proposals are open_slots' free times), over a period inside the booking window,
narrowed by practitioner, location and department; GET or a POSTed Parameters resource; paging;
a fixed number of queries whatever the number of doctors; every refusal an OperationOutcome."""

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.models import Status
from bookings.selectors import open_slots
from bookings.tests.factories import AppointmentFactory, SlotHoldFactory
from doctors.tests.factories import (
    DoctorFactory,
    HolidayFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)
from fhir.schedules import slot_id
from fhir.tests.world import (
    BASE,
    LOGGED_IN,
    LONDON,
    NOW,
    TODAY,
    VISIT_DAY,
    assert_outcome,
    entries,
    local,
    parsed,
)

pytestmark = pytest.mark.django_db

FIND = BASE + "Appointment/$find"
FHIR_JSON = "application/fhir+json"
DEPARTMENTS = "https://clinic.example/fhir/department"


def find(client, **params):
    return client.get(FIND, params)


def post_find(client, parameters):
    body = {"resourceType": "Parameters", "parameter": parameters}
    return client.post(FIND, json.dumps(body), content_type=FHIR_JSON)


def everything(client, **params):
    """Every proposal of the period, over all its pages (following the next links)."""
    bundle = parsed(find(client, _count=100, **params))
    found = entries(bundle)
    while (following := [link.url for link in bundle.link if link.relation == "next"]) != []:
        bundle = parsed(client.get(following[0]))
        found += entries(bundle)
    assert len(found) == bundle.total
    return found


def by_pair(proposals):
    """{(doctor key, clinic key): [starts]} of proposals, in their order."""
    pairs = {}
    for proposal in proposals:
        actors = {p.actor.reference.split("/")[0]: p.actor.reference for p in proposal.participant}
        doctor = int(actors["Practitioner"].split("/")[1])
        clinic = int(actors["Location"].split("/")[1])
        pairs.setdefault((doctor, clinic), []).append(proposal.start)
    return pairs


def engine_starts(doctor, clinic, first_day, last_day):
    return [
        slot.start
        for slot in open_slots(
            doctor=doctor, clinic=clinic, now=NOW, first_day=first_day, last_day=last_day
        )
    ]


# Who may ask -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", LOGGED_IN)
def test_every_login_finds_the_same_proposals(world, role):
    params = {"start": VISIT_DAY.isoformat(), "end": VISIT_DAY.isoformat(), "_count": 100}
    bundle = parsed(find(world.client(role), **params))
    assert bundle.type == "searchset" and bundle.total > 0
    desk = parsed(find(world.client("desk"), **params))
    assert bundle.model_dump(exclude={"link"}) == desk.model_dump(exclude={"link"})


def test_anonymous_callers_are_refused(world):
    assert_outcome(find(world.client("anon"), start="2026-12-03", end="2026-12-03"), 401, "login")


# What is proposed --------------------------------------------------------------------------------


def test_a_proposal_is_a_free_slot_as_a_proposed_appointment(world):
    (first, *_) = entries(
        parsed(find(world.client("patient"), start="2026-12-03", end="2026-12-03"))
    )
    start = local(VISIT_DAY, 9)
    assert first.status == "proposed"
    assert first.id is None
    assert first.start == start and first.end == start + dt.timedelta(minutes=15)
    assert first.minutesDuration == 15
    assert first.slot[0].reference == f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, start)}"
    assert [(p.actor.reference, p.status, p.required) for p in first.participant] == [
        (f"Practitioner/{world.doctor.pk}", "needs-action", "required"),
        (f"Location/{world.clinic.pk}", "needs-action", "required"),
    ]
    department = (DEPARTMENTS, str(world.department.pk))
    for concept in (*first.serviceType, *first.specialty):
        assert (concept.coding[0].system, concept.coding[0].code) == department


def test_proposals_are_the_slot_engines_free_times_for_every_doctor_and_clinic(world):
    # Busy in every way the engine knows: an appointment at the other clinic (a doctor is in one
    # place at a time), time off, a clinic's holiday, every clinic's holiday, a live hold; and
    # what is not busy: a cancelled appointment, an expired hold.
    sunday = dt.date(2026, 12, 6)
    AppointmentFactory(
        doctor=world.doctor, clinic=world.london, start=dt.datetime(2026, 12, 6, 10, tzinfo=LONDON)
    )
    AppointmentFactory(
        doctor=world.other_doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 9),
        status=Status.CANCELLED,
    )
    TimeOffFactory(
        doctor=world.other_doctor, starts_at=local(VISIT_DAY, 11), ends_at=local(VISIT_DAY, 12)
    )
    HolidayFactory(clinic=world.clinic, date=dt.date(2026, 12, 5))
    HolidayFactory(clinic=None, date=dt.date(2026, 12, 8))
    SlotHoldFactory(doctor=world.other_doctor, clinic=world.clinic, start=local(VISIT_DAY, 10))
    SlotHoldFactory(
        doctor=world.other_doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 12),
        created_at=NOW - dt.timedelta(minutes=30),
    )
    last = TODAY + dt.timedelta(days=9)
    found = by_pair(everything(world.client("desk"), start=TODAY.isoformat(), end=last.isoformat()))
    expected = {
        (doctor.pk, clinic.pk): engine_starts(doctor, clinic, TODAY, last)
        for doctor, clinic in (
            (world.doctor, world.clinic),
            (world.doctor, world.london),
            (world.other_doctor, world.clinic),
        )
    }
    assert found == expected
    assert local(VISIT_DAY, 10) not in found[world.other_doctor.pk, world.clinic.pk]
    assert local(VISIT_DAY, 12) in found[world.other_doctor.pk, world.clinic.pk]
    assert (
        dt.datetime(2026, 12, 6, 10, tzinfo=LONDON) not in found[world.doctor.pk, world.london.pk]
    )
    assert any(start.date() == sunday for start in found[world.doctor.pk, world.london.pk])


def test_proposals_come_in_time_order_then_by_doctor(world):
    found = everything(world.client("desk"), start="2026-12-03", end="2026-12-03")
    keys = [(p.start, int(p.participant[0].actor.reference.split("/")[1])) for p in found]
    assert keys == sorted(keys)
    assert len({p.slot[0].reference for p in found}) == len(found)


def test_doctors_who_take_no_bookings_are_not_proposed(world):
    world.other_doctor.registration_expires_on = TODAY - dt.timedelta(days=1)
    world.other_doctor.save()
    found = by_pair(everything(world.client("desk"), start="2026-12-07", end="2026-12-07"))
    # The retired doctor (inactive, hours on Mondays) neither.
    assert set(found) == {(world.doctor.pk, world.clinic.pk)}


# The period --------------------------------------------------------------------------------------


def test_a_date_is_each_clinics_own_day(world):
    # Sunday 6 December: the doctor works only in London; its day, not Bengaluru's.
    found = everything(world.client("desk"), start="2026-12-06", end="2026-12-06")
    assert [p.start for p in found] == engine_starts(
        world.doctor, world.london, dt.date(2026, 12, 6), dt.date(2026, 12, 6)
    )
    assert all(p.start.astimezone(LONDON).date() == dt.date(2026, 12, 6) for p in found)


def test_times_bound_the_period_and_each_proposal_ends_by_its_end(world):
    found = everything(
        world.client("desk"),
        practitioner=f"Practitioner/{world.doctor.pk}",
        start="2026-12-03T10:30:00+05:30",
        end="2026-12-03T11:20:00+05:30",
    )
    assert [p.start for p in found] == [
        local(VISIT_DAY, 10, 30),
        local(VISIT_DAY, 10, 45),
        local(VISIT_DAY, 11),
    ]
    assert all(p.end <= local(VISIT_DAY, 11, 20) for p in found)


def test_an_end_at_midnight_ends_the_day_before(world):
    found = everything(
        world.client("desk"),
        location=f"Location/{world.clinic.pk}",
        start="2026-12-03",
        end="2026-12-04T00:00:00+05:30",
    )
    assert found and {p.start.astimezone(local(VISIT_DAY, 0).tzinfo).date() for p in found} == {
        VISIT_DAY
    }


def test_the_minimum_notice_applies_today(world):
    found = everything(world.client("desk"), start=TODAY.isoformat(), end=TODAY.isoformat())
    assert found and min(p.start for p in found) >= NOW + dt.timedelta(minutes=60)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"start": "2026-12-03"},
        {"end": "2026-12-03"},
        {"start": "", "end": "2026-12-03"},
    ],
)
def test_start_and_end_are_required(world, params):
    assert_outcome(find(world.client("desk"), **params), 400, "required", "required")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-11-30", "2026-12-03"),  # yesterday
        ("2026-12-03", "2027-01-01"),  # a day past the window's 30
        ("2026-12-03T10:00:00+05:30", "2027-02-01T10:00:00Z"),
        ("1900-01-01", "2999-12-31"),
    ],
)
def test_the_period_lies_inside_the_booking_window(world, start, end):
    problem = assert_outcome(find(world.client("desk"), start=start, end=end), 400, "invalid")
    assert "booking window" in problem.diagnostics


def test_the_whole_window_may_be_asked_for(world):
    bundle = parsed(find(world.client("desk"), start="2026-12-01", end="2026-12-31", _count=0))
    assert bundle.total > 0 and not bundle.entry


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-12-04", "2026-12-03"),
        ("2026-12-03T11:00:00+05:30", "2026-12-03T11:00:00+05:30"),
        ("2026-12-03T11:00:00Z", "2026-12-03T10:00:00Z"),
    ],
)
def test_an_end_before_the_start_is_refused(world, start, end):
    assert_outcome(find(world.client("desk"), start=start, end=end), 400, "invalid")


@pytest.mark.parametrize(
    "value",
    [
        "2026-12",
        "2026",
        "2026-12-03T10:00:00",
        "ge2026-12-03",
        "2026-02-30",
        "9999-12-31",
        "2026-12-03T25:00:00Z",
        "tomorrow",
    ],
)
def test_a_start_or_end_that_is_no_date_or_time_with_an_offset_is_refused(world, value):
    client = world.client("desk")
    assert_outcome(find(client, start=value, end="2026-12-04"), 400, "invalid")
    assert_outcome(find(client, start="2026-12-02", end=value), 400, "invalid")


# Narrowing ---------------------------------------------------------------------------------------


def pairs_found(world, **params):
    params = {"start": "2026-12-06", "end": "2026-12-07", **params}
    return set(by_pair(everything(world.client("patient"), **params)))


def test_practitioner_location_and_department_narrow_the_doctors(world):
    doctor, other, lakeview, london = world.doctor, world.other_doctor, world.clinic, world.london
    everyone = {(doctor.pk, lakeview.pk), (doctor.pk, london.pk), (other.pk, lakeview.pk)}
    assert pairs_found(world) == everyone
    assert pairs_found(world, practitioner=f"Practitioner/{other.pk}") == {(other.pk, lakeview.pk)}
    assert pairs_found(world, practitioner=f"{doctor.pk},{other.pk}") == everyone
    assert pairs_found(world, location=f"Location/{london.pk}") == {(doctor.pk, london.pk)}
    department = str(world.department.pk)
    assert pairs_found(world, specialty=department) == everyone
    assert pairs_found(world, **{"service-type": f"{DEPARTMENTS}|{department}"}) == everyone
    assert pairs_found(world, specialty="999") == set()
    assert pairs_found(world, **{"service-type": f"http://other.example|{department}"}) == set()
    assert pairs_found(world, practitioner="Practitioner/999999") == set()


def test_a_doctor_of_another_department_is_found_by_their_code(world):
    cardiologist = DoctorFactory(full_name="Dr Heart")
    WorkingHoursFactory(doctor=cardiologist, clinic=world.clinic, weekday=0)  # Mondays
    code = str(cardiologist.department_id)
    assert pairs_found(world, specialty=code) == {(cardiologist.pk, world.clinic.pk)}
    assert pairs_found(world, specialty=code, **{"service-type": str(world.department.pk)}) == set()


@pytest.mark.parametrize(
    "params",
    [
        {"practitioner": "Location/1"},
        {"location": "Practitioner/1"},
        {"patient": "Patient/1"},
        {"start:exact": "2026-12-03"},
        {"_sort": "start"},
        {"_count": "-1"},
    ],
)
def test_unknown_or_wrong_parameters_are_refused(world, params):
    params = {"start": "2026-12-03", "end": "2026-12-04", **params}
    assert_outcome(find(world.client("desk"), **params), 400)


# Paging ------------------------------------------------------------------------------------------


def test_count_pages_with_next_links_that_keep_the_search(world):
    client = world.client("patient")
    first = parsed(find(client, start="2026-12-03", end="2026-12-03", _count=5))
    assert len(first.entry) == 5 and first.total > 5
    (following,) = [link.url for link in first.link if link.relation == "next"]
    query = parse_qs(urlsplit(following).query)
    assert query["_offset"] == ["5"] and query["start"] == ["2026-12-03"]
    second = parsed(client.get(following))
    # Two doctors free at one time come one after the other: a page may end between them.
    assert second.entry[0].resource.start >= first.entry[-1].resource.start
    assert {e.fullUrl for e in first.entry}.isdisjoint({e.fullUrl for e in second.entry})
    assert all(e.fullUrl.startswith("urn:uuid:") for e in first.entry)


def test_the_same_proposal_has_the_same_full_url_each_time(world):
    client = world.client("patient")
    once = parsed(find(client, start="2026-12-03", end="2026-12-03", _count=3))
    again = parsed(find(client, start="2026-12-02", end="2026-12-03", _count=100))
    urls = {e.resource.slot[0].reference: e.fullUrl for e in again.entry}
    assert all(urls[e.resource.slot[0].reference] == e.fullUrl for e in once.entry)


# POST with a Parameters resource -----------------------------------------------------------------


def test_a_posted_parameters_resource_finds_what_the_url_finds(world):
    client = world.client("integration")
    posted = parsed(
        post_find(
            client,
            [
                {"name": "start", "valueDate": "2026-12-03"},
                {"name": "end", "valueDateTime": "2026-12-03T12:00:00+05:30"},
                {
                    "name": "practitioner",
                    "valueReference": {"reference": f"Practitioner/{world.doctor.pk}"},
                },
                {"name": "location", "valueString": f"Location/{world.clinic.pk}"},
                {
                    "name": "specialty",
                    "valueCoding": {"system": DEPARTMENTS, "code": str(world.department.pk)},
                },
                {
                    "name": "service-type",
                    "valueCodeableConcept": {"coding": [{"code": str(world.department.pk)}]},
                },
                {"name": "_count", "valueInteger": 4},
            ],
        )
    )
    got = parsed(
        find(
            client,
            start="2026-12-03",
            end="2026-12-03T12:00:00+05:30",
            practitioner=f"Practitioner/{world.doctor.pk}",
            location=f"Location/{world.clinic.pk}",
            specialty=f"{DEPARTMENTS}|{world.department.pk}",
            **{"service-type": str(world.department.pk)},
            _count=4,
        )
    )
    assert posted.total == got.total > 4
    assert posted.model_dump(exclude={"link"}) == got.model_dump(exclude={"link"})
    # Its next page is a GET of the same operation, which keeps nothing personal.
    (following,) = [link.url for link in posted.link if link.relation == "next"]
    assert urlsplit(following).path == FIND
    assert parse_qs(urlsplit(following).query)["end"] == ["2026-12-03T12:00:00+05:30"]
    assert parsed(client.get(following)).entry[0].resource.start > posted.entry[-1].resource.start


def test_a_repeated_parameter_in_parameters_means_or(world):
    found = by_pair(
        entries(
            parsed(
                post_find(
                    world.client("desk"),
                    [
                        {"name": "start", "valueDate": "2026-12-03"},
                        {"name": "end", "valueDate": "2026-12-03"},
                        {"name": "practitioner", "valueString": f"Practitioner/{world.doctor.pk}"},
                        {
                            "name": "practitioner",
                            "valueString": f"Practitioner/{world.other_doctor.pk}",
                        },
                        {"name": "_count", "valueInteger": 100},
                    ],
                )
            )
        )
    )
    assert set(found) == {
        (world.doctor.pk, world.clinic.pk),
        (world.other_doctor.pk, world.clinic.pk),
    }


PERIOD = [{"name": "start", "valueDate": "2026-12-03"}, {"name": "end", "valueDate": "2026-12-03"}]


@pytest.mark.parametrize(
    ("parameters", "code"),
    [
        ([{"name": "start", "valueDate": "2026-12-03"}], "required"),
        ([*PERIOD, {"name": "patient", "valueString": "Patient/1"}], "unknown_parameter"),
        ([*PERIOD, {"name": "practitioner", "valueBoolean": True}], "invalid"),
        ([*PERIOD, {"name": "practitioner", "valueReference": {"display": "Dr X"}}], "invalid"),
        ([*PERIOD, {"name": "practitioner"}], "invalid"),
        ([*PERIOD, {"name": "_count", "valueString": "many"}], "invalid"),
        (
            [*PERIOD, {"name": "practitioner", "resource": {"resourceType": "Practitioner"}}],
            "invalid",
        ),
        ([*PERIOD, {"name": "location", "resource": {"resourceType": "Nope"}}], "invalid"),
        ([{"name": "start", "valueDate": "2026-13-03"}, PERIOD[1]], "invalid"),
        ([{"name": "start", "valueInteger": "x"}, PERIOD[1]], "invalid"),
        ("start", "invalid"),
        ([{"valueDate": "2026-12-03"}], "invalid"),
    ],
)
def test_bad_parameters_are_refused(world, parameters, code):
    problem = assert_outcome(post_find(world.client("desk"), parameters), 400)
    assert problem.details.coding[0].code == code


def test_a_post_takes_a_parameters_resource_only(world):
    client = world.client("desk")
    for body in (
        {"resourceType": "Appointment", "status": "proposed"},
        [],
        {"start": "2026-12-03"},
    ):
        assert_outcome(client.post(FIND, json.dumps(body), content_type=FHIR_JSON), 400)
    form = client.post(
        FIND, "start=2026-12-03&end=2026-12-03", content_type="application/x-www-form-urlencoded"
    )
    assert_outcome(form, 415, "not-supported")
    in_url = client.post(
        FIND + "?start=2026-12-03",
        json.dumps({"resourceType": "Parameters"}),
        content_type=FHIR_JSON,
    )
    assert_outcome(in_url, 400, "not-supported", "unknown_parameter")


def test_find_changes_nothing_and_other_methods_are_refused(world):
    client = world.client("desk")
    for method in ("put", "patch", "delete"):
        assert_outcome(getattr(client, method)(FIND), 405, "not-supported")


# Cost --------------------------------------------------------------------------------------------


def test_a_find_costs_the_same_queries_whatever_the_number_of_doctors(world):
    client = world.client("integration")
    client.get(BASE + "metadata")

    def count():
        with CaptureQueriesContext(connection) as queries:
            parsed(find(client, start="2026-12-01", end="2026-12-31", _count=100))
        return len(queries)

    few = count()
    for number in range(6):
        doctor = DoctorFactory(department=world.department)
        for weekday in range(6):
            WorkingHoursFactory(doctor=doctor, clinic=world.clinic, weekday=weekday)
        WorkingHoursFactory(doctor=doctor, clinic=world.london, weekday=6)
        AppointmentFactory(
            doctor=doctor, clinic=world.clinic, start=local(VISIT_DAY, 9 + number % 4)
        )
        TimeOffFactory(doctor=doctor, starts_at=local(TODAY, 11), ends_at=local(TODAY, 12))
        SlotHoldFactory(doctor=doctor, clinic=world.clinic, start=local(VISIT_DAY, 12))
    HolidayFactory(clinic=world.london, date=dt.date(2026, 12, 13))
    assert count() == few
