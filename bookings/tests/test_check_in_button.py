"""The check-in button shows only where the check-in service would accept it: a booked
appointment on its own day in its clinic's calendar, on the desk's and the doctor's pages."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from bookings.models import Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
# 22:00 on Thursday 15 January in New York, already the 16th in UTC.
NOW = dt.datetime(2026, 1, 15, 22, 0, tzinfo=NEW_YORK)

LATER_TODAY = dt.datetime(2026, 1, 15, 23, 0, tzinfo=NEW_YORK)
TOMORROW = dt.datetime(2026, 1, 16, 9, 0, tzinfo=NEW_YORK)  # the 16th, as UTC's date is now
YESTERDAY = dt.datetime(2026, 1, 14, 9, 0, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def frozen_now(settings):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic():
    return ClinicFactory(name="Hudson", timezone="America/New_York")


def visit(doctor_user, clinic, start, status=Status.BOOKED):
    return AppointmentFactory(doctor=doctor_user.doctor, clinic=clinic, start=start, status=status)


def desk_shows_check_in(client, front_desk_user, appointment):
    client.force_login(front_desk_user)
    page = client.get(reverse("desk:appointment", kwargs={"pk": appointment.pk}))
    assert page.status_code == 200
    return reverse("desk:check_in", kwargs={"pk": appointment.pk}) in page.content.decode()


def doctor_shows_check_in(client, doctor_user, appointment):
    client.force_login(doctor_user)
    page = client.get(reverse("schedule:appointment", kwargs={"pk": appointment.pk}))
    assert page.status_code == 200
    action = reverse("schedule:transition", kwargs={"pk": appointment.pk, "action": "check-in"})
    return action in page.content.decode()


@pytest.mark.parametrize(
    ("start", "shown"), [(LATER_TODAY, True), (TOMORROW, False), (YESTERDAY, False)]
)
def test_the_desk_offers_check_in_only_on_the_appointments_own_clinic_day(
    client, front_desk_user, doctor_user, clinic, start, shown
):
    assert desk_shows_check_in(client, front_desk_user, visit(doctor_user, clinic, start)) is shown


@pytest.mark.parametrize(
    ("start", "shown"), [(LATER_TODAY, True), (TOMORROW, False), (YESTERDAY, False)]
)
def test_the_doctor_is_offered_check_in_only_on_the_appointments_own_clinic_day(
    client, doctor_user, clinic, start, shown
):
    assert doctor_shows_check_in(client, doctor_user, visit(doctor_user, clinic, start)) is shown


def test_no_check_in_for_an_appointment_already_checked_in(
    client, front_desk_user, doctor_user, clinic
):
    appointment = visit(doctor_user, clinic, LATER_TODAY, status=Status.CHECKED_IN)
    assert not desk_shows_check_in(client, front_desk_user, appointment)
    assert not doctor_shows_check_in(client, doctor_user, appointment)
