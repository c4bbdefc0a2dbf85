"""Appointment read and search: who reaches which (the JSON API's rule), the mapping (statuses,
participants, the Slot, UTC times, types, the department), and searches by patient,
practitioner, date, status and _id at a fixed cost."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import services
from bookings.models import AppointmentType, Status
from bookings.tests.factories import AppointmentFactory
from fhir.appointments import STATUSES
from fhir.schedules import slot_id
from fhir.tests.world import (
    BASE,
    LONDON,
    TODAY,
    VISIT_DAY,
    assert_outcome,
    ids,
    local,
    parsed,
    post_search,
    search,
)

pytestmark = pytest.mark.django_db

V2 = "http://terminology.hl7.org/CodeSystem/v2-0276"
OURS = "https://clinic.example/fhir"


def read(world, role, appointment):
    return world.client(role).get(f"{BASE}Appointment/{appointment.pk}")


def book(world, patient, day, hour, minute=0, doctor=None, **fields):
    return AppointmentFactory(
        patient=patient,
        doctor=doctor or world.doctor,
        clinic=world.clinic,
        start=local(day, hour, minute),
        created_by=world.users["desk"],
        **fields,
    )


# Who reaches which --------------------------------------------------------------------------------

READ_OUTCOMES = {
    "anon": 401,
    "patient": 200,
    "other_patient": 404,
    "doctor": 200,
    "other_doctor": 404,
    "desk": 200,
    "admin": 200,
    "integration": 200,
}


@pytest.mark.parametrize(("role", "status"), READ_OUTCOMES.items())
def test_each_role_reads_as_the_api_lets_it(world, role, status):
    response = read(world, role, world.appointment)
    if status == 200:
        assert parsed(response).id == str(world.appointment.pk)
    else:
        assert_outcome(response, status)


@pytest.mark.parametrize("role", READ_OUTCOMES)
def test_each_role_searches_what_it_reaches(world, role):
    theirs = book(world, world.other_patient, VISIT_DAY, 11, doctor=world.other_doctor)
    if role == "anon":
        assert_outcome(world.client(role).get(BASE + "Appointment"), 401, "login")
        return
    found = set(ids(search(world.client(role), "Appointment")))
    mine, other = str(world.appointment.pk), str(theirs.pk)
    expected = {
        "patient": {mine},
        "other_patient": {other},
        "doctor": {mine},
        "other_doctor": {other},
    }.get(role, {mine, other})
    assert found == expected


def test_an_inactive_doctor_reaches_nothing(world):
    world.doctor.is_active = False
    world.doctor.save()
    assert_outcome(read(world, "doctor", world.appointment), 404)
    assert search(world.client("doctor"), "Appointment").total == 0


@pytest.mark.parametrize("value", ["0", "x", "9" * 12, "1-2", "_search"])
def test_an_id_that_is_not_ours_is_404(world, value):
    response = world.client("desk").get(f"{BASE}Appointment/{value}")
    if value == "_search":
        assert_outcome(response, 405, "not-supported")
    else:
        assert_outcome(response, 404, "not-found")


# The mapping --------------------------------------------------------------------------------------


def test_every_status_of_ours_has_its_fhir_status():
    assert set(STATUSES) == set(Status)
    assert STATUSES == {
        Status.BOOKED: "booked",
        Status.CHECKED_IN: "arrived",
        Status.COMPLETED: "fulfilled",
        Status.CANCELLED: "cancelled",
        Status.NO_SHOW: "noshow",
    }


@pytest.mark.parametrize("status", list(Status))
def test_each_status_is_read_as_fhirs(world, status):
    record = book(world, world.patient, VISIT_DAY, 11, status=status)
    assert parsed(read(world, "desk", record)).status == STATUSES[status]


def test_the_resource_names_patient_doctor_clinic_slot_and_times_in_utc(world):
    record = world.appointment
    resource = parsed(read(world, "patient", record))
    actors = {p.actor.reference: p for p in resource.participant}
    assert set(actors) == {
        f"Patient/{record.patient_id}",
        f"Practitioner/{world.doctor.pk}",
        f"Location/{world.clinic.pk}",
    }
    # The patient is a reference only: nothing personal in an appointment.
    assert actors[f"Patient/{record.patient_id}"].actor.display is None
    assert actors[f"Practitioner/{world.doctor.pk}"].actor.display == world.doctor.full_name
    assert all(p.status == "accepted" for p in resource.participant)
    assert [s.reference for s in resource.slot] == [
        f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, record.start)}"
    ]
    assert resource.start == record.start and resource.end == record.end
    assert resource.start.utcoffset() == dt.timedelta(0)
    assert resource.minutesDuration == (record.end - record.start).seconds // 60
    department = f"{OURS}/department"
    for concepts in (resource.serviceType, resource.specialty):
        assert [(c.system, c.code) for c in concepts[0].coding] == [
            (department, str(world.department.pk))
        ]


def test_the_slot_reference_is_the_slot_a_search_finds_busy(world):
    resource = parsed(read(world, "desk", world.appointment))
    slots = search(
        world.client("desk"),
        "Slot",
        schedule=f"Schedule/{world.doctor.pk}-{world.clinic.pk}",
        status="busy",
        start=VISIT_DAY.isoformat(),
    )
    assert [f"Slot/{entry.resource.id}" for entry in slots.entry] == [resource.slot[0].reference]


@pytest.mark.parametrize(
    ("kind", "v2"),
    [
        (AppointmentType.CONSULTATION, "ROUTINE"),
        (AppointmentType.FOLLOW_UP, "FOLLOWUP"),
        (AppointmentType.HEALTH_CHECK, "CHECKUP"),
        (AppointmentType.REPORT_REVIEW, None),
    ],
)
def test_the_type_is_v2_0276_where_one_matches_and_always_ours(world, kind, v2):
    record = book(world, world.patient, VISIT_DAY, 11, appointment_type=kind)
    concept = parsed(read(world, "desk", record)).appointmentType
    codings = [(c.system, c.code) for c in concept.coding]
    expected = [(V2, v2)] if v2 else []
    assert codings == [*expected, (f"{OURS}/appointment-type", kind.value)]
    assert concept.text == kind.label


def test_reason_and_cancellation_reason_are_texts(world):
    record = book(world, world.patient, VISIT_DAY, 11, reason="Ear ache")
    services.cancel_appointment(appointment=record, by=world.users["desk"], reason="Unwell")
    resource = parsed(read(world, "patient", record))
    assert resource.reasonCode[0].text == "Ear ache"
    assert resource.status == "cancelled"
    assert resource.cancelationReason.text == "Unwell"


def test_a_moved_appointment_and_its_replacement_point_at_each_other(world):
    moved = services.reschedule_appointment(
        appointment=world.appointment, start=local(VISIT_DAY, 11), by=world.users["desk"]
    )
    old = parsed(read(world, "patient", world.appointment))
    new = parsed(read(world, "patient", moved))
    assert old.status == "cancelled"
    assert [(e.url, e.valueReference.reference) for e in old.extension] == [
        (f"{OURS}/StructureDefinition/appointment-replaced-by", f"Appointment/{moved.pk}")
    ]
    assert [(e.url, e.valueReference.reference) for e in new.extension] == [
        (
            "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.replaces",
            f"Appointment/{world.appointment.pk}",
        )
    ]


def test_a_read_is_recorded_in_the_audit_trail(world):
    parsed(read(world, "doctor", world.appointment))
    assert LogEntry.objects.filter(
        object_pk=str(world.appointment.pk), action=LogEntry.Action.ACCESS
    ).exists()


# Search -------------------------------------------------------------------------------------------


@pytest.fixture
def week(world):
    """Appointments over the week, in time order: the world's on Thursday 10:00 and these."""
    return {
        "wed": book(world, world.walk_in, TODAY + dt.timedelta(days=1), 9),
        "thu_other": book(world, world.other_patient, VISIT_DAY, 9, doctor=world.other_doctor),
        "thu": world.appointment,
        "fri_cancelled": book(
            world, world.walk_in, VISIT_DAY + dt.timedelta(days=1), 12, status=Status.CANCELLED
        ),
    }


def found(world, **params):
    return ids(search(world.client("desk"), "Appointment", **params))


def pks(week, *names):
    return [str(week[name].pk) for name in names]


def test_search_is_in_time_order(world, week):
    assert found(world) == pks(week, "wed", "thu_other", "thu", "fri_cancelled")


def test_search_by_patient_and_practitioner(world, week):
    assert found(world, patient=f"Patient/{world.walk_in.pk}") == pks(week, "wed", "fri_cancelled")
    assert found(world, patient=str(world.patient.pk)) == pks(week, "thu")
    assert found(world, practitioner=f"Practitioner/{world.other_doctor.pk}") == pks(
        week, "thu_other"
    )
    both = f"Patient/{world.patient.pk},Patient/{world.other_patient.pk}"
    assert found(world, patient=both) == pks(week, "thu_other", "thu")
    assert found(world, patient="Patient/999999") == []
    response = world.client("desk").get(BASE + "Appointment", {"patient": "Practitioner/1"})
    assert_outcome(response, 400, "invalid")


def test_search_by_status(world, week):
    assert found(world, status="cancelled") == pks(week, "fri_cancelled")
    assert found(world, status="booked,cancelled") == pks(
        week, "wed", "thu_other", "thu", "fri_cancelled"
    )
    assert found(world, status="waitlist") == []
    response = world.client("desk").get(BASE + "Appointment", {"status": "free"})
    assert_outcome(response, 400, "invalid")


def test_search_by_a_clinic_day(world, week):
    assert found(world, date=VISIT_DAY.isoformat()) == pks(week, "thu_other", "thu")
    assert found(world, date=f"eq{VISIT_DAY}") == pks(week, "thu_other", "thu")
    assert found(world, date=f"gt{VISIT_DAY}") == pks(week, "fri_cancelled")
    assert found(world, date=f"lt{VISIT_DAY}") == pks(week, "wed")
    ranged = [f"ge{VISIT_DAY}", f"le{VISIT_DAY + dt.timedelta(days=1)}"]
    assert found(world, date=ranged) == pks(week, "thu_other", "thu", "fri_cancelled")


def test_a_day_is_each_clinics_own(world, week):
    """Sunday 6 December 00:30 in London is Saturday in no zone but London's: a date search
    counts it on Sunday, as the clinic does."""
    late = AppointmentFactory(
        patient=world.walk_in,
        doctor=world.doctor,
        clinic=world.london,
        start=dt.datetime(2026, 12, 6, 0, 30, tzinfo=LONDON),
        created_by=world.users["desk"],
    )
    assert str(late.pk) in found(world, date="2026-12-06")
    assert str(late.pk) not in found(world, date="2026-12-05")


def test_search_by_a_time_with_an_offset(world, week):
    start = world.appointment.start
    assert found(world, date=start.isoformat()) == pks(week, "thu")
    assert found(world, date=f"ge{start.isoformat()}") == pks(week, "thu", "fri_cancelled")
    assert found(world, date=f"gt{start.isoformat()}") == pks(week, "fri_cancelled")
    assert found(world, date=f"lt{start.astimezone(dt.UTC).isoformat()}") == pks(
        week, "wed", "thu_other"
    )


@pytest.mark.parametrize(
    "value",
    [
        "2026-12",
        "2026-12-03T10:00",
        "2026-12-03T10:00:00",
        "ne2026-12-03",
        "sa2026-12-03",
        "2026-02-30",
        "9999-12-31",
        "ge0001-01-01",
        "2026-12-03T25:00:00Z",
        "tomorrow",
    ],
)
def test_a_date_it_cannot_read_is_400(world, value):
    response = world.client("desk").get(BASE + "Appointment", {"date": value})
    assert_outcome(response, 400)


def test_search_by_id_and_paging(world, week):
    assert found(world, _id=f"{week['wed'].pk},{week['thu'].pk},x") == pks(week, "wed", "thu")
    bundle = search(world.client("desk"), "Appointment", _count=3)
    assert bundle.total == 4 and len(bundle.entry) == 3
    (next_link,) = [link.url for link in bundle.link if link.relation == "next"]
    rest = parsed(world.client("desk").get(next_link))
    assert ids(rest) == pks(week, "fri_cancelled")


def test_a_patient_searching_anothers_appointments_finds_nothing(world, week):
    client = world.client("patient")
    assert search(client, "Appointment", patient=f"Patient/{world.walk_in.pk}").total == 0


def test_posted_search_finds_the_same(world, week):
    posted = parsed(post_search(world.client("desk"), "Appointment", {"status": "cancelled"}))
    assert ids(posted) == pks(week, "fri_cancelled")


# Cost ---------------------------------------------------------------------------------------------


def queries_of(client, **params):
    with CaptureQueriesContext(connection) as queries:
        search(client, "Appointment", **params)
    return len(queries.captured_queries)


@pytest.mark.parametrize("role", ["patient", "doctor", "desk"])
def test_a_search_costs_the_same_however_many_it_finds(world, role):
    client = world.client(role)
    client.get(BASE + "metadata")
    params = {"date": f"ge{TODAY}", "status": "booked,cancelled"}
    few = queries_of(client, **params)
    days = [VISIT_DAY + dt.timedelta(days=n) for n in range(1, 10)]
    for n, day in enumerate(d for d in days if d.weekday() != 6):  # no hours on Sundays
        record = book(world, world.patient, day, 9)
        if n % 2:  # moved: a cancelled one replaced by another
            services.reschedule_appointment(
                appointment=record, start=local(day, 10), by=world.users["desk"]
            )
    assert queries_of(client, **params) == few
