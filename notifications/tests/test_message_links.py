"""The one-click links that confirmations and reminders carry: real notices are queued and sent
by the worker's own function, and the links read from what went out are followed."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import PatientFactory
from bookings.models import Appointment, AppointmentLink, ContactChannel, Status
from bookings.services import cancel_appointment
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DoctorFactory
from notifications import delivery, outbox, sms
from notifications.models import Notification

pytestmark = pytest.mark.django_db

PORTAL = "https://clinic.example.org"
LINK = re.compile(re.escape(PORTAL) + r"/links/[A-Za-z0-9_-]+/")
Kind = Notification.Kind
Channel = Notification.Channel


@pytest.fixture(autouse=True)
def message_settings(settings):
    settings.PORTAL_URL = PORTAL
    settings.CLINIC_NAME = "Sunrise Health"
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    settings.NOTIFICATION_REMINDER_HOURS = [24, 2]
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    sms.outbox.clear()
    yield settings
    sms.outbox.clear()


def booked(patient):
    """An appointment two days ahead whose notices are queued as a booking queues them."""
    start = timezone.now() + dt.timedelta(days=2)
    appointment = AppointmentFactory(
        patient=patient,
        start=start,
        doctor=DoctorFactory(with_account=True),
        clinic=ClinicFactory(phone="+918012345678", timezone="Asia/Kolkata"),
    )
    outbox.booked(appointment, now=timezone.now())
    return appointment


def send(kind, *, now=None):
    """Sends what is due of `kind` (others pushed out of the way); returns (emails, texts)."""
    Notification.objects.exclude(kind=kind).update(send_after=timezone.now() + dt.timedelta(days=9))
    mail.outbox.clear()
    sms.outbox.clear()
    delivery.send_due(now=now or timezone.now())
    return list(mail.outbox), [text["body"] for text in sms.outbox]


def patient_email(emails, patient):
    [message] = [m for m in emails if m.to == [patient.email]]
    return message.body, message.alternatives[0][0]


def path(url):
    return url.removeprefix(PORTAL)


@pytest.fixture
def patient():
    return PatientFactory(with_account=True, email="asha@example.com", phone="+919800000001")


def test_a_confirmation_email_carries_working_confirm_cancel_and_move_links(client, patient):
    appointment = booked(patient)
    emails, _ = send(Kind.CONFIRMATION)
    text, html = patient_email(emails, patient)
    urls = LINK.findall(text)
    assert len(urls) == 3
    assert sorted(urls) == sorted(set(LINK.findall(html)))
    confirm, cancel, move = urls
    assert "Confirm with one click" in text.replace("\n", " ") or "one click" in text
    assert client.get(path(move)).status_code == 302
    page = client.get(path(confirm))
    assert page.status_code == 200 and "Yes, I will come" in page.content.decode()
    assert client.post(path(confirm)).status_code == 200
    appointment.refresh_from_db()
    assert appointment.attendance_confirmed_via == ContactChannel.LINK
    assert client.get(path(cancel)).status_code == 200  # still there, for another day


def test_a_confirmation_text_carries_the_two_links_that_need_no_login(client, patient):
    appointment = booked(patient)
    _, texts = send(Kind.CONFIRMATION)
    [text] = texts
    confirm, cancel = LINK.findall(text)
    assert "Confirm: " + confirm in text and "Cancel: " + cancel in text
    assert client.post(path(cancel)).status_code == 200
    assert Appointment.objects.get(pk=appointment.pk).status == Status.CANCELLED


def test_a_reminder_carries_links_and_its_cancel_link_cancels(client, patient):
    appointment = booked(patient)
    emails, texts = send(Kind.REMINDER, now=appointment.start - dt.timedelta(hours=24))
    text, _ = patient_email(emails, patient)
    assert len(LINK.findall(text)) == 3
    [sms_text] = texts
    assert len(LINK.findall(sms_text)) == 2
    cancel = LINK.findall(text)[1]
    assert client.post(path(cancel)).status_code == 200
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_via) == (
        Status.CANCELLED,
        ContactChannel.LINK,
    )
    # Every link of every message about it is dead now.
    for url in LINK.findall(text) + LINK.findall(sms_text):
        assert client.get(path(url)).status_code == 404


def test_a_walk_in_patients_messages_carry_no_move_link_and_say_to_call(client):
    walk_in = PatientFactory(email="ravi@example.com", phone="+919800000002")
    appointment = booked(walk_in)
    emails, texts = send(Kind.CONFIRMATION)
    text, html = patient_email(emails, walk_in)
    assert len(LINK.findall(text)) == len(set(LINK.findall(html))) == 2
    assert "please call the clinic on +918012345678" in text
    assert "portal" not in text.lower() and "portal" not in texts[0].lower()
    confirm = LINK.findall(text)[0]
    assert client.post(path(confirm)).status_code == 200
    assert Appointment.objects.get(pk=appointment.pk).attendance_confirmed


def test_each_message_gets_links_of_its_own(patient):
    booked(patient)
    emails, texts = send(Kind.CONFIRMATION)
    text, _ = patient_email(emails, patient)
    assert not set(LINK.findall(text)) & set(LINK.findall(texts[0]))
    assert AppointmentLink.objects.count() == 5


def test_the_doctors_copy_and_cancellation_and_new_time_notices_carry_no_links(patient):
    appointment = booked(patient)
    emails, _ = send(Kind.CONFIRMATION)
    links_before = AppointmentLink.objects.count()
    [to_doctor] = [message for message in emails if message.to != [patient.email]]
    assert to_doctor.to == [appointment.doctor.user.email]
    assert not LINK.search(to_doctor.body + to_doctor.alternatives[0][0])
    cancel_appointment(appointment=appointment, by=patient.user)
    emails, texts = send(Kind.CANCELLATION)
    assert emails and texts
    for body in [m.body for m in emails] + [m.alternatives[0][0] for m in emails] + texts:
        assert not LINK.search(body)
    assert AppointmentLink.objects.count() == links_before


def test_without_a_portal_address_messages_carry_no_links(patient, message_settings):
    message_settings.PORTAL_URL = ""
    booked(patient)
    emails, texts = send(Kind.CONFIRMATION)
    text, _ = patient_email(emails, patient)
    assert "/links/" not in text and "/links/" not in texts[0]
    assert '"My appointments"' in text
    assert not AppointmentLink.objects.exists()


def test_the_workers_round_deletes_links_past_their_expiry(patient):
    from io import StringIO

    from django.core.management import call_command

    from notifications.tasks import clear_expired_holds

    gone, kept = booked(patient), booked(PatientFactory(email="b@example.com"))
    send(Kind.CONFIRMATION)
    AppointmentLink.objects.filter(appointment=gone).update(
        created_at=timezone.now() - dt.timedelta(days=3),
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    call_command("send_notifications", stdout=StringIO())
    assert not AppointmentLink.objects.filter(appointment=gone).exists()
    assert AppointmentLink.objects.filter(appointment=kept).exists()
    AppointmentLink.objects.filter(appointment=kept).update(
        created_at=timezone.now() - dt.timedelta(days=3),
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    clear_expired_holds()
    assert not AppointmentLink.objects.exists()
