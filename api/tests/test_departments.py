"""Departments over the API: public reads, clinic admins' add, edit and delete."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.exceptions import ValidationError

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from api.clinic_structure import DepartmentWriteSerializer
from api.tests.factories import client_for, integration_user
from doctors.models import Department
from doctors.tests.factories import DepartmentFactory, DoctorFactory

pytestmark = pytest.mark.django_db

NEW = {"name": "Cardiology", "description": "Hearts.", "opens_at": "09:00", "closes_at": "17:30"}


@pytest.fixture
def admin():
    return client_for(UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True))


def detail(department):
    return reverse("api:department", kwargs={"pk": department.pk})


def error_of(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_a_clinic_admin_adds_a_department(admin):
    response = admin.post(reverse("api:departments"), NEW, format="json")
    assert response.status_code == 201, response.content
    department = Department.objects.get(name="Cardiology")
    assert response["Location"] == detail(department)
    assert response.json() == {
        "id": department.pk,
        "name": "Cardiology",
        "description": "Hearts.",
        "opens_at": "09:00",
        "closes_at": "17:30",
        "bookable_doctors": 0,
    }
    assert department.opens_at == dt.time(9) and department.closes_at == dt.time(17, 30)


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
def test_only_clinic_admins_write_departments(user):
    caller = user()
    client = client_for(caller)
    department = DepartmentFactory(name="Audiology")
    before = Department.objects.count()
    expected = 401 if caller is None else 403
    attempts = [
        client.post(reverse("api:departments"), NEW, format="json"),
        client.patch(detail(department), {"name": "Renamed"}, format="json"),
        client.put(detail(department), NEW, format="json"),
        client.delete(detail(department)),
    ]
    for response in attempts:
        assert error_of(response, expected)["code"] in ("not_authenticated", "permission_denied")
    department.refresh_from_db()
    assert department.name == "Audiology"
    assert Department.objects.count() == before


def test_anyone_reads_one_department():
    department = DepartmentFactory(name="Audiology")
    response = client_for(None).get(detail(department))
    assert response.status_code == 200
    assert response.json()["name"] == "Audiology"
    assert error_of(client_for(None).get(reverse("api:department", kwargs={"pk": 999999})), 404)


@pytest.mark.parametrize(
    "hours, field",
    [
        ({"opens_at": "17:00", "closes_at": "09:00"}, "closes_at"),
        ({"opens_at": "09:00", "closes_at": "09:00"}, "closes_at"),
        ({"opens_at": "9am", "closes_at": "17:00"}, "opens_at"),
        ({"opens_at": "09:00:30", "closes_at": "17:00"}, "opens_at"),
        ({"opens_at": "25:00", "closes_at": "17:00"}, "opens_at"),
        ({"opens_at": ["09:00"], "closes_at": "17:00"}, "opens_at"),
    ],
)
def test_operating_hours_are_hh_mm_and_close_after_opening(admin, hours, field):
    response = admin.post(reverse("api:departments"), {**NEW, **hours}, format="json")
    error = error_of(response, 400)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Department.objects.exists()


def test_closing_before_opening_keeps_the_models_message(admin):
    response = admin.post(reverse("api:departments"), {**NEW, "opens_at": "18:00"}, format="json")
    assert error_of(response, 400)["fields"] == {
        "closes_at": ["The closing time must be after the opening time."]
    }


def test_a_name_taken_in_any_case_is_a_field_error(admin):
    DepartmentFactory(name="Cardiology")
    response = admin.post(reverse("api:departments"), {**NEW, "name": "CARDIOLOGY"}, format="json")
    error = error_of(response, 400)
    # The admin's form shows it above the form too: the constraint is on an expression (any case).
    assert error["fields"] == {"non_field_errors": ["A department with this name already exists."]}
    assert Department.objects.count() == 1


@pytest.mark.parametrize("body", [[], "text", None, {"name": {"nested": 1}}, {"name": "x" * 101}])
def test_junk_bodies_are_field_errors(admin, body):
    response = admin.post(reverse("api:departments"), body, format="json")
    assert error_of(response, 400)["code"] == "invalid"


def test_patch_changes_only_what_is_sent_and_checks_it_with_the_saved_hours(admin):
    department = DepartmentFactory(name="Audiology", opens_at=dt.time(9), closes_at=dt.time(17))
    response = admin.patch(detail(department), {"closes_at": "19:00"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["closes_at"] == "19:00"
    refused = admin.patch(detail(department), {"opens_at": "20:00"}, format="json")
    assert "closes_at" in error_of(refused, 400)["fields"]
    department.refresh_from_db()
    assert (department.opens_at, department.closes_at) == (dt.time(9), dt.time(19))


def test_put_needs_every_field(admin):
    department = DepartmentFactory(name="Audiology")
    error = error_of(admin.put(detail(department), {"name": "ENT"}, format="json"), 400)
    assert {"opens_at", "closes_at"} <= set(error["fields"])
    response = admin.put(detail(department), {**NEW, "name": "ENT"}, format="json")
    assert response.status_code == 200
    department.refresh_from_db()
    assert department.name == "ENT" and department.closes_at == dt.time(17, 30)


def test_renaming_to_its_own_name_in_another_case_is_allowed(admin):
    department = DepartmentFactory(name="Audiology")
    response = admin.patch(detail(department), {"name": "AUDIOLOGY"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "AUDIOLOGY"


def test_an_empty_department_is_deleted(admin):
    department = DepartmentFactory()
    response = admin.delete(detail(department))
    assert response.status_code == 204
    assert not Department.objects.filter(pk=department.pk).exists()
    assert error_of(admin.delete(detail(department)), 404)["code"] == "not_found"


@pytest.mark.parametrize("is_active", [True, False])
def test_a_department_with_doctors_is_not_deleted(admin, is_active):
    department = DepartmentFactory()
    DoctorFactory(department=department, is_active=is_active)
    error = error_of(admin.delete(detail(department)), 409)
    assert error["code"] == "department_has_doctors"
    assert "Move them to another department" in error["message"]
    assert Department.objects.filter(pk=department.pk).exists()


def test_reading_a_department_costs_a_fixed_number_of_queries():
    department = DepartmentFactory()
    for _ in range(5):
        DoctorFactory(department=department)
    with CaptureQueriesContext(connection) as queries:
        assert client_for(None).get(detail(department)).status_code == 200
    few = len(queries)
    for _ in range(10):
        DoctorFactory(department=department)
    with CaptureQueriesContext(connection) as queries:
        assert client_for(None).get(detail(department)).status_code == 200
    assert len(queries) == few


def test_a_name_saved_between_the_check_and_the_write_is_the_same_field_error():
    checked = DepartmentWriteSerializer(data=NEW)
    assert checked.is_valid()
    DepartmentFactory(name="CARDIOLOGY")  # another admin, a moment earlier
    with pytest.raises(ValidationError) as caught:
        checked.save()
    assert caught.value.detail == {
        "non_field_errors": ["A department with this name already exists."]
    }


def test_a_write_refused_by_the_database_for_no_reason_the_checks_see_is_a_conflict(
    admin, monkeypatch
):
    def refused(*args, **kwargs):
        raise IntegrityError("a change under our feet")

    monkeypatch.setattr(Department, "save", refused)
    error = error_of(admin.post(reverse("api:departments"), NEW, format="json"), 409)
    assert error["code"] == "conflict"
    assert "under our feet" not in error["message"]
