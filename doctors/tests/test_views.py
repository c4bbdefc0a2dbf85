"""The public pages: departments, the doctor directory and a doctor's page."""

import datetime
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)
from doctors.views import DOCTORS_PER_PAGE

pytestmark = pytest.mark.django_db

VISITORS = [None, "patient_user", "doctor_user", "front_desk_user", "clinic_admin_user"]


def visit_as(client, request, visitor):
    if visitor is not None:
        client.force_login(request.getfixturevalue(visitor))
    return client


def page_text(response):
    return unescape(response.content.decode())


def listed_names(response):
    return [doctor.full_name for doctor in response.context["page"].object_list]


def doctor_list(client, **params):
    return client.get(reverse("doctors:list"), params)


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


# --- Everyone may read the public pages ------------------------------------------------------


@pytest.mark.parametrize("visitor", VISITORS, ids=lambda v: v or "anonymous")
def test_public_pages_answer_every_visitor(client, request, visitor):
    doctor = DoctorFactory(full_name="Dr Asha Rao", department=DepartmentFactory(name="Neurology"))
    WorkingHoursFactory(doctor=doctor, clinic=ClinicFactory(name="Central Clinic"))
    client = visit_as(client, request, visitor)

    expected = {
        reverse("doctors:departments"): "Neurology",
        reverse("doctors:list"): "Dr Asha Rao",
        reverse("doctors:detail", args=[doctor.pk]): "Central Clinic",
    }
    for url, text in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in page_text(response), url


# --- Departments -----------------------------------------------------------------------------


def test_department_list_counts_active_doctors_only(client):
    cardiology = DepartmentFactory(name="Cardiology")
    DepartmentFactory(name="Dermatology")
    for doctor in [
        *DoctorFactory.create_batch(2, department=cardiology),
        DoctorFactory(department=cardiology, is_active=False),
    ]:
        WorkingHoursFactory(doctor=doctor)

    response = client.get(reverse("doctors:departments"))

    counts = {d.name: d.doctor_count for d in response.context["departments"]}
    assert counts == {"Cardiology": 2, "Dermatology": 0}
    text = page_text(response)
    assert "2 doctors" in text
    assert "0 doctors" in text
    assert "3 doctors" not in text


def test_department_list_shows_opening_hours_and_links_to_filtered_directory(client):
    department = DepartmentFactory(
        name="Cardiology", opens_at=datetime.time(8, 30), closes_at=datetime.time(17, 0)
    )
    response = client.get(reverse("doctors:departments"))
    text = page_text(response)
    assert "Open 08:30–17:00" in text
    assert f"{reverse('doctors:list')}?department={department.pk}" in text


# --- The doctor directory --------------------------------------------------------------------


def test_doctor_list_hides_inactive_doctors(client):
    DoctorFactory(full_name="Dr Active Able")
    DoctorFactory(full_name="Dr Retired Rowe", is_active=False)

    response = doctor_list(client)

    assert listed_names(response) == ["Dr Active Able"]
    assert "Dr Retired Rowe" not in page_text(response)


def test_doctor_list_filters_by_department(client):
    cardiology = DepartmentFactory(name="Cardiology")
    DoctorFactory(full_name="Dr Heart", department=cardiology)
    DoctorFactory(full_name="Dr Skin", department=DepartmentFactory(name="Dermatology"))

    response = doctor_list(client, department=cardiology.pk)

    assert listed_names(response) == ["Dr Heart"]


def test_doctor_list_filters_by_partial_name_ignoring_case(client):
    DoctorFactory(full_name="Dr Meera Krishnan")
    DoctorFactory(full_name="Dr KRISHNA Murthy")
    DoctorFactory(full_name="Dr John Smith")

    response = doctor_list(client, name="krishn")

    assert listed_names(response) == ["Dr KRISHNA Murthy", "Dr Meera Krishnan"]


def test_doctor_list_combines_department_and_name_filters(client):
    cardiology = DepartmentFactory(name="Cardiology")
    DoctorFactory(full_name="Dr Rao Heart", department=cardiology)
    DoctorFactory(full_name="Dr Rao Skin", department=DepartmentFactory(name="Dermatology"))
    DoctorFactory(full_name="Dr Iyer Heart", department=cardiology)

    response = doctor_list(client, department=cardiology.pk, name="rao")

    assert listed_names(response) == ["Dr Rao Heart"]


def test_doctor_list_says_when_nothing_matches(client):
    DoctorFactory(full_name="Dr Meera Krishnan")
    response = doctor_list(client, name="zzz")
    assert listed_names(response) == []
    assert "No doctors match your search" in page_text(response)


def test_doctor_list_shows_department_and_fee(client):
    DoctorFactory(
        full_name="Dr Heart",
        department=DepartmentFactory(name="Cardiology"),
        consultation_fee=Decimal("750.00"),
    )
    text = page_text(doctor_list(client))
    assert "Cardiology" in text
    assert "750.00" in text


def test_doctor_list_paginates_twenty_a_page_keeping_filters_in_page_links(client):
    cardiology = DepartmentFactory(name="Cardiology")
    for n in range(DOCTORS_PER_PAGE + 5):
        DoctorFactory(full_name=f"Dr Rao {n:02d}", department=cardiology)
    DoctorFactory(full_name="Dr Rao Elsewhere", department=DepartmentFactory(name="Dermatology"))

    first = doctor_list(client, department=cardiology.pk, name="rao")
    assert DOCTORS_PER_PAGE == 20
    assert len(listed_names(first)) == 20
    assert first.context["page"].paginator.count == 25
    links = re.findall(r'href="\?([^"]*page=\d+)"', page_text(first))
    assert links == [f"department={cardiology.pk}&name=rao&page=2"]

    second = client.get(f"{reverse('doctors:list')}?{links[0]}")
    names = listed_names(second)
    assert len(names) == 5
    assert "Dr Rao Elsewhere" not in names
    assert set(names).isdisjoint(listed_names(first))
    previous = re.findall(r'href="\?([^"]*page=\d+)"', page_text(second))
    assert previous == [f"department={cardiology.pk}&name=rao&page=1"]


# --- Bad query input never breaks the directory ---------------------------------------------


@pytest.mark.parametrize("department", ["abc", "999999", "-1", "99999999999999999999999"])
def test_doctor_list_reports_a_bad_department_and_lists_everyone(client, department):
    DoctorFactory.create_batch(2)

    response = doctor_list(client, department=department)

    assert response.status_code == 200
    assert "department" in response.context["form"].errors
    assert "Select a valid choice" in page_text(response)
    assert len(listed_names(response)) == 2


def test_doctor_list_keeps_the_name_filter_when_the_department_is_bad(client):
    DoctorFactory(full_name="Dr Meera Krishnan")
    DoctorFactory(full_name="Dr John Smith")

    response = doctor_list(client, department="abc", name="krishnan")

    assert response.status_code == 200
    assert "department" in response.context["form"].errors
    # The search box still shows "krishnan", so the results must honour it.
    assert listed_names(response) == ["Dr Meera Krishnan"]


def test_doctor_list_reports_an_overlong_name_and_keeps_the_department_filter(client):
    cardiology = DepartmentFactory(name="Cardiology")
    DoctorFactory(full_name="Dr Heart", department=cardiology)
    DoctorFactory(full_name="Dr Skin")

    response = doctor_list(client, department=cardiology.pk, name="x" * 5000)

    assert response.status_code == 200
    assert "Ensure this value has at most 100 characters" in page_text(response)
    assert listed_names(response) == ["Dr Heart"]


def test_doctor_list_refuses_a_name_with_a_null_character(client):
    # No query string with a NUL reaches a view (clinic.http_guards).
    DoctorFactory(full_name="Dr Heart")
    response = doctor_list(client, name="Dr\x00Heart")
    assert response.status_code == 400


@pytest.mark.parametrize("page", ["xyz", "", "1.5"])
def test_doctor_list_shows_the_first_page_for_a_page_that_is_not_a_number(client, page):
    for n in range(DOCTORS_PER_PAGE + 1):
        DoctorFactory(full_name=f"Dr {n:02d}")

    response = doctor_list(client, page=page)

    assert response.status_code == 200
    assert response.context["page"].number == 1
    assert listed_names(response)[0] == "Dr 00"


@pytest.mark.parametrize("page", ["0", "-3", "999999", "99999999999999999999999"])
def test_doctor_list_shows_the_last_page_for_a_page_out_of_range(client, page):
    for n in range(DOCTORS_PER_PAGE + 1):
        DoctorFactory(full_name=f"Dr {n:02d}")

    response = doctor_list(client, page=page)

    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert listed_names(response) == ["Dr 20"]


# --- A doctor's page -------------------------------------------------------------------------


def test_doctor_detail_shows_department_fee_qualifications_clinics_and_hours(client):
    doctor = DoctorFactory(
        full_name="Dr Asha Rao",
        department=DepartmentFactory(name="Cardiology"),
        qualifications="MBBS, MD (Cardiology)",
        consultation_fee=Decimal("850.00"),
    )
    central = ClinicFactory(name="Central Clinic")
    north = ClinicFactory(name="North Clinic")
    # Monday with a lunch break: two rows on one day, at two clinics.
    WorkingHoursFactory(
        doctor=doctor,
        clinic=central,
        weekday=0,
        starts_at=datetime.time(9, 0),
        ends_at=datetime.time(12, 30),
    )
    WorkingHoursFactory(
        doctor=doctor,
        clinic=north,
        weekday=0,
        starts_at=datetime.time(14, 0),
        ends_at=datetime.time(17, 0),
    )
    WorkingHoursFactory(
        doctor=doctor,
        clinic=central,
        weekday=3,
        starts_at=datetime.time(10, 0),
        ends_at=datetime.time(13, 0),
    )

    response = client.get(reverse("doctors:detail", args=[doctor.pk]))

    assert response.status_code == 200
    text = page_text(response)
    assert "Dr Asha Rao" in text
    assert "Cardiology" in text
    assert "MBBS, MD (Cardiology)" in text
    assert "850.00" in text
    assert "Central Clinic" in text and "North Clinic" in text
    assert "not taking new appointments" not in text

    schedule = [
        (day, [(row.starts_at, row.ends_at, row.clinic.name) for row in rows])
        for day, rows in response.context["schedule"]
    ]
    assert schedule == [
        (
            "Monday",
            [
                (datetime.time(9, 0), datetime.time(12, 30), "Central Clinic"),
                (datetime.time(14, 0), datetime.time(17, 0), "North Clinic"),
            ],
        ),
        ("Thursday", [(datetime.time(10, 0), datetime.time(13, 0), "Central Clinic")]),
    ]
    monday_row = re.search(r"<th scope=\"row\">Monday</th>(.*?)</tr>", text, re.S).group(1)
    assert "09:00–12:30 at Central Clinic" in monday_row
    assert "14:00–17:00 at North Clinic" in monday_row
    assert "Thursday" in text
    assert "Tuesday" not in text


def test_doctor_detail_without_hours_says_so(client):
    doctor = DoctorFactory()
    response = client.get(reverse("doctors:detail", args=[doctor.pk]))
    assert "no regular working hours" in page_text(response)


def test_doctor_detail_warns_when_registration_has_expired(client):
    doctor = DoctorFactory(
        registration_expires_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    response = client.get(reverse("doctors:detail", args=[doctor.pk]))
    assert response.status_code == 200
    assert "not taking new appointments" in page_text(response)


def test_doctor_detail_of_inactive_doctor_is_not_found(client):
    doctor = DoctorFactory(is_active=False)
    response = client.get(reverse("doctors:detail", args=[doctor.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("pk", [999999, 99999999999999999999999])
def test_doctor_detail_of_unknown_doctor_is_not_found(client, pk):
    DoctorFactory()
    response = client.get(f"/doctors/{pk}/")
    assert response.status_code == 404


# --- A page costs the same number of queries however much there is to show ------------------


@pytest.mark.parametrize("visitor", [None, "patient_user"], ids=lambda v: v or "anonymous")
def test_doctor_list_query_count_does_not_grow_with_doctors(
    client, request, visitor, django_assert_max_num_queries
):
    client = visit_as(client, request, visitor)
    url = reverse("doctors:list")
    DoctorFactory.create_batch(3, qualifications="MBBS")
    few = queries_for(client, url)

    DoctorFactory.create_batch(12, qualifications="MBBS")  # 15 doctors, 15 departments
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert len(listed_names(response)) == 15
    assert queries_for(client, url) == few


def test_filtered_doctor_list_query_count_does_not_grow_with_doctors(
    client, django_assert_max_num_queries
):
    cardiology = DepartmentFactory(name="Cardiology")
    DoctorFactory.create_batch(3, department=cardiology, full_name="Dr Rao")
    url = f"{reverse('doctors:list')}?department={cardiology.pk}&name=rao"
    few = queries_for(client, url)

    DoctorFactory.create_batch(12, department=cardiology, full_name="Dr Rao")
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert len(listed_names(response)) == 15


def test_department_list_query_count_does_not_grow_with_departments(
    client, django_assert_max_num_queries
):
    for _ in range(3):
        DoctorFactory()
    few = queries_for(client, reverse("doctors:departments"))
    for _ in range(12):
        DoctorFactory()
    with django_assert_max_num_queries(few):
        client.get(reverse("doctors:departments"))


@pytest.mark.parametrize("visitor", [None, "patient_user"], ids=lambda v: v or "anonymous")
def test_doctor_detail_query_count_does_not_grow_with_working_hours(
    client, request, visitor, django_assert_max_num_queries
):
    client = visit_as(client, request, visitor)
    doctor = DoctorFactory()
    url = reverse("doctors:detail", args=[doctor.pk])

    def add_hours(weekdays, clinics):
        for weekday in weekdays:
            for index, clinic in enumerate(clinics):
                WorkingHoursFactory(
                    doctor=doctor,
                    clinic=clinic,
                    weekday=weekday,
                    starts_at=datetime.time(8 + 3 * index, 0),
                    ends_at=datetime.time(10 + 3 * index, 0),
                )

    add_hours([0], ClinicFactory.create_batch(3))  # 3 rows, 3 clinics
    few = queries_for(client, url)

    add_hours([1, 2, 3, 4], ClinicFactory.create_batch(3))  # 15 rows, 6 clinics
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert sum(len(rows) for _, rows in response.context["schedule"]) == 15
    assert len(response.context["clinics"]) == 6


def test_anonymous_doctor_detail_costs_two_queries(client, django_assert_num_queries):
    doctor = DoctorFactory()
    clinic = ClinicFactory()
    for weekday in range(5):
        WorkingHoursFactory(doctor=doctor, clinic=clinic, weekday=weekday)
    with django_assert_num_queries(2):  # the doctor with department, then the hours with clinics
        response = client.get(reverse("doctors:detail", args=[doctor.pk]))
    assert response.status_code == 200


def test_department_list_does_not_count_a_doctor_whose_registration_has_expired(client):
    cardiology = DepartmentFactory(name="Cardiology")
    current = DoctorFactory(department=cardiology)
    expired = DoctorFactory(
        department=cardiology,
        registration_expires_on=timezone.localdate() - datetime.timedelta(days=30),
    )
    for doctor in (current, expired):
        WorkingHoursFactory(doctor=doctor)

    response = client.get(reverse("doctors:departments"))

    assert {d.name: d.doctor_count for d in response.context["departments"]} == {"Cardiology": 1}
    assert "1 doctor" in page_text(response)
