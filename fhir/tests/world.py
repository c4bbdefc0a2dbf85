"""The clinic of api/tests/clinic_day.py seen through FHIR, frozen at Tuesday 1 December 2026,
09:30 in Bengaluru; plus a second clinic in London (the doctor works Sundays there, with a
lunch break), a doctor who no longer works, and the patient's appointment on Thursday at 10:00.

Every answer is parsed back with fhir.resources' R4B models (`parsed`), and every error must be
an OperationOutcome (`assert_outcome`)."""

import datetime as dt
import json
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from api.tests.clinic_day import (
    NOW,
    ROLES,
    TODAY,
    VISIT_DAY,
    build_clinic,
    frozen,
    local,
    rules,
)
from api.tests.factories import client_for
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory

__all__ = ["NOW", "ROLES", "TODAY", "VISIT_DAY", "frozen", "local", "rules"]

FHIR_JSON = "application/fhir+json"
BASE = "/fhir/R4/"
LONDON = ZoneInfo("Europe/London")
STAFF = ("desk", "admin", "integration")
LOGGED_IN = tuple(role for role in ROLES if role != "anon")


@dataclass
class FhirClinic:
    clinic: object
    london: object
    doctor: object
    other_doctor: object
    retired: object  # an inactive doctor, with hours still on record
    department: object
    appointment: object
    users: dict
    patient: object  # the appointment's, with a login
    other_patient: object  # with a login, no appointment
    walk_in: object  # no login, no appointment; phone +919812345678

    def client(self, role):
        return client_for(self.users[role])


def build_fhir_clinic():
    base = build_clinic()
    london = ClinicFactory(
        name="Thames Side",
        timezone="Europe/London",
        address="1 River Walk\nLondon SE1",
        phone="+442071234567",
        email="thames@example.com",
    )
    for starts_at, ends_at in ((dt.time(10), dt.time(12)), (dt.time(13), dt.time(15))):
        WorkingHoursFactory(
            doctor=base.doctor, clinic=london, weekday=6, starts_at=starts_at, ends_at=ends_at
        )
    retired = DoctorFactory(
        full_name="Dr Old Timer", department=base.doctor.department, is_active=False
    )
    WorkingHoursFactory(doctor=retired, clinic=base.clinic, weekday=0)
    appointment = AppointmentFactory(
        patient=base.patient,
        doctor=base.doctor,
        clinic=base.clinic,
        start=local(VISIT_DAY, 10),
        created_by=base.patient.user,
    )
    return FhirClinic(
        clinic=base.clinic,
        london=london,
        doctor=base.doctor,
        other_doctor=base.other_doctor,
        retired=retired,
        department=base.doctor.department,
        appointment=appointment,
        users=base.users,
        patient=base.patient,
        other_patient=base.other_patient,
        walk_in=base.walk_in,
    )


@pytest.fixture
def world(db, frozen, rules):
    return build_fhir_clinic()


def parsed(response, status=200):
    """The answer as its R4B model (a Bundle's entries each parsed as their own type too)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = json.loads(response.content)
    model = get_fhir_model_class(body["resourceType"]).model_validate_json(response.content)
    if isinstance(model, Bundle):
        for entry in body.get("entry", []):
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return model


def assert_outcome(response, status, issue=None, code=None):
    """An OperationOutcome with one error issue; returns it."""
    outcome = parsed(response, status)
    assert outcome.get_resource_type() == "OperationOutcome"
    (problem,) = outcome.issue
    assert problem.severity in ("error", "fatal")
    assert problem.diagnostics
    if issue is not None:
        assert problem.code == issue, problem
    if code is not None:
        assert problem.details.coding[0].code == code, problem
    return problem


def entries(bundle):
    return [entry.resource for entry in bundle.entry or []]


def ids(bundle):
    return [resource.id for resource in entries(bundle)]


def search(client, resource_type, **params):
    return parsed(client.get(BASE + resource_type, params))


FORM = "application/x-www-form-urlencoded"


def post_search(client, resource_type, params):
    """POST [type]/_search with `params` ({name: value or [values]}) as a form in the body."""
    return client.post(
        f"{BASE}{resource_type}/_search", urlencode(params, doseq=True), content_type=FORM
    )
