"""GET /api/v1/departments/ and /api/v1/doctors/: public, paged, a fixed number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from api.pagination import MAX_PAGE_SIZE
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db


def doctor_at(clinic, **kwargs):
    doctor = DoctorFactory(**kwargs)
    WorkingHoursFactory(doctor=doctor, clinic=clinic, weekday=0)
    return doctor


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


def get(url, params=None):
    return APIClient().get(url, params or {})


def test_departments_list_each_with_its_bookable_doctors(clinic):
    cardiology = DepartmentFactory(name="Cardiology")
    DepartmentFactory(name="Audiology")
    doctor_at(clinic, department=cardiology)
    doctor_at(clinic, department=cardiology, is_active=False)
    response = get(reverse("api:departments"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [d["name"] for d in body["results"]] == ["Audiology", "Cardiology"]
    assert [d["bookable_doctors"] for d in body["results"]] == [0, 1]
    first = body["results"][1]
    assert first["opens_at"] == cardiology.opens_at.strftime("%H:%M")
    assert set(first) == {
        "id",
        "name",
        "description",
        "opens_at",
        "closes_at",
        "bookable_doctors",
    }


def test_doctors_list_only_the_bookable_ones_with_their_clinics(clinic):
    bookable = doctor_at(clinic, full_name="Dr Asha")
    doctor_at(clinic, full_name="Dr Inactive", is_active=False)
    doctor_at(
        clinic,
        full_name="Dr Expired",
        registration_expires_on=dt.date.today() - dt.timedelta(days=30),
    )
    DoctorFactory(full_name="Dr Nowhere")  # works at no clinic: nobody can book them
    response = get(reverse("api:doctors"))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [d["id"] for d in results] == [bookable.pk]
    assert results[0]["department"] == {
        "id": bookable.department_id,
        "name": bookable.department.name,
    }
    assert results[0]["clinics"] == [
        {"id": clinic.pk, "name": "Lakeview", "time_zone": "Asia/Kolkata"}
    ]
    assert results[0]["consultation_fee"] == f"{bookable.consultation_fee:.2f}"


def test_doctors_filtered_by_department(clinic):
    cardiology = DepartmentFactory(name="Cardiology")
    heart = doctor_at(clinic, department=cardiology)
    doctor_at(clinic)
    response = get(reverse("api:doctors"), {"department": cardiology.pk})
    assert [d["id"] for d in response.json()["results"]] == [heart.pk]


@pytest.mark.parametrize("department", ["abc", "999999", "-1", "1.5"])
def test_a_bad_department_filter_is_a_field_error(clinic, department):
    response = get(reverse("api:doctors"), {"department": department})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["department"]


def test_doctors_cost_the_same_queries_for_one_or_many(clinic):
    other_clinic = ClinicFactory(name="Hillside", timezone="Europe/London")
    doctor_at(clinic)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert get(reverse("api:doctors")).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(6):
        doctor = doctor_at(clinic)
        WorkingHoursFactory(doctor=doctor, clinic=other_clinic, weekday=1)
    assert queries() == few


def test_departments_cost_the_same_queries_for_one_or_many(clinic):
    DepartmentFactory()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert get(reverse("api:departments")).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(5):
        doctor_at(clinic, department=DepartmentFactory())
    assert queries() == few


def test_lists_are_paged_with_links(clinic):
    for _ in range(5):
        DepartmentFactory()
    response = get(reverse("api:departments"), {"page_size": 2, "page": 2})
    body = response.json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert "page=3" in body["next"]
    assert body["previous"] is not None


def test_page_size_is_capped(clinic):
    for _ in range(MAX_PAGE_SIZE + 1):
        DepartmentFactory()
    body = get(reverse("api:departments"), {"page_size": 1000}).json()
    assert len(body["results"]) == MAX_PAGE_SIZE
    assert body["count"] == MAX_PAGE_SIZE + 1


@pytest.mark.parametrize("page", ["99", "0", "abc"])
def test_a_page_that_does_not_exist_is_a_404_in_the_shape(clinic, page):
    DepartmentFactory()
    response = get(reverse("api:departments"), {"page": page})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
