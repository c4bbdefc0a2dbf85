"""Schedule (one per doctor and clinic) and Slot search: free times from the portal's slot engine,
busy times from active appointments, ranges by `start` inside the booking window, and ids that
name the same times as the API's slot ids."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.slots import slot_id as api_slot_id
from bookings.models import Status
from bookings.selectors import open_slots
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import TimeOffFactory
from fhir.schedules import as_api_slot_id, parse_slot_id, slot_id
from fhir.tests.world import (
    BASE,
    LOGGED_IN,
    LONDON,
    NOW,
    STAFF,
    TODAY,
    VISIT_DAY,
    assert_outcome,
    entries,
    ids,
    local,
    parsed,
    search,
)

pytestmark = pytest.mark.django_db

WINDOW_LAST = TODAY + dt.timedelta(days=30)


def schedule_of(doctor, clinic):
    return f"Schedule/{doctor.pk}-{clinic.pk}"


def slots(client, doctor, clinic, **params):
    """Every slot of the search, over its pages."""
    params = {"schedule": schedule_of(doctor, clinic), "_count": 100, **params}
    bundle = search(client, "Slot", **params)
    found = entries(bundle)
    while bundle.total > len(found):
        bundle = search(client, "Slot", **params, _offset=len(found))
        found += entries(bundle)
    return found


def starts(found):
    return [slot.start for slot in found]


# Schedule -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", LOGGED_IN)
def test_every_login_reads_a_schedule_over_the_booking_window(world, role):
    schedule = parsed(world.client(role).get(BASE + schedule_of(world.doctor, world.clinic)))
    assert schedule.id == f"{world.doctor.pk}-{world.clinic.pk}"
    assert schedule.active is True
    assert [actor.reference for actor in schedule.actor] == [
        f"Practitioner/{world.doctor.pk}",
        f"Location/{world.clinic.pk}",
    ]
    assert schedule.planningHorizon.start == local(TODAY, 0)
    assert schedule.planningHorizon.end == local(WINDOW_LAST + dt.timedelta(days=1), 0)


def test_a_schedule_in_london_keeps_londons_days(world):
    schedule = parsed(world.client("patient").get(BASE + schedule_of(world.doctor, world.london)))
    assert schedule.planningHorizon.start == dt.datetime(2026, 12, 1, tzinfo=LONDON)


def test_a_doctor_whose_registration_lapsed_has_an_inactive_schedule(world):
    world.doctor.registration_expires_on = TODAY - dt.timedelta(days=1)
    world.doctor.save()
    client = world.client("patient")
    assert parsed(client.get(BASE + schedule_of(world.doctor, world.clinic))).active is False
    assert [s.status for s in slots(client, world.doctor, world.clinic)] == ["busy"]


def test_a_retired_doctors_schedule_is_for_staff_only(world):
    path = BASE + schedule_of(world.retired, world.clinic)
    for role in STAFF:
        assert parsed(world.client(role).get(path)).active is False
    assert_outcome(world.client("patient").get(path), 404)
    assert search(world.client("patient"), "Slot", schedule=path[len(BASE) :]).total == 0


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("Practitioner/{doctor}", [("doctor", "clinic"), ("doctor", "london")]),
        ("Location/{london}", [("doctor", "london")]),
        (
            "Location/{london},Practitioner/{other_doctor}",
            [("doctor", "london"), ("other_doctor", "clinic")],
        ),
        ("Practitioner/99999", []),
    ],
)
def test_schedules_by_actor(world, actor, expected):
    names = {
        "doctor": world.doctor.pk,
        "other_doctor": world.other_doctor.pk,
        "london": world.london.pk,
    }
    bundle = search(world.client("integration"), "Schedule", actor=actor.format(**names))
    assert ids(bundle) == [f"{getattr(world, d).pk}-{getattr(world, c).pk}" for d, c in expected]


@pytest.mark.parametrize("actor", ["1", "Patient/1", "HealthcareService/1"])
def test_an_actor_is_a_practitioner_or_a_location(world, actor):
    response = world.client("patient").get(BASE + "Schedule", {"actor": actor})
    assert_outcome(response, 400, "invalid")


# Slot: free and busy ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", LOGGED_IN)
def test_free_slots_are_the_pages_own(world, role):
    found = slots(world.client(role), world.doctor, world.clinic, status="free")
    expected = open_slots(
        doctor=world.doctor,
        clinic=world.clinic,
        now=NOW,
        first_day=TODAY,
        last_day=TODAY + dt.timedelta(days=6),
    )
    assert starts(found) == [slot.start for slot in expected]
    assert [slot.end for slot in found] == [slot.end for slot in expected]
    assert all(slot.schedule.reference == schedule_of(world.doctor, world.clinic) for slot in found)


@pytest.mark.parametrize("name", ["service-type", "specialty"])
def test_slots_by_service_type_or_specialty_are_the_doctors_departments(world, name):
    client = world.client("desk")
    everything = slots(client, world.doctor, world.clinic, status="free")
    department = world.doctor.department_id
    systems = "https://clinic.example/fhir/department"
    assert everything
    assert all(
        [(c.system, c.code) for c in slot.serviceType[0].coding] == [(systems, str(department))]
        for slot in everything
    )
    assert slots(client, world.doctor, world.clinic, status="free", **{name: department}) == (
        everything
    )
    both = f"{department + 1000},{systems}|{department}"
    assert len(slots(client, world.doctor, world.clinic, status="free", **{name: both})) == len(
        everything
    )
    assert slots(client, world.doctor, world.clinic, **{name: department + 1000}) == []
    assert slots(client, world.doctor, world.clinic, **{name: f"http://other|{department}"}) == []


def test_a_booked_time_is_busy_and_says_nothing_of_the_patient(world):
    client = world.client("other_patient")
    busy = slots(client, world.doctor, world.clinic, status="busy")
    assert starts(busy) == [local(VISIT_DAY, 10)]
    assert busy[0].end == world.appointment.end
    everything = slots(client, world.doctor, world.clinic)
    assert local(VISIT_DAY, 10) in starts(everything)
    assert starts(everything) == sorted(starts(everything))
    response = client.get(BASE + "Slot", {"schedule": schedule_of(world.doctor, world.clinic)})
    assert world.appointment.patient.full_name.encode() not in response.content


def test_a_cancelled_appointment_frees_its_time(world):
    world.appointment.status = Status.CANCELLED
    world.appointment.save()
    found = slots(world.client("patient"), world.doctor, world.clinic, start="eq2026-12-03")
    assert {slot.status for slot in found} == {"free"}
    assert local(VISIT_DAY, 10) in starts(found)


def test_time_off_offers_nothing(world):
    TimeOffFactory(doctor=world.doctor, starts_at=local(VISIT_DAY, 9), ends_at=local(VISIT_DAY, 13))
    found = slots(world.client("patient"), world.doctor, world.clinic, start="eq2026-12-03")
    assert [(slot.status, slot.start) for slot in found] == [("busy", local(VISIT_DAY, 10))]


@pytest.mark.parametrize(("status", "count"), [("busy-tentative", 0), ("free,busy", None)])
def test_other_fhir_statuses_find_nothing_here(world, status, count):
    found = slots(world.client("patient"), world.doctor, world.clinic, status=status)
    everything = slots(world.client("patient"), world.doctor, world.clinic)
    assert len(found) == (len(everything) if count is None else count)


def test_a_slot_in_london_is_in_londons_time(world):
    found = slots(world.client("patient"), world.doctor, world.london, start="ge2026-12-06")
    first = found[0]
    assert first.start == dt.datetime(2026, 12, 6, 10, tzinfo=LONDON)
    assert first.start.utcoffset() == dt.timedelta(0)
    # The lunch break offers nothing.
    assert dt.datetime(2026, 12, 6, 12, 30, tzinfo=LONDON) not in starts(found)


# Slot: the range ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "first", "last"),
    [
        ([], (TODAY, 10, 30), (TODAY + dt.timedelta(days=6), 12, 45)),  # 7 days
        (["eq2026-12-03"], (VISIT_DAY, 9), (VISIT_DAY, 12, 45)),
        (["ge2026-12-03", "lt2026-12-04"], (VISIT_DAY, 9), (VISIT_DAY, 12, 45)),
        (["gt2026-12-02", "le2026-12-03"], (VISIT_DAY, 9), (VISIT_DAY, 12, 45)),
        (
            ["ge2026-12-03T10:00:00+05:30", "le2026-12-03T11:00:00+05:30"],
            (VISIT_DAY, 10),
            (VISIT_DAY, 11),
        ),
        (
            ["gt2026-12-03T04:30:00Z", "lt2026-12-03T05:30Z"],
            (VISIT_DAY, 10, 15),
            (VISIT_DAY, 10, 45),
        ),
        (["eq2026-12-03T10:00:00+05:30"], (VISIT_DAY, 10), (VISIT_DAY, 10)),
        (["ge2026-12-30"], (dt.date(2026, 12, 30), 9), (dt.date(2026, 12, 31), 12, 45)),
        (["lt2026-12-02"], (TODAY, 10, 30), (TODAY, 12, 45)),
    ],
)
def test_start_narrows_the_range(world, start, first, last):
    client = world.client("desk")
    query = "&".join(f"start={value.replace('+', '%2B')}" for value in start)
    path = f"{BASE}Slot?schedule={schedule_of(world.doctor, world.clinic)}&_count=100"
    bundle = parsed(client.get(f"{path}&{query}" if query else path))
    found = starts(entries(bundle))
    assert found[0] == local(*first)
    assert found[-1] == local(*last)


@pytest.mark.parametrize(
    "start",
    [
        "ge2026-11-30",  # yesterday
        "le2027-01-01",  # after the window
        "ge2026-12-01T03:00:00Z",  # 08:30 today in Bengaluru: inside, answered below
        "9999-12-31",
        "ge9999-12-31T23:59:59+14:00",
        "0001-01-01",
        "ge0001-01-01T00:00:00-12:00",
        "ge2026-12-03T10:00:00",  # no offset
        "ge2026-12-03T10:00:00+99:00",
        "ge2026-02-30",
        "ge2026-12",
        "ne2026-12-03",
        "sa2026-12-03",
        "tomorrow",
        "ge",
        "",
        "ge2026-12-03\n",
        "ge٢٠٢٦-١٢-٠٣",
    ],
)
def test_a_start_outside_the_window_or_unreadable_is_400(world, start):
    client = world.client("patient")
    response = client.get(
        BASE + "Slot", {"schedule": schedule_of(world.doctor, world.clinic), "start": start}
    )
    if start in ("", "ge2026-12-01T03:00:00Z"):
        # An empty value is ignored; 08:30 today in Bengaluru is inside the window.
        assert parsed(response).type == "searchset"
    else:
        problem = assert_outcome(response, 400)
        assert problem.code in ("invalid", "not-supported")


# Slot: the schedule and ids -----------------------------------------------------------------------


def test_schedule_is_required(world):
    response = world.client("patient").get(BASE + "Slot", {"status": "free"})
    assert_outcome(response, 400, "required", "required")


@pytest.mark.parametrize("schedule", ["Practitioner/1", "Schedule/1-1,Schedule/1-2", "a/b/c"])
def test_schedule_is_one_schedule(world, schedule):
    response = world.client("patient").get(BASE + "Slot", {"schedule": schedule})
    assert_outcome(response, 400, "invalid")


@pytest.mark.parametrize("schedule", ["Schedule/abc", "Schedule/9-9", "1", "Schedule/1-1-1"])
def test_a_schedule_that_is_not_there_has_no_slots(world, schedule):
    assert search(world.client("patient"), "Slot", schedule=schedule).total == 0


def test_status_must_be_a_slot_status(world):
    response = world.client("patient").get(
        BASE + "Slot", {"schedule": schedule_of(world.doctor, world.clinic), "status": "open"}
    )
    assert_outcome(response, 400, "invalid")


def test_slot_ids_name_the_apis_slot(world):
    found = slots(world.client("patient"), world.doctor, world.clinic, start="eq2026-12-03")
    for slot in found:
        parsed_id = parse_slot_id(slot.id)
        assert (parsed_id.doctor_id, parsed_id.clinic_id) == (world.doctor.pk, world.clinic.pk)
        assert parsed_id.start == slot.start
        assert slot_id(world.doctor.pk, world.clinic.pk, parsed_id.start) == slot.id
        assert as_api_slot_id(slot.id, world.doctor, world.clinic) == api_slot_id(
            world.doctor, world.clinic, slot.start
        )


def test_a_slot_is_found_by_its_id(world):
    client = world.client("patient")
    wanted = slots(client, world.doctor, world.clinic, start="eq2026-12-03")[3]
    found = slots(client, world.doctor, world.clinic, _id=f"{wanted.id},1-1-20261203T0000Z")
    assert [slot.id for slot in found] == [wanted.id]
    assert found[0].start == wanted.start


@pytest.mark.parametrize(
    "value", ["", "1-1", "1:1:2026-12-03T04:30Z", "0-1-20261203T0430Z", "1-1-99991301T2500Z", "x"]
)
def test_parse_slot_id_refuses_what_is_not_one(value):
    with pytest.raises(ValueError):
        parse_slot_id(value)


def test_parse_slot_id_refuses_years_past_the_sane_ones():
    with pytest.raises(ValueError):
        parse_slot_id("1-1-00010101T0000Z")


# Queries ------------------------------------------------------------------------------------------


def test_a_slot_search_costs_the_same_queries_however_many_slots(world):
    client = world.client("integration")
    params = {"schedule": schedule_of(world.doctor, world.clinic), "_count": 100}
    client.get(BASE + "metadata")

    def count(**extra):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(BASE + "Slot", {**params, **extra}).status_code == 200
        return len(queries)

    one_day = count(start="eq2026-12-03")
    for hour in (11, 12):
        AppointmentFactory(doctor=world.doctor, clinic=world.clinic, start=local(VISIT_DAY, hour))
    TimeOffFactory(doctor=world.doctor, starts_at=local(TODAY, 11), ends_at=local(TODAY, 12))
    assert count(start="eq2026-12-03") == one_day
    assert count(start=["ge2026-12-01", "le2026-12-31"]) == one_day


def test_a_schedule_search_costs_the_same_queries(world):
    client = world.client("integration")
    client.get(BASE + "metadata")
    with CaptureQueriesContext(connection) as few:
        search(client, "Schedule")
    AppointmentFactory(doctor=world.other_doctor, clinic=world.clinic, start=local(VISIT_DAY, 9))
    with CaptureQueriesContext(connection) as more:
        search(client, "Schedule", actor=f"Location/{world.clinic.pk}")
    assert len(more) == len(few)
