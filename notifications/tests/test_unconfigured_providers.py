"""With DEBUG off and no provider named, messages go nowhere, visibly: never into the logs."""

import logging

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from bookings.tests.factories import AppointmentFactory
from notifications import checks, delivery
from notifications.email_backends import EmailNotConfigured, NotConfiguredEmailBackend
from notifications.models import Notification
from notifications.sms import NotConfiguredSmsBackend, SmsError
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

NOT_CONFIGURED_EMAIL = "notifications.email_backends.NotConfiguredEmailBackend"
NOT_CONFIGURED_SMS = "notifications.sms.NotConfiguredSmsBackend"


def test_the_email_backend_refuses_to_send_and_says_what_to_set():
    message = mail.EmailMessage("Subject", "Body", to=["meera@example.com"])
    with pytest.raises(EmailNotConfigured, match="set EMAIL_BACKEND"):
        NotConfiguredEmailBackend().send_messages([message])
    # Nothing to send, or told to keep quiet (as Django's error emails are): no complaint.
    assert NotConfiguredEmailBackend().send_messages([]) == 0
    assert NotConfiguredEmailBackend(fail_silently=True).send_messages([message]) == 0


def test_the_sms_backend_refuses_to_send_and_says_what_to_set():
    with pytest.raises(SmsError, match="set SMS_BACKEND"):
        NotConfiguredSmsBackend().send(to="+919811111111", body="Your appointment")


@pytest.mark.parametrize(
    ("channel", "address", "reason"),
    [
        (Notification.Channel.EMAIL, "meera@example.com", "EmailNotConfigured: No email provider"),
        (Notification.Channel.SMS, "+919811111111", "SmsError: No SMS provider"),
    ],
)
def test_a_notice_without_a_provider_fails_in_the_outbox_with_the_reason(
    settings, capsys, caplog, channel, address, reason
):
    settings.EMAIL_BACKEND = NOT_CONFIGURED_EMAIL
    settings.SMS_BACKEND = NOT_CONFIGURED_SMS
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    appointment = AppointmentFactory()
    row = NotificationFactory(appointment=appointment, channel=channel, address=address)

    with caplog.at_level(logging.INFO):
        counts = delivery.send_due(now=row.send_after)

    row.refresh_from_db()
    assert counts["failed"] == 1
    assert row.state == Notification.State.FAILED
    assert row.last_error.startswith(reason)
    # Unlike the console backends', nothing of the message reached the output or the logs.
    printed = capsys.readouterr()
    logged = caplog.text
    for secret in (address, appointment.patient.full_name):
        assert secret not in printed.out + printed.err + logged


def test_the_checks_note_each_missing_provider_and_only_that(settings):
    settings.EMAIL_BACKEND = NOT_CONFIGURED_EMAIL
    settings.SMS_BACKEND = NOT_CONFIGURED_SMS
    assert [note.id for note in checks.messages_have_somewhere_to_go(None)] == [
        "notifications.I001",
        "notifications.I002",
    ]
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    assert [note.id for note in checks.messages_have_somewhere_to_go(None)] == [
        "notifications.I001"
    ]
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    assert checks.messages_have_somewhere_to_go(None) == []


def test_the_check_command_shows_the_notes(settings, capsys):
    settings.EMAIL_BACKEND = NOT_CONFIGURED_EMAIL
    settings.SMS_BACKEND = NOT_CONFIGURED_SMS
    call_command("check")
    output = capsys.readouterr()
    assert "notifications.I001" in output.err + output.out


SIGNUP = {
    "full_name": "Meera Iyer",
    "email": "meera@example.com",
    "date_of_birth": "1990-04-02",
    "sex": "female",
    "phone": "+919811111111",
    "password1": "Violet-Harbour-2718",
    "password2": "Violet-Harbour-2718",
}


def test_a_sign_up_whose_email_cannot_be_sent_still_ends_on_check_your_email(
    client, settings, caplog
):
    settings.EMAIL_BACKEND = NOT_CONFIGURED_EMAIL

    with caplog.at_level(logging.ERROR, logger="accounts.signup"):
        response = client.post(reverse("accounts:signup"), SIGNUP)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:signup_sent")
    user = User.objects.get(email=SIGNUP["email"])
    # The operator is told, by user id and the error's kind, without the address.
    assert f"Failed to send the signup_confirm email to user {user.pk} (EmailNotConfigured)" in (
        caplog.text
    )
    assert SIGNUP["email"] not in caplog.text
