"""Holds racing each other and bookings on PostgreSQL: real threads, each with its own connection.

A hold takes the doctor's row lock a booking takes, so holds and bookings of one doctor run one
after another: whichever comes first wins, and the other hears "taken" (never a server error).
Elsewhere than PostgreSQL these are skipped (CI, which runs PostgreSQL, fails on skips).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts.tests.factories import PatientFactory
from bookings.models import Appointment, AppointmentType, HoldPurpose, PaymentMode, SlotHold
from bookings.scheduling import at
from bookings.services import (
    SlotHeld,
    SlotUnavailable,
    book_appointment,
    delete_expired_holds,
    hold_for_booking_page,
    hold_slot,
)
from clinic.tests.concurrency import postgresql_only, run_concurrently
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)
TUESDAY = MONDAY + dt.timedelta(days=1)
NOW = at(MONDAY, dt.time(8), KOLKATA)
ROUNDS = 5


@pytest.fixture(autouse=True)
def on_postgresql(settings):
    postgresql_only()
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.SLOT_HOLD_MINUTES = 10


def tuesday(hour, minute=0):
    return at(TUESDAY, dt.time(hour, minute), KOLKATA)


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


def make_doctor(clinic):
    doctor = DoctorFactory(
        slot_minutes=15,
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )
    WorkingHoursFactory(
        doctor=doctor,
        clinic=clinic,
        weekday=TUESDAY.weekday(),
        starts_at=dt.time(9),
        ends_at=dt.time(12),
    )
    return doctor


@pytest.fixture
def doctor(clinic):
    return make_doctor(clinic)


def hold(patient, doctor, clinic, start, now=NOW):
    return hold_slot(
        doctor=doctor,
        clinic=clinic,
        start=start,
        by=patient.user,
        patient=patient,
        purpose=HoldPurpose.INTEGRATION,
        now=now,
    )


def book(patient, doctor, clinic, start, now=NOW):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user,
        now=now,
    )


def unexpected(outcomes, *allowed):
    return [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, allowed)]


def test_twenty_holds_racing_for_one_time_make_exactly_one(doctor, clinic):
    patients = [PatientFactory(with_account=True) for _ in range(20)]

    outcomes = run_concurrently(
        *(lambda p=p: hold(p, doctor, clinic, tuesday(9)) for p in patients)
    )

    assert not unexpected(outcomes, SlotHeld), outcomes
    won = [o for o in outcomes if isinstance(o, SlotHold)]
    assert len(won) == 1
    assert sum(isinstance(o, SlotHeld) for o in outcomes) == 19
    stored = SlotHold.objects.get()
    assert stored.pk == won[0].pk
    assert stored.patient_id == patients[outcomes.index(won[0])].pk


def test_a_hold_racing_a_booking_of_the_same_time_leaves_exactly_one_winner(doctor, clinic):
    for round_number in range(ROUNDS):
        start = tuesday(9) + dt.timedelta(minutes=15 * round_number)
        holder, booker = (PatientFactory(with_account=True) for _ in range(2))

        held, booked = run_concurrently(
            lambda holder=holder, start=start: hold(holder, doctor, clinic, start),
            lambda booker=booker, start=start: book(booker, doctor, clinic, start),
        )

        assert not unexpected([held, booked], SlotUnavailable), (held, booked)
        assert isinstance(held, SlotHold) != isinstance(booked, Appointment), (held, booked)
        holds = SlotHold.objects.filter(start=start)
        appointments = Appointment.objects.filter(start=start)
        if isinstance(held, SlotHold):  # the hold came first: the booking heard it is held
            assert isinstance(booked, SlotHeld)
            assert holds.count() == 1 and not appointments.exists()
        else:  # the booking came first: the hold found the time taken
            assert isinstance(held, SlotUnavailable) and not isinstance(held, SlotHeld)
            assert appointments.count() == 1 and not holds.exists()


def test_the_holder_and_a_stranger_booking_at_once_the_holder_always_wins(doctor, clinic):
    for round_number in range(ROUNDS):
        start = tuesday(9) + dt.timedelta(minutes=15 * round_number)
        holder, stranger = (PatientFactory(with_account=True) for _ in range(2))
        hold(holder, doctor, clinic, start)

        mine, theirs = run_concurrently(
            lambda holder=holder, start=start: book(holder, doctor, clinic, start),
            lambda stranger=stranger, start=start: book(stranger, doctor, clinic, start),
        )

        assert isinstance(mine, Appointment), mine
        assert isinstance(theirs, SlotHeld) or (
            # The stranger came second: the time is booked by then, not held.
            isinstance(theirs, SlotUnavailable)
        ), theirs
        assert Appointment.objects.get(start=start).patient_id == holder.pk
        assert not SlotHold.objects.filter(start=start).exists()


def test_a_booking_consuming_a_hold_and_the_same_person_s_next_confirm_page_do_not_collide(
    clinic,
):
    """The confirm page of another doctor releases the person's earlier hold (rows of a doctor
    whose lock it does not hold) while their booking consumes that same hold under its doctor's
    lock: neither may wait for the other in a cycle (PostgreSQL would kill one: a server error)."""
    first_doctor, second_doctor = make_doctor(clinic), make_doctor(clinic)
    for round_number in range(ROUNDS):
        start = tuesday(9) + dt.timedelta(minutes=15 * round_number)
        patient = PatientFactory(with_account=True)
        hold_for_booking_page(
            doctor=first_doctor,
            clinic=clinic,
            start=start,
            by=patient.user,
            patient=patient,
            now=NOW,
        )

        booked, next_page = run_concurrently(
            lambda patient=patient, start=start: book(patient, first_doctor, clinic, start),
            lambda patient=patient, start=start: hold_for_booking_page(
                doctor=second_doctor,
                clinic=clinic,
                start=start,
                by=patient.user,
                patient=patient,
                now=NOW,
            ),
        )

        assert isinstance(booked, Appointment), booked
        assert isinstance(next_page, SlotHold), next_page
        assert list(SlotHold.objects.filter(patient=patient)) == [next_page]


def test_cleaning_expired_holds_while_a_hold_cleans_its_doctor_s_is_never_an_error(doctor, clinic):
    later = NOW + dt.timedelta(minutes=30)
    for round_number in range(ROUNDS):
        for minute in range(0, 180, 15):  # the whole morning held, then expired
            hold(
                PatientFactory(with_account=True),
                doctor,
                clinic,
                tuesday(9, 0) + dt.timedelta(minutes=minute),
                now=NOW - dt.timedelta(minutes=60) + dt.timedelta(seconds=round_number),
            )
        patient = PatientFactory(with_account=True)

        cleaned, held = run_concurrently(
            lambda: delete_expired_holds(later),
            lambda patient=patient: hold(patient, doctor, clinic, tuesday(10), now=later),
        )

        assert not unexpected([cleaned, held]), (cleaned, held)
        assert isinstance(held, SlotHold)
        # Whoever got to each expired hold first deleted it; the sweep finishes what is left.
        delete_expired_holds(later)
        assert list(SlotHold.objects.all()) == [held]
        SlotHold.objects.all().delete()
