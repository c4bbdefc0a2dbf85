"""Doctors over the API: a doctor's public page as JSON, and clinic admins' register, edit and
deactivate."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from api.tests.factories import client_for, integration_user
from doctors.models import Doctor
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return client_for(UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True))


@pytest.fixture
def department():
    return DepartmentFactory(name="Cardiology")


def new_doctor(in_department, **changes):
    return {
        "full_name": "Dr Meera Nair",
        "department": in_department.pk,
        "qualifications": "MBBS, MD",
        "registration_number": "kmc-123456",
        "registration_expires_on": (timezone.localdate() + dt.timedelta(days=400)).isoformat(),
        "consultation_fee": "650.50",
        "slot_minutes": 20,
        **changes,
    }


def detail(doctor):
    return reverse("api:doctor", kwargs={"pk": doctor.pk})


def error_of(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_a_doctors_page_as_json_with_the_week(department):
    clinic = ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")
    doctor = DoctorFactory(department=department, full_name="Dr Asha", bio="Hearts.")
    WorkingHoursFactory(
        doctor=doctor, clinic=clinic, weekday=2, starts_at=dt.time(14), ends_at=dt.time(17)
    )
    WorkingHoursFactory(
        doctor=doctor, clinic=clinic, weekday=0, starts_at=dt.time(9), ends_at=dt.time(13)
    )
    response = client_for(None).get(detail(doctor))
    assert response.status_code == 200
    body = response.json()
    assert body["full_name"] == "Dr Asha"
    assert body["bio"] == "Hearts."
    assert body["registration_number"] == doctor.registration_number
    assert body["takes_bookings"] is True
    assert body["working_hours"] == [
        {
            "clinic": {"id": clinic.pk, "name": "Lakeview", "time_zone": "Asia/Kolkata"},
            "weekday": 0,
            "weekday_name": "Monday",
            "starts_at": "09:00",
            "ends_at": "13:00",
        },
        {
            "clinic": {"id": clinic.pk, "name": "Lakeview", "time_zone": "Asia/Kolkata"},
            "weekday": 2,
            "weekday_name": "Wednesday",
            "starts_at": "14:00",
            "ends_at": "17:00",
        },
    ]
    # The admin's fields are not public.
    assert "is_active" not in body and "registration_expires_on" not in body


def test_an_expired_registration_is_shown_but_takes_no_bookings(department):
    clinic = ClinicFactory()
    doctor = DoctorFactory(
        department=department, registration_expires_on=timezone.localdate() - dt.timedelta(1)
    )
    WorkingHoursFactory(doctor=doctor, clinic=clinic)
    response = client_for(None).get(detail(doctor))
    assert response.status_code == 200
    assert response.json()["takes_bookings"] is False


@pytest.mark.parametrize(
    "user",
    [lambda: None, lambda: UserFactory(roles=[Role.PATIENT]), integration_user],
    ids=["anonymous", "patient", "integration"],
)
def test_an_inactive_or_unknown_doctor_is_not_found_publicly(user):
    client = client_for(user())
    inactive = DoctorFactory(is_active=False)
    assert error_of(client.get(detail(inactive)), 404)["code"] == "not_found"
    assert error_of(client.get(reverse("api:doctor", kwargs={"pk": 999999})), 404)


def test_a_clinic_admin_sees_an_inactive_doctor_with_the_admins_fields(admin):
    doctor = DoctorFactory(is_active=False)
    body = admin.get(detail(doctor)).json()
    assert body["is_active"] is False
    assert body["registration_expires_on"] == doctor.registration_expires_on.isoformat()
    assert error_of(admin.get(reverse("api:doctor", kwargs={"pk": 999999})), 404)


def test_a_clinic_admin_registers_a_doctor(admin, department):
    response = admin.post(reverse("api:doctors"), new_doctor(department), format="json")
    assert response.status_code == 201, response.content
    doctor = Doctor.objects.get()
    assert response["Location"] == detail(doctor)
    body = response.json()
    # The number is kept as the admin keeps it: in capitals.
    assert doctor.registration_number == body["registration_number"] == "KMC-123456"
    assert doctor.consultation_fee == Decimal("650.50")
    assert body["consultation_fee"] == "650.50"
    assert body["department"] == {"id": department.pk, "name": "Cardiology"}
    assert body["is_active"] is True and body["working_hours"] == []
    assert body["slot_minutes"] == 20


def test_a_registration_number_taken_in_another_case_is_refused(admin, department):
    DoctorFactory(registration_number="KMC-123456")
    response = admin.post(
        reverse("api:doctors"),
        new_doctor(department, registration_number=" Kmc-123456 "),
        format="json",
    )
    error = error_of(response, 400)
    assert list(error["fields"]) == ["registration_number"]
    assert Doctor.objects.count() == 1


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"consultation_fee": "500.123"}, "consultation_fee"),
        # The model's constraint, shown above the admin's form as well.
        ({"consultation_fee": "-1.00"}, "non_field_errors"),
        ({"consultation_fee": "NaN"}, "consultation_fee"),
        ({"consultation_fee": "1e400"}, "consultation_fee"),
        ({"slot_minutes": 4}, "slot_minutes"),
        ({"slot_minutes": 241}, "slot_minutes"),
        ({"slot_minutes": "many"}, "slot_minutes"),
        ({"department": 999999}, "department"),
        ({"department": "x"}, "department"),
        ({"registration_expires_on": "31/12/2030"}, "registration_expires_on"),
        ({"full_name": ""}, "full_name"),
        ({"registration_number": "x" * 51}, "registration_number"),
        ({"full_name": ["a"]}, "full_name"),
    ],
)
def test_bad_doctor_fields_are_field_errors(admin, department, changes, field):
    response = admin.post(reverse("api:doctors"), new_doctor(department, **changes), format="json")
    error = error_of(response, 400)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Doctor.objects.exists()


def test_patch_edits_only_what_is_sent(admin, department):
    doctor = DoctorFactory(department=department, consultation_fee=Decimal("500.00"))
    other = DepartmentFactory(name="Neurology")
    response = admin.patch(
        detail(doctor), {"consultation_fee": "700.00", "department": other.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    doctor.refresh_from_db()
    assert doctor.consultation_fee == Decimal("700.00") and doctor.department == other
    assert error_of(admin.patch(detail(doctor), {"slot_minutes": 1}, format="json"), 400)
    doctor.refresh_from_db()
    assert doctor.slot_minutes == 15


def test_patch_keeps_a_doctors_own_number_in_another_case(admin, department):
    doctor = DoctorFactory(registration_number="REG-1")
    response = admin.patch(detail(doctor), {"registration_number": "reg-1"}, format="json")
    assert response.status_code == 200, response.content
    doctor.refresh_from_db()
    assert doctor.registration_number == "REG-1"


def test_put_replaces_every_field(admin, department):
    doctor = DoctorFactory()
    assert error_of(admin.put(detail(doctor), {"full_name": "Dr X"}, format="json"), 400)
    response = admin.put(detail(doctor), new_doctor(department), format="json")
    assert response.status_code == 200, response.content
    doctor.refresh_from_db()
    assert doctor.full_name == "Dr Meera Nair" and doctor.slot_minutes == 20


def test_deactivating_hides_the_doctor_and_keeps_the_row(admin, department):
    clinic = ClinicFactory()
    doctor = DoctorFactory(department=department)
    WorkingHoursFactory(doctor=doctor, clinic=clinic)
    url = reverse("api:doctor_deactivate", kwargs={"pk": doctor.pk})
    response = admin.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False
    assert admin.post(url).status_code == 200  # again: nothing more changes
    doctor.refresh_from_db()
    assert doctor.is_active is False
    assert error_of(client_for(None).get(detail(doctor)), 404)
    listed = client_for(None).get(reverse("api:doctors")).json()["results"]
    assert doctor.pk not in [row["id"] for row in listed]
    # Taken back with a PATCH.
    assert admin.patch(detail(doctor), {"is_active": True}, format="json").status_code == 200
    assert client_for(None).get(detail(doctor)).status_code == 200


def test_doctors_are_never_deleted_over_the_api(admin):
    doctor = DoctorFactory()
    assert error_of(admin.delete(detail(doctor)), 405)["code"] == "method_not_allowed"
    assert Doctor.objects.filter(pk=doctor.pk).exists()


@pytest.mark.parametrize(
    "user",
    [
        lambda: None,
        lambda: UserFactory(roles=[Role.PATIENT]),
        lambda: DoctorFactory(with_account=True).user,
        lambda: UserFactory(roles=[Role.FRONT_DESK], is_staff=True),
        integration_user,
    ],
    ids=["anonymous", "patient", "doctor", "front desk", "integration"],
)
def test_only_clinic_admins_write_doctors(user, department):
    caller = user()
    client = client_for(caller)
    doctor = DoctorFactory(department=department, full_name="Dr Asha")
    expected = 401 if caller is None else 403
    before = Doctor.objects.count()
    attempts = [
        client.post(reverse("api:doctors"), new_doctor(department), format="json"),
        client.patch(detail(doctor), {"full_name": "Dr Changed"}, format="json"),
        client.put(detail(doctor), new_doctor(department), format="json"),
        client.post(reverse("api:doctor_deactivate", kwargs={"pk": doctor.pk})),
    ]
    for response in attempts:
        error_of(response, expected)
    doctor.refresh_from_db()
    assert (doctor.full_name, doctor.is_active) == ("Dr Asha", True)
    assert Doctor.objects.count() == before


def test_a_doctors_page_costs_a_fixed_number_of_queries(department):
    doctor = DoctorFactory(department=department)

    def read():
        with CaptureQueriesContext(connection) as queries:
            assert client_for(None).get(detail(doctor)).status_code == 200
        return len(queries)

    WorkingHoursFactory(doctor=doctor, clinic=ClinicFactory(), weekday=0)
    few = read()
    for weekday in range(1, 6):
        WorkingHoursFactory(doctor=doctor, clinic=ClinicFactory(), weekday=weekday)
    assert read() == few


def test_the_doctor_list_costs_a_fixed_number_of_queries_for_an_admin_too(admin, department):
    def read():
        with CaptureQueriesContext(connection) as queries:
            assert admin.get(reverse("api:doctors")).status_code == 200
        return len(queries)

    clinic = ClinicFactory()
    WorkingHoursFactory(doctor=DoctorFactory(department=department), clinic=clinic)
    few = read()
    for _ in range(6):
        WorkingHoursFactory(doctor=DoctorFactory(department=department), clinic=clinic)
    assert read() == few
