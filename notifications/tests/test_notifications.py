"""Notifications: the outbox written with each booking change, and its delivery.

Booking, cancelling and moving go through bookings.services at a fixed NOW (a Monday morning in
Kolkata, with the clock frozen there too); send_due() is then run at chosen instants, and what
went out is read from mail.outbox and the locmem SMS outbox.
"""

import contextlib
import datetime as dt
import smtplib
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from icalendar import Calendar

from accounts.tests.factories import PatientFactory
from bookings import signals
from bookings.models import Appointment, AppointmentType, PaymentMode, SlotHold, Status
from bookings.scheduling import at
from bookings.services import (
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from bookings.tests.factories import AppointmentFactory, SlotHoldFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)
from notifications import delivery, outbox, sms
from notifications.models import Notification
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)

Kind = Notification.Kind
Channel = Notification.Channel
Audience = Notification.Audience
State = Notification.State


def local(days, hour, minute=0):
    """An instant `days` after MONDAY at a wall-clock time in Kolkata."""
    return at(MONDAY + dt.timedelta(days=days), dt.time(hour, minute), KOLKATA)


NOW = local(0, 8)  # Monday 08:00
WEDNESDAY_10 = local(2, 10)  # 04:30 UTC
THURSDAY_1115 = local(3, 11, 15)  # 05:45 UTC
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
NOTHING = {"sent": 0, "failed": 0, "retrying": 0, "skipped": 0}
CLINIC_NAME = "Lotus Health"
ASHA_EMAIL, ASHA_PHONE = "asha@example.com", "+919800000001"
REASON = "Suspected tuberculosis, night sweats"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def notification_settings(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.NOTIFICATION_REMINDER_HOURS = [24, 2]
    settings.NOTIFICATION_MAX_ATTEMPTS = 5
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    settings.CLINIC_NAME = CLINIC_NAME
    sms.outbox.clear()
    yield settings
    sms.outbox.clear()


class FailingSmsBackend(sms.SmsBackend):
    def send(self, *, to, body):
        raise sms.SmsError(f"gateway refused {to}: {body}")


class InterruptingSmsBackend(sms.SmsBackend):
    """Stands for the worker being stopped (Ctrl-C) in the middle of a run."""

    def send(self, *, to, body):
        raise KeyboardInterrupt


@pytest.fixture
def clinic():
    return ClinicFactory(
        name="Lotus & Lily Clinic",
        address="12 Main Road\nBengaluru 560038",
        phone="+918041234567",
        timezone="Asia/Kolkata",
    )


def make_doctor(clinic, **fields):
    """Monday to Friday, 09:00-12:00, in the clinic's time."""
    doctor = DoctorFactory(
        slot_minutes=15,
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
        **fields,
    )
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
    return doctor


@pytest.fixture
def doctor(clinic):
    return make_doctor(clinic, full_name="Rohan D'Souza", with_account=True)


@pytest.fixture
def patient():
    return PatientFactory(
        with_account=True, full_name="Asha Menon", email=ASHA_EMAIL, phone=ASHA_PHONE
    )


@pytest.fixture
def book(patient, doctor, clinic):
    """book(start) books as the patient themselves at NOW; keywords override any argument."""

    def book(start, **overrides):
        arguments = {
            "patient": patient,
            "doctor": doctor,
            "clinic": clinic,
            "start": start,
            "appointment_type": AppointmentType.CONSULTATION,
            "payment_mode": PaymentMode.AT_CLINIC,
            "reason": REASON,
            "by": patient.user,
            "now": NOW,
        }
        arguments.update(overrides)
        return book_appointment(**arguments)

    return book


def queued(appointment, **filters):
    """{(kind, channel, audience, lead_minutes): (address, send_after, state)}"""
    return {
        (n.kind, n.channel, n.audience, n.lead_minutes): (n.address, n.send_after, n.state)
        for n in appointment.notifications.filter(**filters)
    }


def announced(kind, doctor):
    """The notice of `kind` to the patient (email and SMS) and the doctor (email), due at NOW."""
    return {
        (kind, Channel.EMAIL, Audience.PATIENT, 0): (ASHA_EMAIL, NOW, State.PENDING),
        (kind, Channel.SMS, Audience.PATIENT, 0): (ASHA_PHONE, NOW, State.PENDING),
        (kind, Channel.EMAIL, Audience.DOCTOR, 0): (doctor.user.email, NOW, State.PENDING),
    }


def reminders_before(start):
    """The patient's reminders by email and SMS, 24 h and 2 h before `start`."""
    return {
        (Kind.REMINDER, channel, Audience.PATIENT, hours * 60): (
            address,
            start - hours * HOUR,
            State.PENDING,
        )
        for channel, address in [(Channel.EMAIL, ASHA_EMAIL), (Channel.SMS, ASHA_PHONE)]
        for hours in (24, 2)
    }


def html_of(message):
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def mail_to(address, kind_subject):
    [message] = [m for m in mail.outbox if m.to == [address] and m.subject.startswith(kind_subject)]
    return message


def sent_everything_to(*addresses):
    return sorted(m.to[0] for m in mail.outbox) == sorted(addresses)


# --- The outbox is written with the change ----------------------------------------------------


def test_booking_queues_confirmations_to_patient_and_doctor_and_both_reminders(
    book, patient, doctor
):
    appointment = book(WEDNESDAY_10)

    assert queued(appointment) == (
        announced(Kind.CONFIRMATION, doctor) | reminders_before(WEDNESDAY_10)
    )
    two_hour_sms = appointment.notifications.get(
        kind=Kind.REMINDER, channel=Channel.SMS, lead_minutes=120
    )
    assert (two_hour_sms.address, two_hour_sms.send_after) == (ASHA_PHONE, local(2, 8))


def test_no_sms_without_a_phone_and_no_doctor_email_without_a_login(book, patient, clinic):
    patient.phone = ""
    patient.save()
    doctor_without_login = make_doctor(clinic)

    appointment = book(WEDNESDAY_10, doctor=doctor_without_login)

    assert {(kind, channel, audience) for kind, channel, audience, _ in queued(appointment)} == {
        (Kind.CONFIRMATION, Channel.EMAIL, Audience.PATIENT),
        (Kind.REMINDER, Channel.EMAIL, Audience.PATIENT),
    }


def test_booking_three_hours_ahead_queues_only_the_two_hour_reminder(book):
    appointment = book(local(0, 11))

    reminders = queued(appointment, kind=Kind.REMINDER)
    assert {key[3] for key in reminders} == {120}
    assert {send_after for _, send_after, _ in reminders.values()} == {local(0, 9)}


def test_a_booking_refused_because_the_slot_is_taken_queues_nothing(book, doctor, clinic):
    book(WEDNESDAY_10)
    before = list(Notification.objects.order_by("pk").values())
    rival = PatientFactory(with_account=True)

    with pytest.raises(SlotUnavailable):
        book(WEDNESDAY_10, patient=rival, by=rival.user)

    assert list(Notification.objects.order_by("pk").values()) == before
    assert not Notification.objects.filter(appointment__patient=rival).exists()


@contextlib.contextmanager
def failing_receiver(signal):
    """Something later in the service's own transaction fails (the services refuse to run
    inside a caller's transaction, so nothing after them can roll them back)."""

    def fail(**kwargs):
        raise RuntimeError("failed after the notices were queued")

    signal.connect(fail, dispatch_uid="failing_receiver")
    try:
        yield
    finally:
        signal.disconnect(dispatch_uid="failing_receiver")


def test_a_booking_that_fails_after_queuing_its_notices_leaves_none(book):
    with (
        pytest.raises(RuntimeError, match="after the notices"),
        failing_receiver(signals.appointment_booked),
    ):
        book(WEDNESDAY_10)

    assert not Appointment.objects.exists()
    assert not Notification.objects.exists()


def test_cancelling_queues_notices_to_both_and_skips_the_pending_reminders(book, patient, doctor):
    appointment = book(WEDNESDAY_10)

    cancel_appointment(appointment=appointment, by=patient.user, reason="Feeling better", now=NOW)

    reminders = queued(appointment, kind=Kind.REMINDER)
    assert {key: state for key, (_, _, state) in reminders.items()} == dict.fromkeys(
        reminders_before(WEDNESDAY_10), State.SKIPPED
    )
    assert queued(appointment, kind=Kind.CANCELLATION) == announced(Kind.CANCELLATION, doctor)


def test_a_cancellation_rolled_back_keeps_the_reminders_and_sends_no_notice(book, patient):
    appointment = book(WEDNESDAY_10)
    before = queued(appointment)

    with (
        pytest.raises(RuntimeError, match="after the notices"),
        failing_receiver(signals.appointment_cancelled),
    ):
        cancel_appointment(appointment=appointment, by=patient.user, now=NOW)

    assert queued(appointment) == before


def test_rescheduling_announces_the_new_time_and_moves_the_reminders(book, patient, doctor):
    old = book(WEDNESDAY_10)

    new = reschedule_appointment(appointment=old, start=THURSDAY_1115, by=patient.user, now=NOW)

    assert {state for _, _, state in queued(old, kind=Kind.REMINDER).values()} == {State.SKIPPED}
    assert not old.notifications.filter(kind__in=[Kind.RESCHEDULE, Kind.CANCELLATION]).exists()
    assert queued(new) == announced(Kind.RESCHEDULE, doctor) | reminders_before(THURSDAY_1115)


def test_the_new_time_notice_gives_old_and_new_times_in_the_clinics_zone(
    book, patient, doctor, settings
):
    settings.TIME_ZONE = "UTC"  # the server's zone must not leak into the message
    old = book(WEDNESDAY_10)
    reschedule_appointment(appointment=old, start=THURSDAY_1115, by=patient.user, now=NOW)
    mail.outbox.clear()
    sms.outbox.clear()

    delivery.send_due(now=NOW)

    subject = "An appointment has moved"
    for address in ("asha@example.com", doctor.user.email):
        message = mail_to(address, subject)
        for part in (message.body, html_of(message)):
            assert "Wednesday 9 January 2030 at 10:00" in part
            assert "Thursday 10 January 2030 at 11:15" in part
            assert "04:30" not in part and "05:45" not in part
    [text] = [s["body"] for s in sms.outbox if "moved" in s["body"]]
    assert "from Wed 9 Jan 10:00 to Thu 10 Jan 11:15" in text


def test_the_same_notice_cannot_be_queued_twice(book):
    appointment = book(WEDNESDAY_10)
    before = queued(appointment)

    outbox.booked(appointment, now=NOW)
    assert queued(appointment) == before

    with pytest.raises(IntegrityError), transaction.atomic():
        NotificationFactory(
            appointment=appointment,
            kind=Kind.CONFIRMATION,
            channel=Channel.EMAIL,
            audience=Audience.PATIENT,
        )


# --- Delivery ---------------------------------------------------------------------------------


def test_send_due_sends_what_is_due_once_and_nothing_early(book, doctor):
    appointment = book(WEDNESDAY_10)

    assert delivery.send_due(now=NOW) == {**NOTHING, "sent": 3}
    assert sent_everything_to("asha@example.com", doctor.user.email)
    assert [s["to"] for s in sms.outbox] == ["+919800000001"]

    assert delivery.send_due(now=NOW) == NOTHING
    assert delivery.send_due(now=WEDNESDAY_10 - 24 * HOUR - MINUTE) == NOTHING
    assert len(mail.outbox) == 2 and len(sms.outbox) == 1

    assert delivery.send_due(now=WEDNESDAY_10 - 24 * HOUR) == {**NOTHING, "sent": 2}
    assert delivery.send_due(now=WEDNESDAY_10 - 24 * HOUR) == NOTHING
    assert len(mail.outbox) == 3 and len(sms.outbox) == 2
    states = {(k[0], k[1], k[3]): state for k, (_, _, state) in queued(appointment).items()}
    assert states[(Kind.REMINDER, Channel.EMAIL, 1440)] == State.SENT
    assert states[(Kind.REMINDER, Channel.EMAIL, 120)] == State.PENDING
    sent = appointment.notifications.get(kind=Kind.REMINDER, lead_minutes=1440, channel=Channel.SMS)
    assert (sent.attempts, sent.sent_at) == (1, WEDNESDAY_10 - 24 * HOUR)


def test_emails_have_text_and_html_the_clinic_and_no_names_in_the_subject(
    book, patient, doctor, clinic
):
    book(WEDNESDAY_10)

    delivery.send_due(now=NOW)

    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert message.subject == f"Your appointment is booked · {CLINIC_NAME}"
        assert patient.full_name not in message.subject
        assert doctor.full_name not in message.subject
        html = html_of(message)
        assert CLINIC_NAME in message.body and CLINIC_NAME in html
        assert "Lotus & Lily Clinic" in message.body and "Lotus &amp; Lily Clinic" in html
        assert "12 Main Road" in message.body and "Bengaluru 560038" in message.body
        assert "12 Main Road<br>Bengaluru 560038" in html
        assert "Wednesday 9 January 2030 at 10:00" in message.body
    to_patient = mail_to(patient.email, "Your appointment")
    assert "Where: Lotus & Lily Clinic, 12 Main Road, Bengaluru 560038" in to_patient.body
    assert "Rohan D'Souza" in to_patient.body


def test_the_patients_confirmation_carries_the_appointment_as_an_ics_file(book, patient, doctor):
    appointment = book(WEDNESDAY_10)

    delivery.send_due(now=NOW)

    [(filename, content, mimetype)] = mail_to(patient.email, "Your appointment").attachments
    assert (filename, mimetype) == ("appointment.ics", "text/calendar")
    [event] = Calendar.from_ical(content).walk("VEVENT")
    assert event.decoded("dtstart") == WEDNESDAY_10
    assert str(event["uid"]) == f"appointment-{appointment.pk}@clinic-portal"
    assert mail_to(doctor.user.email, "Your appointment").attachments == []


def test_sms_text_is_not_html_escaped(book):
    book(WEDNESDAY_10)

    delivery.send_due(now=NOW)

    [text] = [s["body"] for s in sms.outbox]
    assert text == (
        f"{CLINIC_NAME}: booked with Rohan D'Souza, Wed 9 Jan 10:00 at Lotus & Lily Clinic. "
        "Change or cancel in the portal."
    )


def test_reminders_of_an_appointment_cancelled_after_queuing_are_skipped_at_send_time(book):
    appointment = book(WEDNESDAY_10)
    delivery.send_due(now=NOW)
    Appointment.objects.filter(pk=appointment.pk).update(status=Status.CANCELLED)
    mail.outbox.clear()
    sms.outbox.clear()

    assert delivery.send_due(now=WEDNESDAY_10 - MINUTE) == {**NOTHING, "skipped": 4}

    assert mail.outbox == [] and sms.outbox == []
    assert {s for _, _, s in queued(appointment, kind=Kind.REMINDER).values()} == {State.SKIPPED}


def test_a_reminder_found_only_after_the_appointment_started_is_skipped(book):
    appointment = book(WEDNESDAY_10)
    delivery.send_due(now=NOW)
    mail.outbox.clear()
    sms.outbox.clear()

    # The worker was down from Monday until after the visit had begun.
    assert delivery.send_due(now=WEDNESDAY_10 + 5 * MINUTE) == {**NOTHING, "skipped": 4}

    assert mail.outbox == [] and sms.outbox == []
    assert {s for _, _, s in queued(appointment, kind=Kind.REMINDER).values()} == {State.SKIPPED}


def test_a_worker_stopped_mid_run_keeps_what_it_had_already_sent(book, doctor, settings):
    book(WEDNESDAY_10)  # due now, in this order: patient email, patient SMS, doctor email
    settings.SMS_BACKEND = f"{__name__}.InterruptingSmsBackend"

    with pytest.raises(KeyboardInterrupt):
        delivery.send_due(now=NOW)
    assert sent_everything_to("asha@example.com")
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    mail.outbox.clear()

    assert delivery.send_due(now=NOW) == {**NOTHING, "sent": 2}

    assert sent_everything_to(doctor.user.email)
    assert [s["to"] for s in sms.outbox] == ["+919800000001"]


@pytest.fixture
def visit():
    """An appointment written directly, for notices made with NotificationFactory."""
    return AppointmentFactory(
        patient=PatientFactory(full_name="Meera Iyer"),
        doctor=DoctorFactory(full_name="Kiran Bose"),
        start=WEDNESDAY_10,
        reason=REASON,
    )


def failing(channel, settings):
    """A context in which sending by `channel` fails with an error that names the recipient."""
    if channel == Channel.SMS:
        settings.SMS_BACKEND = f"{__name__}.FailingSmsBackend"
        return contextlib.nullcontext()
    refusal = smtplib.SMTPRecipientsRefused({"meera@example.com": (550, b"no such mailbox")})
    return mock.patch.object(EmailMultiAlternatives, "send", side_effect=refusal)


@pytest.mark.parametrize(
    ("channel", "address", "error"),
    [
        (Channel.EMAIL, "meera@example.com", "SMTPRecipientsRefused"),
        (Channel.SMS, "+919811111111", "SmsError"),
    ],
)
def test_a_failing_send_is_retried_with_growing_pauses_then_marked_failed(
    visit, settings, channel, address, error
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    row = NotificationFactory(appointment=visit, channel=channel, address=address, send_after=NOW)

    with failing(channel, settings):
        assert delivery.send_due(now=NOW) == {**NOTHING, "retrying": 1}
        row.refresh_from_db()
        assert (row.state, row.attempts, row.send_after) == (State.PENDING, 1, NOW + MINUTE)
        assert row.last_error.startswith(error)

        assert delivery.send_due(now=NOW + MINUTE - dt.timedelta(seconds=1)) == NOTHING
        assert delivery.send_due(now=NOW + MINUTE) == {**NOTHING, "retrying": 1}
        row.refresh_from_db()
        assert (row.state, row.attempts, row.send_after) == (
            State.PENDING,
            2,
            NOW + MINUTE + 5 * MINUTE,
        )

        assert delivery.send_due(now=NOW + 6 * MINUTE) == {**NOTHING, "failed": 1}
        row.refresh_from_db()
        assert (row.state, row.attempts, row.sent_at) == (State.FAILED, 3, None)
        assert row.last_error.startswith(error)

        assert delivery.send_due(now=NOW + 24 * HOUR) == NOTHING
    assert mail.outbox == [] and sms.outbox == []


@pytest.mark.parametrize(
    ("channel", "address"),
    [(Channel.EMAIL, "meera@example.com"), (Channel.SMS, "+919811111111")],
)
def test_failures_are_logged_without_the_address_or_the_message(
    visit, settings, caplog, channel, address
):
    row = NotificationFactory(appointment=visit, channel=channel, address=address, send_after=NOW)
    body = delivery.render_sms(row) if channel == Channel.SMS else delivery.render_email(row).body

    with failing(channel, settings), caplog.at_level("DEBUG"):
        delivery.send_due(now=NOW)

    assert [r.name for r in caplog.records] == ["notifications.delivery"]
    assert str(row.pk) in caplog.text
    for secret in (address, "no such mailbox", "Meera Iyer", "Kiran Bose", body.splitlines()[0]):
        assert secret not in caplog.text


def test_staff_send_a_failed_notice_again_from_the_admin(client, clinic_admin_user, visit):
    failed = NotificationFactory(
        appointment=visit,
        address="meera@example.com",
        state=State.FAILED,
        attempts=5,
        last_error="SMTPRecipientsRefused: ...",
        send_after=NOW - 24 * HOUR,
    )
    sent = NotificationFactory(
        appointment=visit,
        channel=Channel.SMS,
        address="+919811111111",
        state=State.SENT,
        attempts=1,
        send_after=NOW - HOUR,
        sent_at=NOW - HOUR,
    )
    waiting = NotificationFactory(
        appointment=visit,
        kind=Kind.REMINDER,
        lead_minutes=120,
        send_after=WEDNESDAY_10 - 2 * HOUR,
        address="meera@example.com",
    )
    client.force_login(clinic_admin_user)

    response = client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "send_again", "_selected_action": [failed.pk, sent.pk, waiting.pk], "index": 0},
        follow=True,
    )

    assert response.status_code == 200
    assert "2 notice(s) queued to be sent again" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.last_error, failed.send_after) == (
        State.PENDING,
        0,
        "",
        NOW,
    )
    sent.refresh_from_db()
    assert (sent.state, sent.attempts, sent.sent_at, sent.send_after) == (
        State.PENDING,
        0,
        None,
        NOW,
    )
    waiting.refresh_from_db()
    assert (waiting.state, waiting.send_after) == (State.PENDING, WEDNESDAY_10 - 2 * HOUR)

    assert delivery.send_due(now=NOW) == {**NOTHING, "sent": 2}
    assert sent_everything_to("meera@example.com")
    assert [s["to"] for s in sms.outbox] == ["+919811111111"]


def test_front_desk_cannot_send_notices_again(client, front_desk_user, visit):
    failed = NotificationFactory(appointment=visit, state=State.FAILED, attempts=5)
    client.force_login(front_desk_user)

    client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "send_again", "_selected_action": [failed.pk], "index": 0},
    )

    failed.refresh_from_db()
    assert failed.state == State.FAILED


# --- No health detail in any message ----------------------------------------------------------


def test_the_visit_reason_appears_in_no_email_or_sms_of_any_kind(book, patient):
    to_move, to_cancel = book(WEDNESDAY_10), book(local(2, 10, 30))
    delivery.send_due(now=NOW)  # the confirmations go before the changes
    moved = reschedule_appointment(
        appointment=to_move, start=THURSDAY_1115, by=patient.user, now=NOW
    )
    cancel_appointment(appointment=to_cancel, by=patient.user, now=NOW)
    assert moved.reason == REASON

    delivery.send_due(now=NOW)
    delivery.send_due(now=THURSDAY_1115 - MINUTE)  # both reminders of the moved appointment

    # Every kind about an appointment (a waitlist offer is about no appointment, so no reason).
    assert set(Notification.objects.filter(state=State.SENT).values_list("kind", flat=True)) == set(
        Kind.values
    ) - {Kind.WAITLIST_OFFER}
    assert len(mail.outbox) == 10 and len(sms.outbox) == 6
    texts = [s["body"] for s in sms.outbox]
    for message in mail.outbox:
        texts += [message.subject, message.body, html_of(message)]
        texts += [str(content) for _, content, _ in message.attachments]
    # The .ics files were looked at: two confirmations and a new time, and two taking events off.
    assert sum("BEGIN:VEVENT" in text for text in texts) == 5
    for text in texts:
        assert "tuberculosis" not in text.lower()
        assert "night sweats" not in text.lower()


def test_a_cancellation_of_a_moved_appointment_shows_only_its_current_time(book, patient):
    moved = reschedule_appointment(
        appointment=book(WEDNESDAY_10), start=THURSDAY_1115, by=patient.user, now=NOW
    )
    cancel_appointment(appointment=moved, by=patient.user, now=NOW)

    delivery.send_due(now=NOW)

    message = mail_to(patient.email, "An appointment has been cancelled")
    for part in (message.body, html_of(message)):
        assert "Thursday 10 January 2030 at 11:15" in part
        assert "Wednesday 9 January" not in part


# --- The send_notifications command -----------------------------------------------------------


def test_the_command_sends_what_is_due_and_prints_a_summary(book):
    book(WEDNESDAY_10)
    out = StringIO()

    call_command("send_notifications", stdout=out)

    assert out.getvalue() == "Sent 3, retrying 0, failed 0, no longer needed 0.\n"
    assert len(mail.outbox) == 2 and len(sms.outbox) == 1

    out = StringIO()
    call_command("send_notifications", stdout=out)
    assert out.getvalue() == "Nothing is due.\n"


def test_each_round_of_the_command_clears_expired_slot_holds():
    # The autouse clock stands at NOW: one hold ran out a minute ago, one still keeps its time.
    expired = SlotHoldFactory(created_at=NOW - dt.timedelta(minutes=11))
    live = SlotHoldFactory(created_at=NOW - dt.timedelta(minutes=9))

    call_command("send_notifications", stdout=StringIO())

    assert list(SlotHold.objects.values_list("pk", flat=True)) == [live.pk]
    assert not SlotHold.objects.filter(pk=expired.pk).exists()


def test_the_command_goes_round_again_while_batches_come_back_full(book):
    book(WEDNESDAY_10)
    out = StringIO()

    call_command("send_notifications", "--batch", "2", stdout=out)

    assert out.getvalue().splitlines() == [
        "Sent 2, retrying 0, failed 0, no longer needed 0.",
        "Sent 1, retrying 0, failed 0, no longer needed 0.",
    ]
    assert not Notification.objects.filter(state=State.PENDING, send_after__lte=NOW).exists()


def test_the_looping_command_stops_cleanly_when_interrupted(book, monkeypatch):
    book(WEDNESDAY_10)

    def interrupted(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(
        "notifications.management.commands.send_notifications.time.sleep", interrupted
    )
    out = StringIO()

    try:
        call_command("send_notifications", "--loop", "--interval", "5", stdout=out)
    except KeyboardInterrupt:  # re-raised, it would stop the whole test run
        pytest.fail("the worker let the interrupt through")

    assert out.getvalue().splitlines() == [
        "Sent 3, retrying 0, failed 0, no longer needed 0.",
        "Stopped.",
    ]


# --- Reminder preferences ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preference", "channel_without_reminders"),
    [("email_reminders", Channel.EMAIL), ("sms_reminders", Channel.SMS)],
)
def test_a_patient_who_turned_reminders_off_still_gets_confirmations(
    book, patient, preference, channel_without_reminders
):
    setattr(patient, preference, False)
    patient.save()

    appointment = book(WEDNESDAY_10)

    reminders = queued(appointment, kind=Kind.REMINDER)
    assert {channel for _, channel, _, _ in reminders} == {Channel.EMAIL, Channel.SMS} - {
        channel_without_reminders
    }
    confirmations = queued(appointment, kind=Kind.CONFIRMATION, audience=Audience.PATIENT)
    assert {channel for _, channel, _, _ in confirmations} == {Channel.EMAIL, Channel.SMS}


@pytest.mark.parametrize(
    ("preference", "still_sent"),
    [("email_reminders", "sms"), ("sms_reminders", "email")],
)
def test_reminders_turned_off_after_booking_are_not_sent(book, patient, preference, still_sent):
    book(WEDNESDAY_10)
    delivery.send_due(now=NOW)
    mail.outbox.clear()
    sms.outbox.clear()
    setattr(patient, preference, False)
    patient.save()

    assert delivery.send_due(now=WEDNESDAY_10 - MINUTE) == {**NOTHING, "sent": 2, "skipped": 2}

    assert (len(mail.outbox), len(sms.outbox)) == ((0, 2) if still_sent == "sms" else (2, 0))


def test_the_profile_page_saves_the_reminder_choices(client, patient_user):
    patient = patient_user.patient
    client.force_login(patient_user)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'name="email_reminders"' in page and 'name="sms_reminders"' in page

    response = client.post(
        reverse("accounts:profile"),
        {
            "full_name": patient.full_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "sex": patient.sex,
            "phone": patient.phone,
            "sms_reminders": "on",  # email_reminders unticked: browsers send nothing for it
        },
    )

    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.email_reminders, patient.sms_reminders) == (False, True)


def test_a_booking_cancelled_before_the_worker_ran_gets_no_confirmation(book, patient):
    appointment = book(WEDNESDAY_10)
    cancel_appointment(appointment=appointment, by=patient.user, now=NOW)

    delivery.send_due(now=NOW)

    subjects = {message.subject.split(" · ")[0] for message in mail.outbox}
    assert subjects == {"An appointment has been cancelled"}
    assert not appointment.notifications.filter(kind=Kind.CONFIRMATION, state=State.SENT).exists()
