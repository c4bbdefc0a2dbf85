"""The "back" links of the patient's booking steps lead somewhere else than the page itself."""

import pytest
from django.urls import reverse

from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db


def back_link(response):
    """The href of the page's first "←" link."""
    content = response.content.decode()
    arrow = content.index("&larr;")
    return content[content.rindex('href="', 0, arrow) + 6 :].split('"', 1)[0]


def calendar_url(doctor, clinic):
    return reverse("bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})


def test_back_from_a_one_clinic_doctors_dates_goes_to_the_doctors_not_round_again(client):
    doctor = DoctorFactory(department=DepartmentFactory(name="Cardiology"))
    clinic = WorkingHoursFactory(doctor=doctor).clinic
    clinics_page = reverse("bookings:clinics", kwargs={"doctor_id": doctor.pk})
    assert client.get(clinics_page)["Location"] == calendar_url(doctor, clinic)

    back = back_link(client.get(calendar_url(doctor, clinic)))

    assert back == reverse("bookings:doctors", kwargs={"department_id": doctor.department_id})
    assert client.get(back).status_code == 200


def test_back_from_the_dates_of_a_doctor_at_two_clinics_goes_to_the_clinic_choice(client):
    doctor = DoctorFactory()
    clinic = WorkingHoursFactory(doctor=doctor, clinic=ClinicFactory(name="Lakeview")).clinic
    WorkingHoursFactory(doctor=doctor, clinic=ClinicFactory(name="Hillside"), weekday=1)

    back = back_link(client.get(calendar_url(doctor, clinic)))

    assert back == reverse("bookings:clinics", kwargs={"doctor_id": doctor.pk})
    assert client.get(back).status_code == 200
