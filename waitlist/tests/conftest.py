"""A doctor who works Monday to Friday mornings at a clinic in Kolkata, and a fixed "now" (a
Monday morning in 2030) for the services, as bookings' service tests have them."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bookings.models import AppointmentType, PaymentMode
from bookings.scheduling import at
from bookings.services import book_appointment
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)


def local(days, hour, minute=0):
    """An instant `days` after MONDAY at a wall-clock time in Kolkata."""
    return at(MONDAY + dt.timedelta(days=days), dt.time(hour, minute), KOLKATA)


NOW = local(0, 8)  # Monday 08:00
TUESDAY_9 = local(1, 9)


@pytest.fixture(autouse=True)
def default_rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.SLOT_HOLD_MINUTES = 10
    settings.WAITLIST_OFFER_MINUTES = 30
    settings.PORTAL_URL = "https://portal.example.org"


@pytest.fixture
def clinic(db):
    return ClinicFactory(timezone="Asia/Kolkata", phone="+918000000000")


@pytest.fixture
def department(db):
    return DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20))


def working_doctor(clinic, department, **fields):
    """Monday to Friday, 09:00-12:00 at the clinic, in 15-minute slots."""
    doctor = DoctorFactory(
        slot_minutes=15,
        registration_expires_on=MONDAY + dt.timedelta(days=365),
        department=department,
        **fields,
    )
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
    return doctor


@pytest.fixture
def doctor(clinic, department):
    return working_doctor(clinic, department)


def book(patient, doctor, clinic, start=TUESDAY_9, *, now=NOW, **extra):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=extra.pop("by", None) or patient.user,
        now=now,
        **extra,
    )
