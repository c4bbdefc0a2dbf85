"""A small clinic with recognisable personal details, for the security, audit and privacy tests.

Import the fixtures a module needs by name. The patient's name, contact details and reason for
the visit are distinctive strings, so a test can look for them in logs, URLs, pages and emails.
Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru, as in the booking tests.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from billing import services as billing_services
from bookings import services as booking_services
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)
TOMORROW = NOW.date() + dt.timedelta(days=1)

PATIENT_NAME = "Zenobia Quartermaine"
PATIENT_EMAIL = "zenobia.quartermaine@example.com"
PATIENT_PHONE = "+919812377645"
REASON = "Recurring migraine with visual aura"
DOCTOR_NAME = "Dr Ishaan Verghese"


def personal_details():
    """What must never leak: the name (and each part of it), email, phone and reason."""
    return [
        PATIENT_NAME,
        *PATIENT_NAME.split(),
        PATIENT_EMAIL,
        PATIENT_PHONE,
        PATIENT_PHONE.removeprefix("+"),
        REASON,
        "migraine",
    ]


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=KOLKATA)


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lakeview(db):
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def doctor(lakeview):
    """Works Monday to Saturday, 09:00-13:00 at Lakeview, in 15-minute slots; has a login."""
    doctor = DoctorFactory(
        with_account=True,
        full_name=DOCTOR_NAME,
        department=DepartmentFactory(name="Neurology"),
        slot_minutes=15,
    )
    for weekday in range(6):
        WorkingHoursFactory(
            doctor=doctor,
            clinic=lakeview,
            weekday=weekday,
            starts_at=dt.time(9),
            ends_at=dt.time(13),
        )
    return doctor


@pytest.fixture
def patient(db):
    return PatientFactory(
        with_account=True, full_name=PATIENT_NAME, email=PATIENT_EMAIL, phone=PATIENT_PHONE
    )


@pytest.fixture
def desk(db):
    return UserFactory(roles=[Role.FRONT_DESK], is_staff=True, full_name="Desk Person")


@pytest.fixture
def appointment(frozen_now, patient, doctor, lakeview):
    """Booked by the patient for 10:00 tomorrow, through the booking service (so it has a
    charge)."""
    return booking_services.book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=lakeview,
        start=local(TOMORROW, 10),
        appointment_type="consultation",
        payment_mode="at_clinic",
        reason=REASON,
        by=patient.user,
        now=NOW,
    )


@pytest.fixture
def payment(appointment, desk):
    return billing_services.record_payment(
        charge=appointment.charge, amount=Decimal("100.00"), mode="cash", by=desk
    )
