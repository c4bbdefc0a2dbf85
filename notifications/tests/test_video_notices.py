"""A video visit's confirmation and reminders say it is by video and how to join: the address of
the appointment's page, which shows the join link when it is time, never the join link itself."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from accounts.tests.factories import PatientFactory
from bookings import services, video
from bookings.tests.factories import AppointmentFactory
from doctors.models import VisitType
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory
from notifications import delivery, outbox, sms
from notifications.models import Notification

pytestmark = pytest.mark.django_db

PORTAL = "https://clinic.example.org"
KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 3, 8, 9, 0, tzinfo=KOLKATA)
START = dt.datetime(2026, 3, 10, 10, 0, tzinfo=KOLKATA)
Kind = Notification.Kind


@pytest.fixture(autouse=True)
def message_settings(settings):
    settings.PORTAL_URL = PORTAL
    settings.CLINIC_NAME = "Sunrise Health"
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    settings.NOTIFICATION_REMINDER_HOURS = [24]
    settings.VIDEO_BACKEND = "bookings.video.JitsiBackend"
    settings.VIDEO_JITSI_URL = "https://meet.example.org"
    settings.VIDEO_LINK_OPENS_MINUTES_BEFORE = 15
    sms.outbox.clear()
    with time_machine.travel(NOW, tick=False):
        yield settings
    sms.outbox.clear()


@pytest.fixture
def patient():
    return PatientFactory(with_account=True, email="asha@example.com", phone="+919800000001")


def book(patient, *, mode=VisitType.Mode.VIDEO):
    doctor = DoctorFactory(with_account=True)
    appointment = AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=ClinicFactory(phone="+918012345678", timezone="Asia/Kolkata", name="Lakeview"),
        start=START,
        end=START + dt.timedelta(minutes=20),
        visit_type=VisitType.objects.create(name="Call", doctor=doctor, minutes=20, mode=mode),
    )
    outbox.booked(appointment, now=NOW)
    return appointment


def send(kind, *, now=NOW):
    """Sends what is due of `kind`; returns ({address: (text, html, message)}, [texts])."""
    Notification.objects.exclude(kind=kind).update(send_after=START + dt.timedelta(days=9))
    mail.outbox.clear()
    sms.outbox.clear()
    delivery.send_due(now=now)
    emails = {m.to[0]: (m.body, m.alternatives[0][0], m) for m in mail.outbox}
    return emails, [text["body"] for text in sms.outbox]


def flat(text):
    return re.sub(r"\s+", " ", text)


def page_of(appointment):
    return PORTAL + reverse("bookings:detail", kwargs={"pk": appointment.pk})


def test_the_patients_confirmation_says_by_video_and_links_the_appointment_page(patient):
    appointment = book(patient)
    emails, texts = send(Kind.CONFIRMATION)
    text, html, message = emails[patient.email]
    assert "Where: By video" in text
    assert "Please arrive ten minutes early" not in text + html
    assert "Lakeview" not in text.split("Where:")[1].split("\n")[0]
    assert (
        "This visit is by video. The link to join appears on your appointment page from 09:45 "
        "(15 minutes before the start); open it then (the portal asks you to log in):\n"
        + page_of(appointment)
    ) in text
    assert f'<a href="{page_of(appointment)}">your appointment page</a> from 09:45' in html
    assert ">By video</td>" in html
    [sms_text] = texts
    assert f"by video: join from 09:45 on {page_of(appointment)}" in sms_text
    # The room's address is in none of them, nor in the calendar file.
    room = video.room_name(appointment)
    for body in (text, html, sms_text, *[str(a[1]) for a in message.attachments]):
        assert room not in body
    [event] = Calendar.from_ical(message.attachments[0][1]).walk("VEVENT")
    assert str(event["location"]).startswith("By video")


def test_the_doctors_confirmation_links_the_appointment_in_their_schedule(patient):
    appointment = book(patient)
    emails, _ = send(Kind.CONFIRMATION)
    text, html, _ = emails[appointment.doctor.user.email]
    url = PORTAL + reverse("schedule:appointment", kwargs={"pk": appointment.pk})
    assert "Where: By video" in text
    assert (
        "The link to join appears on the appointment in your schedule from 09:45 (15 minutes "
        f"before the start):\n{url}"
    ) in text
    assert f'<a href="{url}">the appointment in your schedule</a>' in html
    assert video.room_name(appointment) not in text + html


def test_a_patient_without_a_login_is_told_to_call_for_the_link():
    walk_in = PatientFactory(email="ravi@example.com", phone="+919800000002")
    appointment = book(walk_in)
    emails, texts = send(Kind.CONFIRMATION)
    text, html, _ = emails[walk_in.email]
    expected = (
        "For the link to join, please call the clinic on +918012345678 from 09:45 (15 minutes "
        "before the start)."
    )
    assert expected in text and expected in html
    assert "/appointments/" not in text + html
    [sms_text] = texts
    assert "by video: call +918012345678 from 09:45 for the link" in sms_text
    assert video.room_name(appointment) not in text + html + sms_text


def test_without_a_public_address_the_patient_is_told_where_to_look(patient, settings):
    settings.PORTAL_URL = ""
    book(patient)
    emails, texts = send(Kind.CONFIRMATION)
    text, html, _ = emails[patient.email]
    assert 'log in to the portal then and open the appointment under "My appointments"' in text
    assert 'your appointment page (log in to the portal, "My appointments")' in html
    assert "on your appointment page in the portal" in texts[0]


def test_the_reminder_says_by_video_and_how_to_join(patient):
    appointment = book(patient)
    emails, texts = send(Kind.REMINDER, now=START - dt.timedelta(hours=24))
    text, html, _ = emails[patient.email]
    assert "Where: By video" in text
    assert "appears on your appointment page from 09:45" in flat(text)
    assert page_of(appointment) in text and page_of(appointment) in html
    assert f"by video: join from 09:45 on {page_of(appointment)}" in texts[0]
    assert video.room_name(appointment) not in text + html + texts[0]


def test_a_visit_in_person_keeps_its_address_and_arrival_advice(patient):
    book(patient, mode=VisitType.Mode.IN_PERSON)
    emails, texts = send(Kind.CONFIRMATION)
    text, html, _ = emails[patient.email]
    assert "Where: Lakeview" in text and "Please arrive ten minutes early" in text
    assert "by video" not in (text + html + texts[0]).lower()
    assert " at Lakeview." in texts[0]


def test_a_moved_video_visit_tells_how_to_join_at_the_new_time(patient):
    appointment = book(patient)
    WorkingHoursFactory(
        doctor=appointment.doctor, clinic=appointment.clinic, weekday=START.weekday()
    )
    moved = services.reschedule_appointment(
        appointment=appointment, start=START + dt.timedelta(hours=1), by=patient.user
    )
    emails, texts = send(Kind.RESCHEDULE)
    text, html, _ = emails[patient.email]
    assert "Where: By video" in text
    assert "from 10:45 (15 minutes before the start); open it then" in flat(text)
    assert page_of(moved) in text and page_of(moved) in html
    assert page_of(appointment) not in text
    assert f"by video: join from 10:45 on {page_of(moved)}" in texts[0]
    assert video.room_name(moved) not in text + html + texts[0]


def test_a_cancelled_video_visit_says_it_was_by_video(patient):
    appointment = book(patient)
    services.cancel_appointment(appointment=appointment, by=patient.user, reason="")
    emails, _ = send(Kind.CANCELLATION)
    text, html, _ = emails[patient.email]
    assert "Where: By video" in text and ">By video</td>" in html
    assert video.room_name(appointment) not in text + html
