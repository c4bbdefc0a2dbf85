"""Appointments: constraints the database enforces (bypassing the services), the status machine
and the queryset helpers."""

import datetime as dt
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DoctorFactory

pytestmark = pytest.mark.django_db

HOLDING_STATUSES = [Status.BOOKED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW]


def refused_by_database(create):
    """Runs `create` in its own savepoint and checks the database refuses it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


# --- The factory ------------------------------------------------------------------------------


def test_factory_makes_a_valid_booked_appointment_on_a_whole_future_slot():
    appointment = AppointmentFactory()
    appointment.full_clean()
    assert appointment.status == Status.BOOKED
    assert appointment.start > timezone.now()
    slot_minutes = appointment.doctor.slot_minutes
    assert appointment.end - appointment.start == dt.timedelta(minutes=slot_minutes)
    local_start = appointment.local_start()
    assert (local_start.hour * 60 + local_start.minute - 9 * 60) % slot_minutes == 0
    assert local_start.second == 0


def test_factory_gives_one_doctor_successive_slots_that_never_collide():
    doctor = DoctorFactory(slot_minutes=20)
    clinic = ClinicFactory()
    appointments = AppointmentFactory.create_batch(40, doctor=doctor, clinic=clinic)
    spans = sorted((a.start, a.end) for a in appointments)
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))
    assert all(end - start == dt.timedelta(minutes=20) for start, end in spans)


# --- Database constraints ---------------------------------------------------------------------


@pytest.mark.parametrize("existing_status", HOLDING_STATUSES)
def test_database_refuses_a_second_appointment_at_the_same_doctor_and_start(existing_status):
    first = AppointmentFactory(status=existing_status)
    refused_by_database(
        lambda: AppointmentFactory(doctor=first.doctor, clinic=first.clinic, start=first.start)
    )
    assert Appointment.objects.count() == 1


def test_database_refuses_the_same_doctor_and_start_even_at_another_clinic():
    first = AppointmentFactory()
    refused_by_database(lambda: AppointmentFactory(doctor=first.doctor, start=first.start))
    assert Appointment.objects.count() == 1


def test_a_cancelled_appointment_does_not_block_its_time():
    cancelled = AppointmentFactory(status=Status.CANCELLED)
    AppointmentFactory(
        doctor=cancelled.doctor,
        clinic=cancelled.clinic,
        start=cancelled.start,
        status=Status.CANCELLED,
    )
    AppointmentFactory(doctor=cancelled.doctor, clinic=cancelled.clinic, start=cancelled.start)
    assert Appointment.objects.filter(start=cancelled.start).count() == 3


def test_cancelling_lets_a_new_appointment_take_the_time():
    first = AppointmentFactory()
    Appointment.objects.filter(pk=first.pk).update(status=Status.CANCELLED)
    AppointmentFactory(doctor=first.doctor, clinic=first.clinic, start=first.start)
    assert Appointment.objects.holding_slots().filter(start=first.start).count() == 1


def test_another_doctor_may_have_an_appointment_at_the_same_start():
    first = AppointmentFactory()
    AppointmentFactory(clinic=first.clinic, start=first.start)
    assert Appointment.objects.filter(start=first.start).count() == 2


@pytest.mark.parametrize(
    "length", [dt.timedelta(0), -dt.timedelta(minutes=15)], ids=["equal", "before"]
)
def test_database_refuses_an_end_not_after_the_start(length):
    start = timezone.now() + dt.timedelta(days=1)
    refused_by_database(lambda: AppointmentFactory(start=start, end=start + length))
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("status", ["lost", "", "BOOKED"])
def test_database_refuses_an_unknown_status(status):
    refused_by_database(lambda: AppointmentFactory(status=status))
    assert not Appointment.objects.exists()


def test_database_refuses_changing_a_status_to_an_unknown_one():
    appointment = AppointmentFactory()
    refused_by_database(
        lambda: Appointment.objects.filter(pk=appointment.pk).update(status="postponed")
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_model_validation_reports_the_time_as_taken():
    first = AppointmentFactory()
    second = AppointmentFactory.build(
        doctor=first.doctor,
        clinic=first.clinic,
        start=first.start,
        patient=first.patient,
        created_by=first.created_by,
    )
    with pytest.raises(ValidationError) as excinfo:
        second.validate_constraints()
    assert "That time has just been taken." in str(excinfo.value)


# --- Status machine ---------------------------------------------------------------------------

ALLOWED = {
    (Status.BOOKED, Status.CHECKED_IN),
    (Status.CHECKED_IN, Status.COMPLETED),
    (Status.BOOKED, Status.CANCELLED),
    (Status.BOOKED, Status.NO_SHOW),
}


@pytest.mark.parametrize(
    ("current", "target"),
    list(itertools.product(Status, Status)),
    ids=lambda status: status.value,
)
def test_only_the_designed_status_changes_are_allowed(current, target):
    appointment = AppointmentFactory.build(status=current)
    assert appointment.can_become(target) is ((current, target) in ALLOWED)


def test_can_become_accepts_plain_strings_as_stored_in_the_database():
    appointment = AppointmentFactory.build(status="booked")
    assert appointment.can_become("cancelled")
    assert not appointment.can_become("completed")


@pytest.mark.parametrize("status", list(Status), ids=lambda status: status.value)
def test_only_a_cancellation_frees_the_slot(status):
    assert AppointmentFactory.build(status=status).holds_slot is (status != Status.CANCELLED)


# --- Queryset helpers -------------------------------------------------------------------------


@pytest.fixture
def timeline():
    """Appointments around a fixed instant: {name: appointment}, and the instant."""
    now = timezone.now().replace(microsecond=0)
    doctor = DoctorFactory()
    clinic = ClinicFactory()

    def make(name, start_in_minutes, status=Status.BOOKED, doctor=doctor):
        start = now + dt.timedelta(minutes=start_in_minutes)
        return name, AppointmentFactory(doctor=doctor, clinic=clinic, start=start, status=status)

    appointments = dict(
        [
            make("tomorrow", 24 * 60),
            make("tomorrow_cancelled", 24 * 60 + 15, Status.CANCELLED),
            make("in_progress", -5, Status.CHECKED_IN),  # 15 minutes long: ends in 10 minutes
            make("checked_in_later", 60, Status.CHECKED_IN),
            # Booked, never checked in: ends exactly now. Another doctor's: it overlaps
            # in_progress, which PostgreSQL's exclusion constraint refuses for one doctor.
            make("ended_just_now", -15, doctor=DoctorFactory()),
            make("yesterday_completed", -24 * 60, Status.COMPLETED),
            make("yesterday_no_show", -24 * 60 + 15, Status.NO_SHOW),
            make("yesterday_cancelled", -24 * 60 + 30, Status.CANCELLED),
        ]
    )
    return now, appointments


def names(queryset, appointments):
    by_pk = {appointment.pk: name for name, appointment in appointments.items()}
    return {by_pk[pk] for pk in queryset.values_list("pk", flat=True)}


def test_upcoming_is_booked_or_checked_in_and_not_yet_over(timeline):
    now, appointments = timeline
    assert names(Appointment.objects.upcoming(now), appointments) == {
        "tomorrow",
        "in_progress",
        "checked_in_later",
    }


def test_past_is_everything_that_is_not_upcoming(timeline):
    now, appointments = timeline
    assert names(Appointment.objects.past(now), appointments) == {
        "tomorrow_cancelled",
        "ended_just_now",
        "yesterday_completed",
        "yesterday_no_show",
        "yesterday_cancelled",
    }


def test_holding_slots_leaves_out_only_cancelled_appointments(timeline):
    _, appointments = timeline
    assert names(Appointment.objects.holding_slots(), appointments) == set(appointments) - {
        "tomorrow_cancelled",
        "yesterday_cancelled",
    }


def test_overlapping_touches_but_does_not_include_adjacent_appointments(timeline):
    _, appointments = timeline
    tomorrow = appointments["tomorrow"]
    assert names(Appointment.objects.overlapping(tomorrow.start, tomorrow.end), appointments) == {
        "tomorrow"
    }
    inside = tomorrow.start + dt.timedelta(minutes=5)
    assert names(
        Appointment.objects.overlapping(inside, inside + dt.timedelta(minutes=1)), appointments
    ) == {"tomorrow"}
    assert not Appointment.objects.overlapping(
        tomorrow.end + dt.timedelta(minutes=15), tomorrow.end + dt.timedelta(minutes=30)
    ).exists()


# --- Small invariants -------------------------------------------------------------------------


def test_local_times_are_shown_in_the_clinics_zone():
    clinic = ClinicFactory(timezone="Europe/London")
    start = dt.datetime(2031, 7, 1, 8, 0, tzinfo=dt.UTC)
    appointment = AppointmentFactory(clinic=clinic, start=start)
    assert appointment.local_start().strftime("%H:%M %Z") == "09:00 BST"
    assert appointment.local_end().strftime("%H:%M") == "09:15"


def test_was_rescheduled_only_for_the_cancelled_original_of_a_move():
    original = AppointmentFactory(status=Status.CANCELLED)
    moved = AppointmentFactory(
        patient=original.patient,
        doctor=original.doctor,
        clinic=original.clinic,
        rescheduled_from=original,
    )
    plain_cancelled = AppointmentFactory(status=Status.CANCELLED)
    assert Appointment.objects.get(pk=original.pk).was_rescheduled
    assert not Appointment.objects.get(pk=moved.pk).was_rescheduled
    assert not Appointment.objects.get(pk=plain_cancelled.pk).was_rescheduled


def test_an_appointment_can_be_the_original_of_only_one_move():
    original = AppointmentFactory(status=Status.CANCELLED)
    AppointmentFactory(doctor=original.doctor, clinic=original.clinic, rescheduled_from=original)
    refused_by_database(
        lambda: AppointmentFactory(
            doctor=original.doctor, clinic=original.clinic, rescheduled_from=original
        )
    )
