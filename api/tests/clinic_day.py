"""A small clinic for the appointment API's tests, frozen at a known instant: one doctor with
hours Monday to Saturday, another doctor, two patients with logins, a walk-in patient, the front
desk, a clinic admin and an integration, each with an API client of their own."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from api.slots import slot_id
from api.tests.factories import client_for, integration_user
from bookings.scheduling import at
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

KOLKATA = ZoneInfo("Asia/Kolkata")
TODAY = dt.date(2026, 12, 1)  # a Tuesday
NOW = at(TODAY, dt.time(9, 30), KOLKATA)
VISIT_DAY = dt.date(2026, 12, 3)  # Thursday
ROLES = (
    "anon",
    "patient",
    "other_patient",
    "doctor",
    "other_doctor",
    "desk",
    "admin",
    "integration",
)


def local(day, hour, minute=0):
    return at(day, dt.time(hour, minute), KOLKATA)


@dataclass
class Clinic:
    clinic: object
    doctor: object
    other_doctor: object
    patient: object
    other_patient: object
    walk_in: object
    users: dict

    def client(self, role):
        return client_for(self.users[role])

    def slot(self, day, hour, minute=0, doctor=None):
        return slot_id(doctor or self.doctor, self.clinic, local(day, hour, minute))


def works_mon_to_sat(doctor, clinic):
    for weekday in range(6):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(13)
        )


def build_clinic():
    department = DepartmentFactory(name="General medicine")
    clinic = ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")
    doctor = DoctorFactory(with_account=True, department=department, full_name="Dr Meera Nair")
    other_doctor = DoctorFactory(with_account=True, department=department, full_name="Dr Ravi")
    works_mon_to_sat(doctor, clinic)
    works_mon_to_sat(other_doctor, clinic)
    patient = PatientFactory(with_account=True, full_name="Asha Patient")
    other_patient = PatientFactory(with_account=True, full_name="Bina Other")
    walk_in = PatientFactory(full_name="Chandra Walkin", phone="+919812345678")
    users = {
        "anon": None,
        "patient": patient.user,
        "other_patient": other_patient.user,
        "doctor": doctor.user,
        "other_doctor": other_doctor.user,
        "desk": UserFactory(roles=[Role.FRONT_DESK], is_staff=True),
        "admin": UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True),
        "integration": integration_user(),
    }
    return Clinic(clinic, doctor, other_doctor, patient, other_patient, walk_in, users)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.PAYMENT_PROVIDER = ""
    # Many requests per test from one token; the throttles are tested in test_throttling.py.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(
            settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/m"
        ),
    }


@pytest.fixture
def world(db, frozen, rules):
    return build_clinic()


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    return error
