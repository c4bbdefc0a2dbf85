"""What webhook deliveries keep of a patient, and for how long; who changed an endpoint.

A delivery's body names the patient and what the visit is for. Each delivery names its
appointment, so that closing the patient's account finds their deliveries (without searching the
bodies): those still waiting are not sent, and every body is blanked. A delivered body is blanked
WEBHOOK_BODY_RETENTION_DAYS after delivery by each worker round. "Send again" refuses a blanked
delivery. Endpoints are in the audit trail, never their secret.
"""

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import PatientFactory
from billing import services as billing_services
from bookings import services as booking_services
from bookings.tests.factories import AppointmentFactory
from clinic.privacy import close_patient_account
from clinic.tests.sample_clinic import (  # noqa: F401  (fixtures)
    NOW,
    PATIENT_NAME,
    appointment,
    desk,
    doctor,
    frozen_now,
    lakeview,
    patient,
    payment,
    personal_details,
)
from notifications import webhook_delivery, webhook_retention, webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from notifications.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db

State = WebhookDelivery.State
DAY = dt.timedelta(days=1)
DELIVERIES = reverse("admin:notifications_webhookdelivery_changelist")
ENDPOINTS = reverse("admin:notifications_webhookendpoint_changelist")
ADD_ENDPOINT = reverse("admin:notifications_webhookendpoint_add")


@pytest.fixture
def endpoints(db):
    """A JSON endpoint for every event and a FHIR one for the appointment events."""
    return (
        WebhookEndpointFactory(format=WebhookEndpoint.Format.JSON),
        WebhookEndpointFactory(
            format=WebhookEndpoint.Format.FHIR,
            events=[event.value for event in WebhookEvent if event.family == "appointment"],
        ),
    )


@pytest.fixture
def admin_client(settings, clinic_admin_user):
    settings.OTP_REQUIRED_FOR_CLINIC_ADMINS = False
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = False
    client = Client()
    client.force_login(clinic_admin_user)
    return client


def names_the_patient(delivery):
    return any(detail.lower() in delivery.body.lower() for detail in personal_details())


# Each delivery names its appointment --------------------------------------------------------------


def test_each_delivery_names_the_appointment_its_body_is_about(
    frozen_now, endpoints, appointment, payment, clinic_admin_user
):
    refund = billing_services.refund_payment(
        payment=payment, amount=Decimal("40.00"), reason="Overcharged", by=clinic_admin_user
    )
    test_event = webhooks.queue_test_event(endpoints[0], now=NOW)

    named = {
        (delivery.event_type, delivery.endpoint.format): delivery.appointment_id
        for delivery in WebhookDelivery.objects.exclude(pk=test_event.pk)
    }
    assert named == {
        ("appointment.booked", "json"): appointment.pk,
        ("appointment.booked", "fhir"): appointment.pk,
        ("payment.recorded", "json"): appointment.pk,
        ("payment.refunded", "json"): appointment.pk,
    }
    assert refund.charge.appointment_id == appointment.pk
    assert test_event.appointment_id is None


# Closing the patient's account --------------------------------------------------------------------


@pytest.fixture
def past_visit_with_deliveries(frozen_now, endpoints, appointment, payment, patient):
    """The appointment booked, paid and then cancelled (so the account can be closed): its
    deliveries delivered, failed and still waiting, all naming the patient."""
    booking_services.cancel_appointment(appointment=appointment, by=patient.user, now=NOW)
    theirs = WebhookDelivery.objects.filter(appointment=appointment).order_by("pk")
    booked_json, booked_fhir = theirs.filter(event_type="appointment.booked")
    booked_json.state, booked_json.delivered_at = State.DELIVERED, NOW
    booked_json.save()
    booked_fhir.state, booked_fhir.attempts = State.FAILED, 7
    booked_fhir.save()
    assert all(names_the_patient(delivery) for delivery in theirs)
    assert theirs.filter(state=State.PENDING).count() == 3  # paid; cancelled (JSON and FHIR)
    return list(theirs)


@pytest.fixture
def someone_elses(endpoints):
    other = AppointmentFactory(
        patient=PatientFactory(full_name="Bartholomew Okonkwo"), reason="Sprained left ankle"
    )
    return webhooks.queue_event(WebhookEvent.APPOINTMENT_BOOKED, other, now=NOW)


def test_closing_an_account_withdraws_the_patients_waiting_deliveries_and_blanks_every_body(
    past_visit_with_deliveries, someone_elses, patient, endpoints
):
    test_event = webhooks.queue_test_event(endpoints[0], now=NOW)
    before = {d.pk: (d.state, d.event_id, d.attempts) for d in past_visit_with_deliveries}

    close_patient_account(patient=patient, now=NOW)

    for delivery in past_visit_with_deliveries:
        delivery.refresh_from_db()
        assert (delivery.body, delivery.body_removed_at) == ("", NOW)
        state, event_id, attempts = before[delivery.pk]
        assert delivery.state == (State.SKIPPED if state == State.PENDING else state)
        assert (delivery.event_id, delivery.attempts) == (event_id, attempts)  # the record stays
    # Nobody else's deliveries are touched.
    for delivery in [*someone_elses, test_event]:
        kept = WebhookDelivery.objects.get(pk=delivery.pk)
        assert (kept.state, kept.body, kept.body_removed_at) == (State.PENDING, delivery.body, None)


def test_the_withdrawn_deliveries_are_never_posted(
    past_visit_with_deliveries, patient, monkeypatch
):
    posted = []
    monkeypatch.setattr(webhook_delivery, "_post", lambda delivery, at: posted.append(delivery))
    close_patient_account(patient=patient, now=NOW)

    webhook_delivery.deliver_due_webhooks(now=NOW + 30 * DAY)

    assert posted == []


def test_a_try_under_way_when_the_account_closes_is_not_recorded_over_the_withdrawal(
    past_visit_with_deliveries, patient
):
    claimed = webhook_delivery._claim_next(NOW)
    assert claimed.appointment.patient_id == patient.pk

    close_patient_account(patient=patient, now=NOW)

    assert webhook_delivery._record(claimed, at=NOW, status=200) is None
    claimed.refresh_from_db()
    assert (claimed.state, claimed.body) == (State.SKIPPED, "")


def test_the_patients_deliveries_are_found_by_their_appointment_in_two_statements(
    past_visit_with_deliveries, patient
):
    with CaptureQueriesContext(connection) as captured:
        changed = webhook_retention.withdraw_patient_deliveries(patient=patient, now=NOW)

    assert changed == len(past_visit_with_deliveries) == 5
    statements = [q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 2
    # Nothing in the WHERE clauses reads the body (it is only blanked, in the SET clause).
    assert all('"body"' not in sql.split("WHERE", 1)[1] for sql in statements)


# Keeping delivered bodies for WEBHOOK_BODY_RETENTION_DAYS -----------------------------------------


def delivered(days_ago, **fields):
    return WebhookDeliveryFactory(
        state=State.DELIVERED, delivered_at=timezone.now() - days_ago * DAY, **fields
    )


def test_delivered_bodies_are_blanked_after_the_retention_and_nothing_else_is(settings):
    settings.WEBHOOK_BODY_RETENTION_DAYS = 30
    old, recent = delivered(31), delivered(29)
    failed = WebhookDeliveryFactory(state=State.FAILED, next_attempt_at=timezone.now() - 60 * DAY)
    waiting = WebhookDeliveryFactory(next_attempt_at=timezone.now() - 60 * DAY)
    now = timezone.now()

    assert webhook_retention.remove_old_bodies(now=now) == 1

    old.refresh_from_db()
    assert (old.state, old.body, old.body_removed_at) == (State.DELIVERED, "", now)
    for kept in (recent, failed, waiting):
        assert WebhookDelivery.objects.get(pk=kept.pk).body == kept.body != ""
    assert webhook_retention.remove_old_bodies(now=now) == 0  # once

    settings.WEBHOOK_BODY_RETENTION_DAYS = 7
    assert webhook_retention.remove_old_bodies(now=now) == 1
    assert WebhookDelivery.objects.get(pk=recent.pk).body == ""


def test_each_worker_round_blanks_the_old_bodies(settings):
    settings.WEBHOOK_BODY_RETENTION_DAYS = 30
    old, recent = delivered(31), delivered(1)

    call_command("send_notifications", stdout=StringIO())

    assert WebhookDelivery.objects.get(pk=old.pk).body_removed
    assert not WebhookDelivery.objects.get(pk=recent.pk).body_removed


def test_the_celery_webhook_task_blanks_the_old_bodies_too(settings):
    from notifications import tasks

    settings.WEBHOOK_BODY_RETENTION_DAYS = 30
    old = delivered(31)

    assert tasks.deliver_webhooks.run() == {"delivered": 0, "retrying": 0, "failed": 0}

    assert WebhookDelivery.objects.get(pk=old.pk).body_removed


# Send again ---------------------------------------------------------------------------------------


def test_send_again_refuses_a_delivery_whose_body_was_removed_and_says_why(admin_client, settings):
    settings.WEBHOOK_BODY_RETENTION_DAYS = 30
    removed = delivered(40)
    webhook_retention.remove_old_bodies()
    failed = WebhookDeliveryFactory(state=State.FAILED, attempts=7)

    response = admin_client.post(
        DELIVERIES,
        {"action": "send_again", "_selected_action": [removed.pk, failed.pk]},
        follow=True,
    )

    removed.refresh_from_db()
    assert (removed.state, removed.body) == (State.DELIVERED, "")
    failed.refresh_from_db()
    assert failed.state == State.PENDING
    shown = [str(message) for message in response.context["messages"]]
    assert shown[0].startswith("1 delivery(ies) queued")
    assert shown[1].startswith("1 delivery(ies) cannot be sent again: their body was removed")
    assert webhook_delivery.resend(WebhookDelivery.objects.filter(pk=removed.pk)) == 0


def test_send_again_refuses_a_closed_accounts_deliveries(
    past_visit_with_deliveries, patient, admin_client
):
    close_patient_account(patient=patient, now=NOW)
    pks = [delivery.pk for delivery in past_visit_with_deliveries]

    admin_client.post(DELIVERIES, {"action": "send_again", "_selected_action": pks})

    assert not WebhookDelivery.objects.filter(pk__in=pks, state=State.PENDING).exists()
    assert set(WebhookDelivery.objects.filter(pk__in=pks).values_list("body", flat=True)) == {""}


# Endpoints in the audit trail ---------------------------------------------------------------------


def entries_about(endpoint):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(WebhookEndpoint), object_pk=str(endpoint.pk)
    ).order_by("pk")


def test_adding_and_changing_an_endpoint_is_recorded_with_who_and_never_the_secret(
    admin_client, clinic_admin_user
):
    form = {
        "description": "Lakeview EHR",
        "url": "https://ehr.example.com/hooks/clinic",
        "events": ["appointment.booked"],
        "format": "json",
        "active": "on",
    }
    assert admin_client.post(ADD_ENDPOINT, form).status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    change = reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    moved = {**form, "url": "https://elsewhere.example.net/in", "events": ["payment.recorded"]}
    assert admin_client.post(change, moved).status_code == 302
    admin_client.post(ENDPOINTS, {"action": "new_secret", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()

    created, changed, new_secret = entries_about(endpoint)
    assert created.action == LogEntry.Action.CREATE
    assert changed.action == LogEntry.Action.UPDATE
    assert changed.changes_dict["url"] == [
        "https://ehr.example.com/hooks/clinic",
        "https://elsewhere.example.net/in",
    ]
    assert "events" in changed.changes_dict
    assert new_secret.additional_data["event"] == "new secret made"
    assert {entry.actor for entry in (created, changed, new_secret)} == {clinic_admin_user}
    every_entry = json.dumps(
        list(LogEntry.objects.values("changes", "changes_text", "additional_data")), default=str
    )
    assert "secret" not in {**created.changes_dict, **changed.changes_dict}
    assert endpoint.secret not in every_entry
    assert "whsec_" not in every_entry


def test_the_patients_name_in_a_body_is_not_what_finds_the_deliveries(
    frozen_now, endpoints, patient
):
    """Only the appointment counts: another patient's body that happens to contain the name (a
    reason for the visit quoting it, say) is left alone."""
    other = AppointmentFactory(reason=f"Referred by {PATIENT_NAME}'s family")
    [theirs, *_] = webhooks.queue_event(WebhookEvent.APPOINTMENT_BOOKED, other, now=NOW)
    assert PATIENT_NAME in theirs.body

    assert webhook_retention.withdraw_patient_deliveries(patient=patient, now=NOW) == 0
    assert WebhookDelivery.objects.get(pk=theirs.pk).body == theirs.body
