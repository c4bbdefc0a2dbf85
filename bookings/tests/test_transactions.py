"""The booking services commit for good: each refuses to run inside a caller's transaction, whose
rollback could otherwise undo a booking that the patient was already told about (and its notices,
its charge and its audit entry with it)."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, Status
from bookings.scheduling import at
from bookings.services import book_appointment, cancel_appointment, reschedule_appointment
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db

NESTED = "durable atomic block cannot be nested"


@pytest.fixture
def appointment():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(slot_minutes=15)
    for weekday in range(7):
        WorkingHoursFactory(doctor=doctor, clinic=clinic, weekday=weekday)
    # Tomorrow at 09:00 there, inside the booking window whatever ran before (the factory's own
    # sequence moves a day further every sixteen appointments made in the session).
    tomorrow = timezone.now().astimezone(clinic.zone).date() + dt.timedelta(days=1)
    return AppointmentFactory(
        doctor=doctor, clinic=clinic, start=at(tomorrow, dt.time(9), clinic.zone)
    )


def test_booking_refuses_to_run_inside_an_outer_transaction(appointment):
    patient = PatientFactory(with_account=True)
    start = appointment.start + dt.timedelta(minutes=15)
    with transaction.atomic(), pytest.raises(RuntimeError, match=NESTED):
        book_appointment(
            patient=patient,
            doctor=appointment.doctor,
            clinic=appointment.clinic,
            start=start,
            appointment_type="consultation",
            payment_mode="at_clinic",
            by=patient.user,
        )
    assert not Appointment.objects.filter(start=start).exists()


def test_cancelling_refuses_to_run_inside_an_outer_transaction(appointment):
    with transaction.atomic(), pytest.raises(RuntimeError, match=NESTED):
        cancel_appointment(appointment=appointment, by=UserFactory())
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_moving_refuses_to_run_inside_an_outer_transaction(appointment):
    with transaction.atomic(), pytest.raises(RuntimeError, match=NESTED):
        reschedule_appointment(
            appointment=appointment,
            start=appointment.start + dt.timedelta(minutes=15),
            by=UserFactory(),
        )
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED
    assert Appointment.objects.count() == 1


def test_outside_a_transaction_the_same_calls_run(appointment):
    moved = reschedule_appointment(
        appointment=appointment,
        start=appointment.start + dt.timedelta(minutes=15),
        by=UserFactory(),
    )
    cancel_appointment(appointment=moved, by=UserFactory())
    assert set(Appointment.objects.values_list("status", flat=True)) == {Status.CANCELLED}
