"""Whether a doctor is bookable today is decided on each clinic's own calendar, not the server's
(issue 18, item 3): a registration that ends on 15 January stops taking bookings at midnight in
Kolkata for the Kolkata clinic, and hours later at midnight in New York for the New York one.

The server's zone is UTC here, so that it matches neither clinic."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from doctors.selectors import bookable_doctors, departments_with_doctor_counts
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
LAST_VALID_DAY = dt.date(2026, 1, 15)

# (instant in UTC, {doctors bookable then}); the Kolkata clinic is UTC+5:30, New York UTC-5.
ACROSS_MIDNIGHTS = [
    (dt.datetime(2026, 1, 15, 18, 29, tzinfo=UTC), {"Dr Kolkata", "Dr New York"}),  # 23:59 IST
    (dt.datetime(2026, 1, 15, 18, 31, tzinfo=UTC), {"Dr New York"}),  # 00:01 IST on the 16th
    (dt.datetime(2026, 1, 16, 4, 59, tzinfo=UTC), {"Dr New York"}),  # 23:59 EST on the 15th
    (dt.datetime(2026, 1, 16, 5, 1, tzinfo=UTC), set()),  # 00:01 EST on the 16th
]


@pytest.fixture(autouse=True)
def server_in_utc(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def department():
    return DepartmentFactory(name="Cardiology")


@pytest.fixture
def doctors(department):
    """One doctor at a Kolkata clinic and one at a New York clinic, both registered until the
    15th; one more, valid for a year, so that the pages are never empty."""
    kolkata = ClinicFactory(name="Kolkata", timezone="Asia/Kolkata")
    new_york = ClinicFactory(name="New York", timezone="America/New_York")
    found = {}
    for name, clinic in (("Dr Kolkata", kolkata), ("Dr New York", new_york)):
        found[name] = DoctorFactory(
            full_name=name, department=department, registration_expires_on=LAST_VALID_DAY
        )
        WorkingHoursFactory(doctor=found[name], clinic=clinic)
    found["Dr Always"] = DoctorFactory(
        full_name="Dr Always",
        department=department,
        registration_expires_on=LAST_VALID_DAY + dt.timedelta(days=365),
    )
    WorkingHoursFactory(doctor=found["Dr Always"], clinic=kolkata)
    return found


@pytest.mark.parametrize(("instant", "expected"), ACROSS_MIDNIGHTS)
def test_bookable_doctors_follow_each_clinics_own_date(doctors, instant, expected):
    names = {doctor.full_name for doctor in bookable_doctors(now=instant)}
    assert names == expected | {"Dr Always"}


@pytest.mark.parametrize(("instant", "expected"), ACROSS_MIDNIGHTS)
def test_the_patients_doctor_list_follows_each_clinics_own_date(
    client, doctors, department, instant, expected
):
    with time_machine.travel(instant, tick=False):
        response = client.get(reverse("bookings:doctors", kwargs={"department_id": department.pk}))
    listed = {doctor.full_name for doctor in response.context["doctors"]}
    assert listed == expected | {"Dr Always"}


@pytest.mark.parametrize(("instant", "expected"), ACROSS_MIDNIGHTS)
def test_the_desks_booking_page_follows_each_clinics_own_date(
    client, front_desk_user, doctors, instant, expected
):
    client.force_login(front_desk_user)
    with time_machine.travel(instant, tick=False):
        response = client.get(reverse("desk:book"))
    listed = {
        doctor.full_name
        for _, rows, *_first_times_and_type in response.context["departments"]
        for doctor, clinics in rows
        if clinics
    }
    assert listed == expected | {"Dr Always"}


@pytest.mark.parametrize(("instant", "expected"), ACROSS_MIDNIGHTS)
def test_the_department_counts_follow_each_clinics_own_date(doctors, department, instant, expected):
    with time_machine.travel(instant, tick=False):
        counts = {row.name: row.doctor_count for row in departments_with_doctor_counts()}
    assert counts["Cardiology"] == len(expected) + 1


@pytest.mark.parametrize(("instant", "expected"), ACROSS_MIDNIGHTS)
def test_the_patients_calendar_opens_only_while_the_clinics_date_allows(
    client, doctors, instant, expected
):
    doctor = doctors["Dr New York"]
    clinic = doctor.working_hours.get().clinic
    url = reverse("bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    with time_machine.travel(instant, tick=False):
        response = client.get(url)
    opens = response.status_code == 200
    assert opens == ("Dr New York" in expected)


@pytest.mark.parametrize(("instant", "expected"), ACROSS_MIDNIGHTS)
def test_the_doctors_own_page_offers_booking_while_the_clinics_date_allows(
    client, doctors, instant, expected
):
    for name in ("Dr Kolkata", "Dr New York"):
        with time_machine.travel(instant, tick=False):
            response = client.get(reverse("doctors:detail", args=[doctors[name].pk]))
        text = response.content.decode()
        assert ("not taking new appointments" not in text) == (name in expected)
        assert (reverse("bookings:clinics", args=[doctors[name].pk]) in text) == (name in expected)
