"""My appointments pages its past and cancelled visits (20 a page, latest first); the upcoming
ones stay on top of every page."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import Status
from bookings.tests.factories import AppointmentFactory
from bookings.views import PAST_PER_PAGE
from doctors.tests.factories import ClinicFactory, DoctorFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def visits(patient_user):
    """Two upcoming visits and 45 past ones, one a day going back from yesterday."""
    doctor, clinic = DoctorFactory(), ClinicFactory(timezone="Asia/Kolkata")
    patient = patient_user.patient
    upcoming = [
        AppointmentFactory(
            patient=patient,
            doctor=doctor,
            clinic=clinic,
            start=NOW + dt.timedelta(days=days, hours=1),
        )
        for days in (1, 2)
    ]
    past = [
        AppointmentFactory(
            patient=patient,
            doctor=doctor,
            clinic=clinic,
            start=NOW - dt.timedelta(days=days),
            status=Status.COMPLETED,
        )
        for days in range(1, 46)
    ]
    return upcoming, past  # past is latest first


def mine(client, page=None):
    url = reverse("bookings:mine")
    return client.get(url if page is None else f"{url}?page={page}")


def test_past_visits_come_twenty_a_page_latest_first(client, patient_user, visits):
    _, past = visits
    client.force_login(patient_user)

    first, third = mine(client), mine(client, 3)

    assert PAST_PER_PAGE == 20
    assert list(first.context["past"]) == past[:20]
    assert list(third.context["past"]) == past[40:]
    assert "Page 1 of 3" in first.content.decode()
    assert "?page=2" in first.content.decode()


def test_upcoming_visits_stay_on_top_of_every_page(client, patient_user, visits):
    upcoming, _ = visits
    client.force_login(patient_user)
    for page in (1, 2, 3):
        assert list(mine(client, page).context["upcoming"]) == upcoming


@pytest.mark.parametrize("page", ["0", "99", "x", "-1"])
def test_an_odd_page_number_still_shows_a_page(client, patient_user, visits, page):
    client.force_login(patient_user)
    response = mine(client, page)
    assert response.status_code == 200
    assert len(response.context["past"]) in (20, 5)


def test_a_page_costs_the_same_queries_however_long_the_history(client, patient_user, visits):
    client.force_login(patient_user)
    mine(client)  # warm what the first request fills
    with CaptureQueriesContext(connection) as long_history:
        mine(client, 2)
    _, past = visits
    for visit in past[:30]:
        visit.delete()
    with CaptureQueriesContext(connection) as short_history:
        mine(client)
    assert len(long_history) == len(short_history)


def test_a_short_history_has_no_page_links(client, patient_user):
    client.force_login(patient_user)
    AppointmentFactory(
        patient=patient_user.patient, start=NOW - dt.timedelta(days=3), status=Status.COMPLETED
    )
    response = mine(client)
    assert "Pages of results" not in response.content.decode()
    assert len(response.context["past"]) == 1
