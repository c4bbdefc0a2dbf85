"""The offer's notice: written once with the offer, sent by the notifications worker with a link
that opens the offer (email and text), saying no more about the patient than they need, and not
sent at all once the offer is gone. The worker's round and the Celery task make the offers."""

import datetime as dt
import logging
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.services import cancel_appointment
from bookings.tests.factories import AppointmentFactory
from notifications import delivery, sms, tasks
from notifications.models import Notification
from waitlist import links
from waitlist.models import OfferLink, OfferState, WaitlistOffer
from waitlist.services import decline_offer, offer_freed_times
from waitlist.tests.conftest import MONDAY, NOW, TUESDAY_9
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    settings.CLINIC_NAME = "Sunrise Clinics"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def waiting(doctor, clinic):
    """A patient waiting for the doctor, and Tuesday 09:00 freed and offered to them at NOW."""
    entry = WaitlistEntryFactory(
        doctor=doctor,
        earliest=MONDAY,
        latest=MONDAY + dt.timedelta(days=7),
        created_at=NOW - dt.timedelta(hours=1),
        patient__full_name="Meera Quietname",
    )
    appointment = AppointmentFactory(doctor=doctor, clinic=clinic, start=TUESDAY_9)
    cancel_appointment(appointment=appointment, by=UserFactory(), now=NOW)
    Notification.objects.filter(appointment__isnull=False).delete()  # the cancellation's
    offer_freed_times(NOW)
    return entry


def test_the_offer_is_emailed_and_texted_with_a_link_that_opens_it(waiting, sms_outbox):
    counts = delivery.send_due(now=NOW)

    assert counts["sent"] == 2
    [email] = mail.outbox
    assert email.to == [waiting.patient.email]
    assert email.subject == "A time has come free for you · Sunrise Clinics"
    offer = WaitlistOffer.objects.get()
    text = email.body
    assert offer.doctor.full_name in text
    assert "Tuesday 8 January 2030, 09:00" in text
    assert "kept for you until 08:30" in text
    assert "Meera" not in text and "Meera" not in email.alternatives[0][0]
    assert not email.attachments
    [link] = [word for word in text.split() if word.startswith("https://portal.example.org/")]
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert links.find(token, now=NOW) == offer
    [texted] = sms_outbox
    assert texted["to"] == waiting.patient.phone
    assert "Tue 8 Jan 09:00" in texted["body"] and "Meera" not in texted["body"]
    assert "Book: https://portal.example.org/waitlist/offers/" in texted["body"]
    assert OfferLink.objects.filter(offer=offer).count() == 2  # one per message
    html = email.alternatives[0][0]
    assert 'href="https://portal.example.org/waitlist/offers/' in html


def test_a_patient_without_a_login_is_told_to_call(doctor, clinic, sms_outbox):
    WaitlistEntryFactory(
        doctor=doctor,
        patient=PatientFactory(),
        earliest=MONDAY,
        created_by=None,
        created_at=NOW - dt.timedelta(hours=1),
    )
    appointment = AppointmentFactory(doctor=doctor, clinic=clinic, start=TUESDAY_9)
    cancel_appointment(appointment=appointment, by=UserFactory(), now=NOW)
    Notification.objects.filter(appointment__isnull=False).delete()
    offer_freed_times(NOW)

    delivery.send_due(now=NOW)

    [email] = mail.outbox
    assert "please call the clinic on +918000000000" in email.body
    assert "https://" not in email.body
    assert "call +918000000000" in sms_outbox[0]["body"]
    assert not OfferLink.objects.exists()


def test_without_a_portal_address_the_notice_sends_patients_to_the_portal(
    waiting, settings, sms_outbox
):
    settings.PORTAL_URL = ""
    delivery.send_due(now=NOW)
    [email] = mail.outbox
    assert 'open "My waitlist"' in email.body
    assert '"My waitlist" in the portal' in sms_outbox[0]["body"]
    assert (
        "please call" in mail.outbox[0].alternatives[0][0]
        or "My waitlist" in (mail.outbox[0].alternatives[0][0])
    )


def test_a_notice_of_an_offer_already_gone_is_not_sent(waiting):
    decline_offer(offer=WaitlistOffer.objects.get(), patient=waiting.patient, now=NOW)

    counts = delivery.send_due(now=NOW)

    assert counts["skipped"] == 2 and counts["sent"] == 0
    assert not mail.outbox
    assert set(Notification.objects.values_list("state", flat=True)) == {"skipped"}


def test_a_link_opens_nothing_once_the_offer_has_lapsed(waiting):
    offer = WaitlistOffer.objects.get()
    url = links.issue(offer, now=NOW)
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert links.find(token, now=NOW) == offer
    assert links.find(token, now=offer.expires_at) is None
    assert links.find("x" * 65, now=NOW) is None
    assert links.find("", now=NOW) is None
    assert links.issue(offer, now=offer.expires_at) == ""


# The worker's round and the Celery task ---------------------------------------------------------


def test_the_workers_round_offers_freed_times_and_sends_the_notice_at_once(doctor, clinic):
    now = timezone.now()
    entry = WaitlistEntryFactory(doctor=doctor, created_at=now - dt.timedelta(hours=1))
    start = doctor_next_free(doctor, clinic, now)
    appointment = AppointmentFactory(doctor=doctor, clinic=clinic, start=start)
    cancel_appointment(appointment=appointment, by=UserFactory())
    out = mock.Mock()

    call_command("send_notifications", stdout=out)

    written = "".join(call.args[0] for call in out.write.call_args_list)
    assert "Waitlist: offered 1 freed times, settled 0 offers." in written
    assert WaitlistOffer.objects.get().entry == entry
    offers = [m for m in mail.outbox if m.subject.startswith("A time has come free")]
    assert [m.to for m in offers] == [[entry.patient.email]]


def doctor_next_free(doctor, clinic, now):
    """A start on the doctor's grid a few days ahead (the doctor works weekday mornings)."""
    from bookings.selectors import open_slots

    return open_slots(doctor=doctor, clinic=clinic, now=now)[0].start


def test_the_celery_task_offers_freed_times(doctor, clinic):
    now = timezone.now()
    WaitlistEntryFactory(doctor=doctor, created_at=now - dt.timedelta(hours=1))
    appointment = AppointmentFactory(
        doctor=doctor, clinic=clinic, start=doctor_next_free(doctor, clinic, now)
    )
    cancel_appointment(appointment=appointment, by=UserFactory())

    counts = tasks.offer_waitlist_times.apply().get()

    assert counts["offered"] == 1
    assert WaitlistOffer.objects.get().state == OfferState.OPEN


def test_the_celery_task_leaves_an_outage_to_the_next_tick(caplog):
    with mock.patch.object(
        tasks, "offer_freed_times", side_effect=OperationalError("server closed the connection")
    ):
        assert tasks.offer_waitlist_times.apply().get() is None
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "Offering freed times: the database could not be reached (OperationalError)."
    ]
