"""Holds racing each other and bookings on PostgreSQL: real threads, each with its own connection.

A hold takes the doctor's row lock a booking takes, so holds and bookings of one doctor run one
after another: whichever comes first wins, and the other hears "taken" (never a server error).
A booking with a hold locks the hold too, read again under the doctor's lock: a hold let go or
cleaned away meanwhile is refused (HoldExpired), never booked after it was gone.
Elsewhere than PostgreSQL these are skipped (CI, which runs PostgreSQL, fails on skips).
"""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from accounts.tests.factories import PatientFactory
from bookings.models import Appointment, AppointmentType, HoldPurpose, PaymentMode, SlotHold
from bookings.scheduling import at
from bookings.services import (
    HoldExpired,
    SlotHeld,
    SlotUnavailable,
    book_appointment,
    delete_expired_holds,
    hold_for_booking_page,
    hold_slot,
    release_hold,
    reschedule_appointment,
)
from clinic.tests.concurrency import (
    WAIT_SECONDS,
    backend_pid,
    postgresql_only,
    run_concurrently,
    until,
    waits_for_a_lock,
)
from doctors.models import Doctor
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


def book(patient, doctor, clinic, start, now=NOW, hold=None):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user,
        now=now,
        hold=hold,
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


# A hold let go or cleaned away while a booking with it is on its way ---------------------------


def test_a_booking_with_a_hold_racing_the_clean_up_of_its_expiry_books_only_a_hold_still_there(
    doctor, clinic
):
    """The booking started at the hold's last moments (`NOW`, live); the periodic clean-up runs
    a moment later (expired). Either the booking locked the hold first (and consumed it; the
    clean-up skipped it) or the clean-up deleted it first (and the booking is refused): never a
    booking with a hold the clean-up deleted."""
    for round_number in range(ROUNDS):
        start = tuesday(9) + dt.timedelta(minutes=15 * round_number)
        holder = PatientFactory(with_account=True)
        held = hold(holder, doctor, clinic, start, now=NOW - dt.timedelta(minutes=9))
        cleaned_at = held.expires_at

        booked, cleaned = run_concurrently(
            lambda holder=holder, start=start, held=held: book(
                holder, doctor, clinic, start, hold=held
            ),
            lambda cleaned_at=cleaned_at: delete_expired_holds(cleaned_at),
        )

        assert not unexpected([booked, cleaned], HoldExpired), (booked, cleaned)
        assert (isinstance(booked, Appointment), cleaned) in ((True, 0), (False, 1)), (
            booked,
            cleaned,
        )
        assert Appointment.objects.filter(start=start).exists() == isinstance(booked, Appointment)
        assert not SlotHold.objects.filter(pk=held.pk).exists()


def while_the_doctor_is_locked(doctor, booking, let_go):
    """Runs `booking` while another transaction holds `doctor`'s row lock; once the booking is
    seen waiting for that lock (past any lookup of its hold), `let_go` runs in a transaction of
    its own, and then the doctor's lock is let go. Returns what the booking returned or raised."""
    booker_pid = []
    doctor_locked, hold_let_go = threading.Event(), threading.Event()

    def lock_the_doctor():
        with transaction.atomic():
            Doctor.objects.select_for_update().get(pk=doctor.pk)
            doctor_locked.set()
            assert hold_let_go.wait(WAIT_SECONDS)

    def book_after_the_lock():
        booker_pid.append(backend_pid())
        assert doctor_locked.wait(WAIT_SECONDS)
        return booking()

    def let_go_meanwhile():
        assert doctor_locked.wait(WAIT_SECONDS)
        until(lambda: waits_for_a_lock(booker_pid))
        try:
            return let_go()
        finally:
            hold_let_go.set()

    locked, booked, gone = run_concurrently(lock_the_doctor, book_after_the_lock, let_go_meanwhile)
    assert not isinstance(locked, BaseException), locked
    assert not isinstance(gone, BaseException), gone
    return booked


def released(held):
    return lambda: release_hold(hold=held, by=held.held_by)


def cleaned_up(held):
    return lambda: delete_expired_holds(held.expires_at)


@pytest.mark.parametrize("let_go", [released, cleaned_up])
def test_a_hold_let_go_while_its_booking_waits_for_the_doctor_books_nothing(doctor, clinic, let_go):
    holder = PatientFactory(with_account=True)
    held = hold(holder, doctor, clinic, tuesday(9))

    booked = while_the_doctor_is_locked(
        doctor, lambda: book(holder, doctor, clinic, tuesday(9), hold=held), let_go(held)
    )

    assert isinstance(booked, HoldExpired), booked
    assert not Appointment.objects.exists()
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize("let_go", [released, cleaned_up])
def test_a_hold_let_go_while_its_move_waits_for_the_doctor_moves_nothing(doctor, clinic, let_go):
    holder = PatientFactory(with_account=True)
    appointment = book(holder, doctor, clinic, tuesday(11))
    held = hold(holder, doctor, clinic, tuesday(9))

    moved = while_the_doctor_is_locked(
        doctor,
        lambda: reschedule_appointment(
            appointment=appointment, start=tuesday(9), by=holder.user, hold=held, now=NOW
        ),
        let_go(held),
    )

    assert isinstance(moved, HoldExpired), moved
    (still,) = Appointment.objects.all()
    assert (still.pk, still.start, still.status) == (appointment.pk, tuesday(11), "booked")
