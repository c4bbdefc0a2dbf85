"""Visits of different lengths racing on PostgreSQL, and the exclusion constraint itself: real
threads, each with its own connection (skipped elsewhere, like bookings/tests/test_races.py)."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, AppointmentType, PaymentMode, Status
from bookings.scheduling import at
from bookings.services import (
    SlotUnavailable,
    _create,
    book_appointment,
    reschedule_appointment,
)
from clinic.tests.concurrency import postgresql_only, run_concurrently
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    VisitTypeFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)
TUESDAY = MONDAY + dt.timedelta(days=1)
NOW = at(MONDAY, dt.time(8), KOLKATA)


@pytest.fixture(autouse=True)
def on_postgresql(settings):
    postgresql_only()
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4


def tuesday(hour, minute=0):
    return at(TUESDAY, dt.time(hour, minute), KOLKATA)


@pytest.fixture
def setting():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
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
    return doctor, clinic


def book(patient, doctor, clinic, start, visit_type=None):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user,
        now=NOW,
        visit_type=visit_type,
    )


def one_winner(outcomes):
    assert all(isinstance(o, (Appointment, SlotUnavailable)) for o in outcomes), outcomes
    won = [o for o in outcomes if isinstance(o, Appointment)]
    assert len(won) == 1, outcomes
    return won[0]


def test_a_45_and_a_15_minute_visit_overlapping_at_different_starts_have_one_winner(setting):
    doctor, clinic = setting
    long = VisitTypeFactory(department=doctor.department, minutes=45)
    short = VisitTypeFactory(department=doctor.department, minutes=15)
    requests = [
        (long, tuesday(9)) if n % 2 else (short, tuesday(9, 30)) for n in range(12)
    ]  # 09:00-09:45 against 09:30-09:45

    outcomes = run_concurrently(
        *(
            lambda visit_type=visit_type, start=start: book(
                PatientFactory(with_account=True), doctor, clinic, start, visit_type
            )
            for visit_type, start in requests
        )
    )

    winner = one_winner(outcomes)
    [appointment] = Appointment.objects.all()
    assert appointment.pk == winner.pk


def test_a_move_into_a_longer_type_racing_a_booking_it_would_overlap_has_one_winner(setting):
    doctor, clinic = setting
    mover = PatientFactory(with_account=True)
    current = book(mover, doctor, clinic, tuesday(9))
    longer = VisitTypeFactory(department=doctor.department, minutes=60)

    for attempt, (move_to, other_start) in enumerate(
        [(tuesday(10), tuesday(10, 45)), (tuesday(11), tuesday(11, 15))]
    ):
        outcomes = run_concurrently(
            lambda current=current, move_to=move_to: reschedule_appointment(
                appointment=current, start=move_to, by=mover.user, now=NOW, visit_type=longer
            ),
            *(
                lambda other_start=other_start: book(
                    PatientFactory(with_account=True), doctor, clinic, other_start
                )
                for _ in range(3)
            ),
        )
        winner = one_winner(outcomes)
        if winner.patient_id == mover.pk:
            current = winner
            assert (winner.visit_type_id, winner.end) == (
                longer.pk,
                move_to + dt.timedelta(hours=1),
            )
        active = Appointment.objects.exclude(status=Status.CANCELLED).order_by("start")
        for earlier, later in itertools.pairwise(active):
            assert earlier.end <= later.start, attempt


def test_the_exclusion_constraint_refuses_a_raw_overlapping_insert(setting):
    doctor, clinic = setting
    fields = {
        "doctor": doctor,
        "clinic": clinic,
        "appointment_type": AppointmentType.CONSULTATION,
        "payment_mode": PaymentMode.AT_CLINIC,
        "created_by": UserFactory(),
    }
    Appointment.objects.create(
        patient=PatientFactory(), start=tuesday(9), end=tuesday(9, 45), **fields
    )

    with pytest.raises(IntegrityError, match="bookings_no_overlapping_appointments"):
        with transaction.atomic():
            Appointment.objects.create(
                patient=PatientFactory(), start=tuesday(9, 30), end=tuesday(9, 45), **fields
            )
    # Touching is not overlapping; a cancelled appointment holds nothing.
    Appointment.objects.create(
        patient=PatientFactory(), start=tuesday(9, 45), end=tuesday(10), **fields
    )
    Appointment.objects.create(
        patient=PatientFactory(),
        start=tuesday(9, 15),
        end=tuesday(9, 30),
        status=Status.CANCELLED,
        **fields,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
        assert cursor.fetchone() == (1,)


def test_a_lost_race_on_the_exclusion_constraint_is_the_friendly_just_taken(setting):
    doctor, clinic = setting
    fields = {
        "doctor": doctor,
        "clinic": clinic,
        "appointment_type": AppointmentType.CONSULTATION,
        "payment_mode": PaymentMode.AT_CLINIC,
        "created_by": UserFactory(),
    }
    Appointment.objects.create(
        patient=PatientFactory(), start=tuesday(9), end=tuesday(9, 45), **fields
    )

    with pytest.raises(SlotUnavailable, match="just taken"):
        with transaction.atomic():
            _create(patient=PatientFactory(), start=tuesday(9, 15), end=tuesday(9, 30), **fields)
