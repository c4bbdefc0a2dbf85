"""Appointments in the back office: looked up by staff, changed only through the services."""

import pytest
from django.urls import reverse

from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:bookings_appointment_changelist")


@pytest.fixture
def appointments():
    return [AppointmentFactory(), AppointmentFactory(status=Status.COMPLETED)]


@pytest.mark.parametrize("staff", ["front_desk_user", "clinic_admin_user"])
def test_staff_look_up_appointments_in_the_admin(client, request, staff, appointments):
    client.force_login(request.getfixturevalue(staff))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert appointments[0].patient.full_name in response.content.decode()
    change = client.get(reverse("admin:bookings_appointment_change", args=[appointments[0].pk]))
    assert change.status_code == 200


@pytest.mark.parametrize("visitor", [None, "patient_user", "doctor_user"])
def test_patients_doctors_and_visitors_cannot_open_the_appointment_admin(
    client, request, visitor, appointments
):
    if visitor:
        client.force_login(request.getfixturevalue(visitor))
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_nobody_adds_or_deletes_appointments_in_the_admin(client, clinic_admin_user, appointments):
    client.force_login(clinic_admin_user)
    assert client.get(reverse("admin:bookings_appointment_add")).status_code == 403
    url = reverse("admin:bookings_appointment_delete", args=[appointments[0].pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Appointment.objects.count() == 2


def test_the_change_form_edits_nothing(client, clinic_admin_user, appointments):
    client.force_login(clinic_admin_user)
    appointment = appointments[0]
    url = reverse("admin:bookings_appointment_change", args=[appointment.pk])
    client.post(url, {"status": Status.COMPLETED, "reason": "changed"})
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED
    assert appointment.reason != "changed"


# The actions (no-show, cancel with a reason, CSV export) are tested in test_admin_actions.py.
