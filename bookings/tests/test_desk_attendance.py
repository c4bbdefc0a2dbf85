"""Attendance confirmations at the front desk: today's arrivals and the appointment page say
"Confirmed" or "Not confirmed" in words; the desk records a confirmation heard by phone."""

import datetime as dt
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, ContactChannel, Status
from bookings.services import confirm_attendance
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DoctorFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)
DESK = ["front_desk_user", "clinic_admin_user"]
NOT_DESK = ["patient_user", "other_patient_user", "doctor_user"]


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def doctor():
    return DoctorFactory(full_name="Dr Anil Rao")


def today_at(hour, minute=0):
    return dt.datetime.combine(NOW.date(), dt.time(hour, minute), tzinfo=KOLKATA)


@pytest.fixture
def appointment(doctor, clinic):
    return AppointmentFactory(
        doctor=doctor,
        clinic=clinic,
        start=today_at(11),
        patient=PatientFactory(full_name="Leela Das"),
    )


@pytest.fixture
def desk_client(client, front_desk_user):
    client.force_login(front_desk_user)
    return client


def words_of(html):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def text_of(response):
    return words_of(response.content.decode())


def fresh(appointment):
    return Appointment.objects.get(pk=appointment.pk)


# --- Today's arrivals ---------------------------------------------------------------------------


def _row_words(response, name):
    """The text of the arrivals table row naming `name`."""
    html = response.content.decode()
    start = html.rindex("<tr>", 0, html.index(name))
    return words_of(html[start : html.index("</tr>", start)])


def test_arrivals_say_in_words_who_confirmed(desk_client, appointment, doctor, clinic):
    other = AppointmentFactory(
        doctor=doctor, clinic=clinic, start=today_at(12), patient=PatientFactory(full_name="Om Jha")
    )
    confirm_attendance(appointment=other, via=ContactChannel.LINK)
    response = desk_client.get(reverse("desk:queue"))
    assert "Attendance" in text_of(response)
    assert "Not confirmed" in _row_words(response, "Leela Das")
    assert "Not confirmed" not in _row_words(response, "Om Jha")
    assert "Confirmed" in _row_words(response, "Om Jha")


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_arrivals_cost_the_same_queries_whoever_confirmed(
    desk_client, appointment, doctor, clinic, front_desk_user
):
    few = _queries(desk_client, reverse("desk:queue"))
    for n in range(9):
        more = AppointmentFactory(
            doctor=doctor, clinic=clinic, start=today_at(12) + dt.timedelta(minutes=15 * n)
        )
        if n % 3 == 0:
            confirm_attendance(appointment=more, via=ContactChannel.DESK, by=front_desk_user)
        elif n % 3 == 1:
            confirm_attendance(appointment=more, via=ContactChannel.LINK)
    assert _queries(desk_client, reverse("desk:queue")) == few


# --- The appointment page -----------------------------------------------------------------------


@pytest.mark.parametrize("who", DESK)
def test_the_desk_records_a_confirmation_heard_by_phone(client, appointment, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    page = client.get(reverse("desk:appointment", kwargs={"pk": appointment.pk}))
    assert "Attendance: Not confirmed" in text_of(page)
    assert "Patient will come" in text_of(page)
    response = client.post(
        reverse("desk:confirm_attendance", kwargs={"pk": appointment.pk}), follow=True
    )
    words = text_of(response)
    assert "Leela Das will come: recorded." in words
    assert "Attendance: Confirmed front desk (by phone or in person), 1 Dec 2026 at 09:30" in words
    assert "recorded by" in words
    assert "Patient will come" not in words  # nothing more to record
    appointment = fresh(appointment)
    assert (appointment.attendance_confirmed_via, appointment.attendance_confirmed_by) == (
        ContactChannel.DESK,
        user,
    )


def test_a_confirmation_by_link_shows_its_channel(desk_client, appointment):
    confirm_attendance(appointment=appointment, via=ContactChannel.LINK)
    words = text_of(desk_client.get(reverse("desk:appointment", kwargs={"pk": appointment.pk})))
    assert "Attendance: Confirmed link in a message, 1 Dec 2026 at 09:30" in words
    assert "recorded by" not in words


def test_a_cancellation_by_link_says_the_patient_did_it(desk_client, doctor, clinic):
    from bookings.services import cancel_appointment

    appointment = AppointmentFactory(doctor=doctor, clinic=clinic, start=today_at(17))
    cancel_appointment(appointment=appointment, by=None, via=ContactChannel.LINK)
    words = text_of(desk_client.get(reverse("desk:appointment", kwargs={"pk": appointment.pk})))
    assert "by the patient (link in a message)" in words


def test_the_appointment_page_costs_the_same_queries_when_the_desk_confirmed(
    desk_client, appointment, front_desk_user
):
    url = reverse("desk:appointment", kwargs={"pk": appointment.pk})
    before = _queries(desk_client, url)
    confirm_attendance(
        appointment=appointment, via=ContactChannel.DESK, by=UserFactory(full_name="Rita Desk")
    )
    assert _queries(desk_client, url) == before
    assert "recorded by Rita Desk" in text_of(desk_client.get(url))


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.CHECKED_IN, Status.NO_SHOW])
def test_no_confirmation_is_offered_or_taken_for_an_appointment_not_booked(
    desk_client, appointment, status
):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    page = desk_client.get(reverse("desk:appointment", kwargs={"pk": appointment.pk}))
    assert "Patient will come" not in text_of(page)
    response = desk_client.post(
        reverse("desk:confirm_attendance", kwargs={"pk": appointment.pk}), follow=True
    )
    assert "Only a booked appointment can be confirmed." in text_of(response)
    assert not fresh(appointment).attendance_confirmed


def test_a_started_appointment_cannot_be_confirmed(desk_client, doctor, clinic):
    started = AppointmentFactory(doctor=doctor, clinic=clinic, start=today_at(9))
    response = desk_client.post(
        reverse("desk:confirm_attendance", kwargs={"pk": started.pk}), follow=True
    )
    assert "already started" in text_of(response)
    assert not fresh(started).attendance_confirmed


def test_confirming_an_unknown_appointment_is_404(desk_client):
    response = desk_client.post(reverse("desk:confirm_attendance", kwargs={"pk": 999999}))
    assert response.status_code == 404


def test_confirming_wants_a_post(desk_client, appointment):
    url = reverse("desk:confirm_attendance", kwargs={"pk": appointment.pk})
    assert desk_client.get(url).status_code == 405
    assert not fresh(appointment).attendance_confirmed


@pytest.mark.parametrize("who", NOT_DESK)
def test_only_the_desk_records_confirmations(client, appointment, who, request):
    client.force_login(request.getfixturevalue(who))
    url = reverse("desk:confirm_attendance", kwargs={"pk": appointment.pk})
    assert client.post(url).status_code == 404
    assert not fresh(appointment).attendance_confirmed


def test_a_visitor_is_sent_to_log_in(client, appointment):
    url = reverse("desk:confirm_attendance", kwargs={"pk": appointment.pk})
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not fresh(appointment).attendance_confirmed


def test_the_desk_returns_to_the_page_it_came_from(desk_client, appointment):
    url = reverse("desk:confirm_attendance", kwargs={"pk": appointment.pk})
    response = desk_client.post(url, {"next": reverse("desk:queue")})
    assert response["Location"] == reverse("desk:queue")
    response = desk_client.post(url, {"next": "https://elsewhere.example/desk/"})
    assert response["Location"] == reverse("desk:appointment", kwargs={"pk": appointment.pk})
