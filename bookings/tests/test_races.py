"""Concurrent bookings on PostgreSQL: real threads, each with its own database connection.

SQLite serialises whole transactions and ignores SELECT ... FOR UPDATE, so these tests only mean
something on PostgreSQL; elsewhere they are skipped (and CI, which runs PostgreSQL, fails on skips).
"""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from accounts.tests.factories import PatientFactory, UserFactory
from bookings import services
from bookings.models import Appointment, AppointmentType, PaymentMode, Status
from bookings.scheduling import at
from bookings.services import (
    NotAllowed,
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from clinic.tests.concurrency import (
    WAIT_SECONDS,
    backend_pid,
    run_concurrently,
    until,
    waits_for_a_lock,
)
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

# serialized_rollback like every transactional test here: each starts from the migrated data (roles
# included) and none recreates content types under new ids for the next to trip over.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KOLKATA = ZoneInfo("Asia/Kolkata")
KATHMANDU = ZoneInfo("Asia/Kathmandu")  # UTC+05:45, a quarter of an hour ahead of Kolkata
MONDAY = dt.date(2030, 1, 7)
TUESDAY = MONDAY + dt.timedelta(days=1)
NOW = at(MONDAY, dt.time(8), KOLKATA)


@pytest.fixture(autouse=True)
def postgresql_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL (set DATABASE_URL)")
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4


def tuesday(hour, minute=0, zone=KOLKATA):
    return at(TUESDAY, dt.time(hour, minute), zone)


def make_doctor(*, slot_minutes=15, department=None):
    return DoctorFactory(
        slot_minutes=slot_minutes,
        department=department or DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )


def works_on_tuesday(doctor, clinic, starts_at=dt.time(9), ends_at=dt.time(12)):
    WorkingHoursFactory(
        doctor=doctor,
        clinic=clinic,
        weekday=TUESDAY.weekday(),
        starts_at=starts_at,
        ends_at=ends_at,
    )


def book(patient, doctor, clinic, start):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user,
        now=NOW,
    )


def only_booking_errors_besides(outcomes, successes):
    """Checks that `successes` tasks succeeded and every other one lost with SlotUnavailable."""
    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, SlotUnavailable)
    ]
    assert not unexpected, unexpected
    won = [o for o in outcomes if isinstance(o, Appointment)]
    lost = [o for o in outcomes if isinstance(o, SlotUnavailable)]
    assert len(won) == successes, outcomes
    assert len(lost) == len(outcomes) - successes
    return won


# --- Tests ------------------------------------------------------------------------------------


def test_twenty_patients_booking_the_same_slot_at_once_get_exactly_one_appointment():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = make_doctor()
    works_on_tuesday(doctor, clinic)
    patients = [PatientFactory(with_account=True) for _ in range(20)]

    outcomes = run_concurrently(
        *(lambda patient=patient: book(patient, doctor, clinic, tuesday(9)) for patient in patients)
    )

    [winner] = only_booking_errors_besides(outcomes, successes=1)
    appointment = Appointment.objects.get()
    assert appointment.pk == winner.pk
    assert appointment.start == tuesday(9)
    assert appointment.patient_id == patients[outcomes.index(winner)].pk


def test_one_patient_booking_many_times_at_once_cannot_exceed_the_cap(settings):
    """Eight doctors, so only the lock on the patient's row keeps the count of open appointments
    and the new booking together."""
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 3
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctors = [make_doctor() for _ in range(8)]
    for doctor in doctors:
        works_on_tuesday(doctor, clinic)
    patient = PatientFactory(with_account=True)

    outcomes = run_concurrently(
        *(lambda doctor=doctor: book(patient, doctor, clinic, tuesday(9)) for doctor in doctors)
    )

    refused = [o for o in outcomes if isinstance(o, NotAllowed)]
    assert all(isinstance(o, (Appointment, NotAllowed)) for o in outcomes), outcomes
    assert len(refused) == 5
    assert all("already have 3 upcoming" in str(error) for error in refused)
    assert Appointment.objects.filter(patient=patient).count() == 3


def test_overlapping_slots_with_different_starts_cannot_both_be_booked_at_once():
    """A doctor works at two clinics a quarter of an hour apart in time zone: until 12:00 in
    Kolkata, from 12:00 in Kathmandu (valid hours: they do not overlap on the wall clock). With
    30-minute slots, Kolkata's 11:30-12:00 is 06:00-06:30 UTC and Kathmandu's 12:00-12:30 is
    06:15-06:45 UTC. The starts differ, so the unique (doctor, start) constraint cannot refuse the
    second; only the lock on the doctor's row, taken before the overlap check, can."""
    doctor = make_doctor(slot_minutes=30)
    kolkata = ClinicFactory(timezone="Asia/Kolkata")
    kathmandu = ClinicFactory(timezone="Asia/Kathmandu")
    works_on_tuesday(doctor, kolkata, dt.time(9), dt.time(12))
    works_on_tuesday(doctor, kathmandu, dt.time(12), dt.time(15))
    late_morning_in_kolkata = tuesday(11, 30, KOLKATA)
    noon_in_kathmandu = tuesday(12, 0, KATHMANDU)
    assert (
        late_morning_in_kolkata
        < noon_in_kathmandu
        < late_morning_in_kolkata + dt.timedelta(minutes=30)
    )
    requests = [
        (PatientFactory(with_account=True), kolkata, late_morning_in_kolkata)
        if n % 2
        else (PatientFactory(with_account=True), kathmandu, noon_in_kathmandu)
        for n in range(20)
    ]

    outcomes = run_concurrently(
        *(lambda p=p, c=c, s=s: book(p, doctor, c, s) for p, c, s in requests)
    )

    only_booking_errors_besides(outcomes, successes=1)
    [appointment] = Appointment.objects.all()
    assert appointment.start in (late_morning_in_kolkata, noon_in_kathmandu)
    assert appointment.end - appointment.start == dt.timedelta(minutes=30)


def test_a_move_racing_bookings_of_the_same_slot_leaves_one_winner_and_the_losers_intact():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = make_doctor()
    works_on_tuesday(doctor, clinic)
    mover = PatientFactory(with_account=True)
    current = book(mover, doctor, clinic, tuesday(9))

    for target in (tuesday(10), tuesday(10, 15), tuesday(10, 30), tuesday(10, 45)):
        bookers = [PatientFactory(with_account=True) for _ in range(3)]
        outcomes = run_concurrently(
            lambda current=current, target=target: reschedule_appointment(
                appointment=current, start=target, by=mover.user, now=NOW
            ),
            *(
                lambda patient=patient, target=target: book(patient, doctor, clinic, target)
                for patient in bookers
            ),
        )

        [winner] = only_booking_errors_besides(outcomes, successes=1)
        assert Appointment.objects.holding_slots().filter(start=target).get().pk == winner.pk
        before = Appointment.objects.get(pk=current.pk)
        if winner is outcomes[0]:  # the move won: the old time is released, linked to the new
            assert before.status == Status.CANCELLED
            assert Appointment.objects.get(pk=winner.pk).rescheduled_from_id == current.pk
            assert not Appointment.objects.filter(patient__in=bookers).exists()
            current = winner
        else:  # a booking won: the appointment to move is untouched and nothing new was saved
            assert before.status == Status.BOOKED
            assert before.cancelled_at is None
            assert not Appointment.objects.filter(rescheduled_from=current).exists()
            assert Appointment.objects.filter(patient=mover).count() == (
                Appointment.objects.filter(patient=mover, status=Status.CANCELLED).count() + 1
            )
        assert Appointment.objects.holding_slots().filter(patient=mover).get().pk == current.pk


def test_a_cancellation_and_a_move_of_the_same_appointment_do_not_deadlock(monkeypatch):
    """The move locks the patient, then the doctor, then the appointment. A cancellation that
    locked the appointment and then waited for the patient would deadlock with it (PostgreSQL
    would kill one of them: a server error). Here the move pauses while holding the patient and
    doctor, until the cancellation has finished or is seen waiting for a lock."""
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = make_doctor()
    works_on_tuesday(doctor, clinic)
    patient = PatientFactory(with_account=True)
    appointment = book(patient, doctor, clinic, tuesday(9))
    front_desk = UserFactory()

    mover_holds_locks = threading.Event()
    cancel_finished = threading.Event()
    canceller_pid = []
    real_lock = services._lock

    def lock_then_pause(*args):
        locked = real_lock(*args)
        mover_holds_locks.set()
        until(lambda: cancel_finished.is_set() or waits_for_a_lock(canceller_pid))
        return locked

    monkeypatch.setattr(services, "_lock", lock_then_pause)

    def move():
        return reschedule_appointment(
            appointment=appointment, start=tuesday(10), by=patient.user, now=NOW
        )

    def cancel():
        canceller_pid.append(backend_pid())
        try:
            assert mover_holds_locks.wait(WAIT_SECONDS)
            return cancel_appointment(appointment=appointment, by=front_desk, now=NOW)
        finally:
            cancel_finished.set()

    moved, cancelled = run_concurrently(move, cancel)

    assert isinstance(cancelled, Appointment), cancelled
    assert isinstance(moved, NotAllowed), moved  # it found the appointment already cancelled
    [only] = Appointment.objects.all()
    assert only.status == Status.CANCELLED
    assert only.cancelled_by == front_desk


def second_while_first_pauses(monkeypatch, *, first, second, pausing_doctor):
    """Runs `first` until it asks whether `pausing_doctor`'s slot is free (all its locks taken),
    then runs `second` while `first` waits; `first` resumes once `second` has finished or is seen
    blocked on a lock. Returns both outcomes and whether `second` was blocked."""
    first_holds_locks = threading.Event()
    second_finished = threading.Event()
    second_pid = []
    second_was_blocked = []
    real_requested_slot = services.requested_slot

    def pausing_requested_slot(**kwargs):
        if kwargs["doctor"].pk == pausing_doctor.pk and not first_holds_locks.is_set():
            first_holds_locks.set()
            until(lambda: second_finished.is_set() or waits_for_a_lock(second_pid))
            second_was_blocked.append(not second_finished.is_set())
        return real_requested_slot(**kwargs)

    monkeypatch.setattr(services, "requested_slot", pausing_requested_slot)

    def run_second():
        second_pid.append(backend_pid())
        try:
            assert first_holds_locks.wait(WAIT_SECONDS)
            return second()
        finally:
            second_finished.set()

    first_outcome, second_outcome = run_concurrently(first, run_second)
    return first_outcome, second_outcome, second_was_blocked == [True]


def test_a_booking_in_progress_does_not_hold_up_another_doctor_of_the_same_department(
    monkeypatch,
):
    """The doctor's row lock must be the doctor's alone: locking the department row with it would
    queue every booking in the department behind one another."""
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    department = DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20))
    busy_doctor = make_doctor(department=department)
    other_doctor = make_doctor(department=department)
    works_on_tuesday(busy_doctor, clinic)
    works_on_tuesday(other_doctor, clinic)
    first_patient, second_patient = (PatientFactory(with_account=True) for _ in range(2))

    first, second, second_was_blocked = second_while_first_pauses(
        monkeypatch,
        first=lambda: book(first_patient, busy_doctor, clinic, tuesday(9)),
        second=lambda: book(second_patient, other_doctor, clinic, tuesday(9)),
        pausing_doctor=busy_doctor,
    )

    assert isinstance(first, Appointment), first
    assert isinstance(second, Appointment), second
    assert not second_was_blocked


def test_a_move_in_progress_does_not_hold_up_bookings_at_the_same_clinic(monkeypatch):
    """Locking the clinic's row along with the appointment being moved would block every
    booking at the clinic (an insert needs a key-share lock on the clinic it refers to)."""
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    moving_doctor, other_doctor = make_doctor(), make_doctor()
    works_on_tuesday(moving_doctor, clinic)
    works_on_tuesday(other_doctor, clinic)
    mover, booker = (PatientFactory(with_account=True) for _ in range(2))
    appointment = book(mover, moving_doctor, clinic, tuesday(9))

    moved, booked, booking_was_blocked = second_while_first_pauses(
        monkeypatch,
        first=lambda: reschedule_appointment(
            appointment=appointment, start=tuesday(10), by=mover.user, now=NOW
        ),
        second=lambda: book(booker, other_doctor, clinic, tuesday(9)),
        pausing_doctor=moving_doctor,
    )

    assert isinstance(moved, Appointment), moved
    assert isinstance(booked, Appointment), booked
    assert not booking_was_blocked
