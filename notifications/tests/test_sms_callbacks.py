"""What Twilio tells the portal: delivery reports and patients' replies (signed requests only),
the delivery status in the admin, and the system check of the Twilio settings."""

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.core.checks import Error, Warning
from django.urls import reverse
from django.utils import timezone

from bookings.models import ContactChannel
from bookings.models import Status as AppointmentStatus
from bookings.tests.factories import AppointmentFactory
from notifications import delivery
from notifications.checks import sms_provider_has_its_settings
from notifications.models import Notification
from notifications.sms_inbound import help_text, is_cancel, is_confirm, record_status
from notifications.sms_providers import twilio_signature
from notifications.tests.factories import NotificationFactory
from notifications.tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

State = Notification.State
Status = Notification.ProviderStatus
PHONE = "+919812345678"
BASE = "https://clinic.example.org"
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.SMS_BACKEND = "notifications.sms_providers.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.SMS_CALLBACK_BASE_URL = BASE
    settings.CLINIC_NAME = "Lakeview & Co"
    return settings


def post_signed(client, name, params, *, query="", token=AUTH_TOKEN, base=BASE, signature=None):
    path = reverse(name) + (f"?{query}" if query else "")
    if signature is None:
        signature = twilio_signature(token, base + path, sorted(params.items()))
    return client.post(
        path,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def sent_text(sid="SM" + "1" * 32, **kwargs):
    defaults = {
        "channel": Notification.Channel.SMS,
        "address": PHONE,
        "state": State.SENT,
        "sent_at": timezone.now() - HOUR,
        "provider_message_id": sid,
        "provider_status": Status.QUEUED,
        "attempts": 1,
    }
    return NotificationFactory(**{**defaults, **kwargs})


def report(client, notice, status, *, sid=None, query=None, **extra):
    params = {
        "MessageSid": sid or notice.provider_message_id,
        "MessageStatus": status,
        "AccountSid": ACCOUNT_SID,
        "To": notice.address,
        **extra,
    }
    return post_signed(
        client, "notifications:sms_status", params, query=query or f"notice={notice.pk}"
    )


# Delivery reports ---------------------------------------------------------------------------


def test_a_signed_report_records_the_status_on_its_notice(client, db):
    notice = sent_text()

    response = report(client, notice, "delivered")

    assert response.status_code == 204
    notice.refresh_from_db()
    assert notice.provider_status == Status.DELIVERED
    assert notice.provider_status_at is not None and notice.state == State.SENT


def test_a_report_without_the_notice_in_its_address_finds_it_by_the_message_id(client, db):
    notice = sent_text()

    report(client, notice, "sent", query="from=service")

    notice.refresh_from_db()
    assert notice.provider_status == Status.SENT


@pytest.mark.parametrize(
    "forge",
    [
        {"signature": ""},
        {"signature": "bm90IGEgc2lnbmF0dXJl"},
        {"token": "another-accounts-token"},
        {"base": "https://attacker.example"},
    ],
)
def test_an_unsigned_or_forged_report_is_refused_without_details(client, db, forge, caplog):
    notice = sent_text()
    params = {"MessageSid": notice.provider_message_id, "MessageStatus": "failed", "To": PHONE}

    response = post_signed(
        client, "notifications:sms_status", params, query=f"notice={notice.pk}", **forge
    )

    assert response.status_code == 403 and response.content == b""
    assert "without a valid Twilio signature" in caplog.text and PHONE not in caplog.text
    notice.refresh_from_db()
    assert notice.provider_status == Status.QUEUED


def test_a_signature_for_another_notice_does_not_carry_over(client, db):
    notice, other = sent_text(), sent_text(sid="SM" + "2" * 32)
    params = {"MessageSid": notice.provider_message_id, "MessageStatus": "failed"}
    signed_for_other = twilio_signature(
        AUTH_TOKEN,
        f"{BASE}{reverse('notifications:sms_status')}?notice={other.pk}",
        sorted(params.items()),
    )

    response = post_signed(
        client,
        "notifications:sms_status",
        params,
        query=f"notice={notice.pk}",
        signature=signed_for_other,
    )

    assert response.status_code == 403


def test_without_a_token_every_report_is_refused(client, db, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    notice = sent_text()

    assert report(client, notice, "delivered").status_code == 403


def test_reports_are_posts(client, db):
    assert client.get(reverse("notifications:sms_status")).status_code == 405
    assert client.get(reverse("notifications:sms_inbound")).status_code == 405


def test_without_a_public_address_the_signature_is_of_the_address_this_server_saw(
    client, db, settings
):
    settings.SMS_CALLBACK_BASE_URL = ""
    notice = sent_text()
    params = {"MessageSid": notice.provider_message_id, "MessageStatus": "delivered"}

    response = post_signed(
        client, "notifications:sms_status", params, query="x=1", base="http://testserver"
    )

    assert response.status_code == 204
    notice.refresh_from_db()
    assert notice.provider_status == Status.DELIVERED


def test_a_report_about_an_unknown_message_changes_nothing(client, db):
    notice = sent_text()

    assert report(client, notice, "delivered", sid="SM" + "9" * 32).status_code == 204
    assert report(client, notice, "delivered", query=f"notice={notice.pk + 100}").status_code == 204
    assert (
        report(client, notice, "delivered", sid="SM" + "9" * 32, query="notice=x").status_code
        == 204
    )

    notice.refresh_from_db()
    assert notice.provider_status == Status.QUEUED and notice.provider_status_at is None


def test_reports_out_of_order_never_move_a_notice_back_and_repeats_change_nothing(client, db):
    notice = sent_text()
    report(client, notice, "delivered")
    notice.refresh_from_db()
    delivered_at = notice.provider_status_at

    for late in ("sent", "queued", "sending", "delivered", "undelivered", "failed"):
        assert report(client, notice, late).status_code == 204

    notice.refresh_from_db()
    assert (notice.provider_status, notice.provider_status_at) == (
        Status.DELIVERED,
        delivered_at,
    )
    assert notice.last_error == ""


def test_a_text_that_was_not_delivered_says_so_with_the_providers_code_only(client, db):
    notice = sent_text()

    report(client, notice, "undelivered", ErrorCode="30003", ErrorMessage=f"{PHONE} unreachable")

    notice.refresh_from_db()
    assert notice.provider_status == Status.UNDELIVERED and notice.state == State.SENT
    assert notice.last_error == "The provider reports the text undelivered (error 30003)."


def test_a_status_twilio_has_but_the_notice_does_not_track_changes_nothing(client, db):
    notice = sent_text()

    report(client, notice, "receiving")

    notice.refresh_from_db()
    assert notice.provider_status == Status.QUEUED


def test_a_report_about_an_earlier_text_of_a_notice_sent_again_is_ignored(client, db):
    notice = sent_text(sid="SM" + "2" * 32)

    report(client, notice, "failed", sid="SM" + "1" * 32)

    notice.refresh_from_db()
    assert notice.provider_status == Status.QUEUED


def test_a_report_for_an_unanswered_try_marks_the_notice_sent_so_it_is_not_sent_again(client, db):
    now = timezone.now()
    notice = NotificationFactory(
        channel=Notification.Channel.SMS,
        address=PHONE,
        attempts=1,
        last_error="SmsOutcomeUnknown: No answer from Twilio within 10 s.",
        provider_check_since=now - dt.timedelta(minutes=1),
        send_after=now,
    )

    report(client, notice, "sent", sid="SM" + "5" * 32)

    notice.refresh_from_db()
    assert (notice.state, notice.provider_message_id, notice.provider_status) == (
        State.SENT,
        "SM" + "5" * 32,
        Status.SENT,
    )
    assert notice.provider_check_since is None and notice.last_error == ""
    assert delivery.send_due(now=now + HOUR)["sent"] == 0


def test_a_report_for_a_waiting_notice_that_was_never_tried_is_ignored(client, db):
    notice = NotificationFactory(channel=Notification.Channel.SMS, address=PHONE)

    report(client, notice, "sent", sid="SM" + "5" * 32)

    notice.refresh_from_db()
    assert (notice.state, notice.provider_message_id) == (State.PENDING, "")


def test_a_report_without_a_message_id_or_status_is_ignored(db):
    notice = sent_text()

    assert not record_status(message_id="", status=Status.SENT, notice_id=notice.pk)
    assert not record_status(message_id=notice.provider_message_id, status="")


# Replies -----------------------------------------------------------------------------------


def reply(client, text, *, number=PHONE, **kwargs):
    params = {"From": number, "To": FROM_NUMBER, "Body": text, "AccountSid": ACCOUNT_SID}
    return post_signed(client, "notifications:sms_inbound", params, **kwargs)


def answer_of(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    body = response.content.decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    return body.split("<Message>")[1].split("</Message>")[0]


@pytest.fixture
def booked(db):
    """A booked appointment a day or more ahead, and the confirmation texted to its patient."""
    appointment = AppointmentFactory(patient__phone=PHONE, clinic__phone="+914012345678")
    sent_text(appointment=appointment)
    return appointment


@pytest.mark.parametrize("text", ["CANCEL", " cancel ", "Cancel.", "c a n c e l", "रद्द", " रद्द।"])
def test_a_reply_of_cancel_cancels_the_appointment_of_the_latest_text(client, booked, text):
    response = reply(client, text)

    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED
    assert (booked.cancelled_by, booked.cancelled_via) == (None, ContactChannel.SMS)
    answer = answer_of(response)
    local = timezone.localtime(booked.start, booked.clinic.zone)
    assert answer == (
        f"Lakeview &amp; Co: your appointment on {local:%a} {local.day} {local:%b %H:%M} "
        "is cancelled."
    )
    assert booked.patient.full_name not in answer and booked.doctor.full_name not in answer
    # The patient hears of it as of any cancellation: a cancellation notice is queued.
    assert Notification.objects.filter(
        appointment=booked, kind=Notification.Kind.CANCELLATION, channel="sms"
    ).exists()


def test_with_two_texted_appointments_to_come_a_reply_cancels_neither(client, booked):
    """A phone shared by two patients, or one patient with two visits: CANCEL cannot say which."""
    sibling = AppointmentFactory(patient__phone=PHONE)
    sent_text(
        appointment=sibling,
        kind=Notification.Kind.REMINDER,
        lead_minutes=24 * 60,
        sent_at=timezone.now() - dt.timedelta(minutes=5),
        sid="SM" + "3" * 32,
    )

    answer = answer_of(reply(client, "CANCEL"))

    booked.refresh_from_db()
    sibling.refresh_from_db()
    assert (booked.status, sibling.status) == (AppointmentStatus.BOOKED, AppointmentStatus.BOOKED)
    assert "more than one appointment" in answer and "cancel link" in answer


def test_a_reply_cancels_the_one_texted_appointment_still_to_come(client, booked):
    """The latest text was about an appointment since cancelled; the earlier one's still stands."""
    gone = AppointmentFactory(patient=booked.patient, status=AppointmentStatus.CANCELLED)
    sent_text(
        appointment=gone,
        kind=Notification.Kind.REMINDER,
        lead_minutes=24 * 60,
        sent_at=timezone.now() - dt.timedelta(minutes=5),
        sid="SM" + "3" * 32,
    )

    reply(client, "CANCEL")

    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED


def test_a_reply_past_the_patients_cut_off_is_told_to_call_the_clinic(client, db, settings):
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    soon = AppointmentFactory(
        patient__phone=PHONE,
        clinic__phone="+914012345678",
        start=timezone.now() + 2 * HOUR,
    )
    sent_text(appointment=soon)

    answer = answer_of(reply(client, "CANCEL"))

    soon.refresh_from_db()
    assert soon.status == AppointmentStatus.BOOKED
    assert answer == (
        "Lakeview &amp; Co: this appointment can no longer be cancelled by text. "
        "Please call +914012345678."
    )


def test_a_reply_about_an_appointment_already_cancelled_is_told_to_call(client, booked):
    booked.clinic.phone = ""
    booked.clinic.save()
    reply(client, "CANCEL")

    answer = answer_of(reply(client, "CANCEL"))

    assert answer.endswith("can no longer be cancelled by text. Please call the clinic.")


def test_any_other_text_and_any_unknown_number_get_the_same_help(client, booked):
    other_text = answer_of(reply(client, "Can I come at 11 instead?"))
    unknown = answer_of(reply(client, "CANCEL", number="+919800000000"))

    assert other_text == unknown
    assert other_text.replace("&amp;", "&") == help_text()
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED


def test_a_text_not_yet_sent_or_a_cancellation_notice_is_not_what_a_reply_answers(client, db):
    appointment = AppointmentFactory(patient__phone=PHONE)
    sent_text(appointment=appointment, kind=Notification.Kind.CANCELLATION)
    NotificationFactory(
        appointment=appointment,
        channel=Notification.Channel.SMS,
        address=PHONE,
        kind=Notification.Kind.REMINDER,
        lead_minutes=120,
    )

    answer = answer_of(reply(client, "CANCEL"))

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert answer.replace("&amp;", "&") == help_text()


@pytest.mark.parametrize(
    "forge", [{"signature": ""}, {"token": "wrong"}, {"base": "http://testserver"}]
)
def test_an_unsigned_or_forged_reply_is_refused_and_cancels_nothing(client, booked, forge):
    response = reply(client, "CANCEL", **forge)

    assert response.status_code == 403 and response.content == b""
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED


def test_logged_in_users_are_no_different_signed_or_not(
    client, booked, patient_user, front_desk_user, clinic_admin_user
):
    for user in (patient_user, front_desk_user, clinic_admin_user):
        client.force_login(user)
        assert reply(client, "CANCEL", signature="x").status_code == 403
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED


def test_signed_calls_missing_their_fields_change_nothing_and_do_not_fail(client, booked):
    status = post_signed(client, "notifications:sms_status", {"MessageStatus": "delivered"})
    inbound = post_signed(client, "notifications:sms_inbound", {"Body": "CANCEL"})

    assert status.status_code == 204
    assert answer_of(inbound).replace("&amp;", "&") == help_text()
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED


def test_what_counts_as_cancel():
    assert is_cancel("CANCEL") and is_cancel("\tCancel!\n") and is_cancel("रद्द")
    assert not is_cancel("cancel it") and not is_cancel("") and not is_cancel(None)
    assert not is_cancel("stop")


@pytest.mark.parametrize("text", ["CONFIRM", " confirm ", "Confirm!", "पुष्टि", "पुष्टि।"])
def test_a_reply_of_confirm_records_that_the_patient_will_come(client, booked, text):
    answer = answer_of(reply(client, text))

    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED
    assert booked.attendance_confirmed_at is not None
    assert (booked.attendance_confirmed_via, booked.attendance_confirmed_by) == (
        ContactChannel.SMS,
        None,
    )
    local = timezone.localtime(booked.start, booked.clinic.zone)
    if text.strip().isascii():
        assert answer == (
            f"Lakeview &amp; Co: thank you, we will expect you on {local:%a} {local.day} "
            f"{local:%b %H:%M}."
        )
    assert booked.patient.full_name not in answer and booked.doctor.full_name not in answer


def test_confirming_twice_keeps_the_first_confirmation(client, booked):
    reply(client, "CONFIRM")
    booked.refresh_from_db()
    first = booked.attendance_confirmed_at

    reply(client, "CONFIRM")

    booked.refresh_from_db()
    assert booked.attendance_confirmed_at == first


def test_with_two_texted_appointments_to_come_a_confirm_confirms_neither(client, booked):
    sibling = AppointmentFactory(patient__phone=PHONE)
    sent_text(
        appointment=sibling,
        kind=Notification.Kind.REMINDER,
        lead_minutes=24 * 60,
        sent_at=timezone.now() - dt.timedelta(minutes=5),
        sid="SM" + "3" * 32,
    )

    answer = answer_of(reply(client, "CONFIRM"))

    booked.refresh_from_db()
    sibling.refresh_from_db()
    assert booked.attendance_confirmed_at is None and sibling.attendance_confirmed_at is None
    assert "more than one appointment" in answer and "To confirm one" in answer


def test_a_confirm_about_an_appointment_no_longer_booked_changes_nothing(client, booked):
    booked.status = AppointmentStatus.CANCELLED
    booked.save()

    answer = answer_of(reply(client, "CONFIRM"))

    booked.refresh_from_db()
    assert booked.attendance_confirmed_at is None
    assert "no longer booked or has started" in answer


def test_a_confirm_from_a_number_never_texted_gets_the_help(client, booked):
    answer = answer_of(reply(client, "CONFIRM", number="+919800000001"))
    assert answer.replace("&amp;", "&") == help_text()
    booked.refresh_from_db()
    assert booked.attendance_confirmed_at is None


def test_what_counts_as_confirm():
    assert is_confirm("CONFIRM") and is_confirm(" Confirm.\n") and is_confirm("पुष्टि")
    assert not is_confirm("yes") and not is_confirm("confirmed") and not is_confirm(None)
    assert not is_cancel("confirm") and not is_confirm("cancel")


# The admin ----------------------------------------------------------------------------------


def test_the_outbox_in_the_admin_shows_and_filters_by_delivery_status(client, clinic_admin_user):
    delivered = sent_text(provider_status=Status.DELIVERED)
    sent_text(sid="SM" + "2" * 32, provider_status=Status.UNDELIVERED)
    client.force_login(clinic_admin_user)
    url = reverse("admin:notifications_notification_changelist")

    page = client.get(url).content.decode()
    filtered = client.get(url, {"provider_status": "delivered"}).content.decode()

    assert "Delivered to the phone" in page and "Not delivered" in page
    assert "Delivered to the phone" in filtered and "Not delivered</td>" not in filtered
    detail = client.get(
        reverse("admin:notifications_notification_change", args=[delivered.pk])
    ).content.decode()
    assert delivered.provider_message_id in detail and "Provider status time" in detail


def test_the_outbox_page_costs_the_same_queries_for_more_texts(
    client, clinic_admin_user, django_assert_num_queries
):
    client.force_login(clinic_admin_user)
    url = reverse("admin:notifications_notification_changelist")
    sent_text(provider_status=Status.DELIVERED)
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(5):
        sent_text(sid=f"SM{n:032d}", provider_status=Status.SENT)
    with CaptureQueriesContext(connection) as many:
        assert "Sent to the carrier" in client.get(url).content.decode()

    assert len(many) == len(few)


def test_front_desk_sees_the_delivery_status_but_patients_and_doctors_do_not(
    client, front_desk_user, patient_user, doctor_user
):
    sent_text(provider_status=Status.DELIVERED)
    url = reverse("admin:notifications_notification_changelist")
    client.force_login(front_desk_user)
    assert "Delivered to the phone" in client.get(url).content.decode()

    for user in (patient_user, doctor_user):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 302 and "Delivered" not in response.content.decode()
    client.logout()
    assert client.get(url).status_code == 302


# The settings check --------------------------------------------------------------------------


def test_a_complete_twilio_setup_passes_the_check():
    assert sms_provider_has_its_settings(None) == []


def test_a_twilio_backend_without_its_credentials_or_sender_is_an_error(settings):
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_FROM_NUMBER = ""

    [problem] = sms_provider_has_its_settings(None)

    assert isinstance(problem, Error) and problem.id == "notifications.E010"
    assert "TWILIO_AUTH_TOKEN" in problem.msg and "TWILIO_FROM_NUMBER" in problem.msg
    assert AUTH_TOKEN not in problem.msg


def test_a_messaging_service_is_a_sender_too(settings):
    settings.TWILIO_FROM_NUMBER = ""
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32

    assert sms_provider_has_its_settings(None) == []


def test_without_the_public_address_the_check_warns_of_no_delivery_status(settings):
    settings.SMS_CALLBACK_BASE_URL = ""

    [problem] = sms_provider_has_its_settings(None)

    assert isinstance(problem, Warning) and problem.id == "notifications.W011"


@pytest.mark.parametrize(
    "backend", ["notifications.sms.ConsoleSmsBackend", "notifications.nowhere.Backend"]
)
def test_other_backends_need_no_twilio_settings(settings, backend):
    settings.SMS_BACKEND = backend
    settings.TWILIO_ACCOUNT_SID = ""

    assert sms_provider_has_its_settings(None) == []
