"""Deliveries queued before they named their appointment get it from their bodies when the
migration runs, so that closing the patient's account finds them too."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from billing.tests.factories import ChargeFactory, PaymentFactory
from bookings.tests.factories import AppointmentFactory
from notifications import webhooks
from notifications.models import WebhookDelivery

BEFORE = [("notifications", "0003_webhook_permissions")]


def body(data, event="appointment.booked"):
    return webhooks.as_json(webhooks.envelope(uuid.uuid4(), event, timezone.now(), data))


# Migrating back and forth needs the real schema outside a test transaction.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_old_deliveries_get_their_appointment_from_the_body():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    Endpoint = old_apps.get_model("notifications", "WebhookEndpoint")
    Delivery = old_apps.get_model("notifications", "WebhookDelivery")

    booked, paid_for = AppointmentFactory(), AppointmentFactory()
    payment = PaymentFactory(charge=ChargeFactory(appointment=paid_for))
    endpoint = Endpoint.objects.create(url="https://ehr.example.com/in", events=["x"])

    def delivery(event_type, text, content_type="application/json"):
        return Delivery.objects.create(
            endpoint=endpoint,
            event_type=event_type,
            content_type=content_type,
            body=text,
            next_attempt_at=timezone.now(),
        ).pk

    expected = {
        delivery("appointment.booked", body({"id": booked.pk})): booked.pk,
        delivery("appointment.cancelled", body({"id": booked.pk, "status": "cancelled"})): (
            booked.pk
        ),
        delivery(
            "appointment.booked",
            f'{{"resourceType":"Appointment","id":"{paid_for.pk}"}}',
            "application/fhir+json",
        ): paid_for.pk,
        delivery("payment.recorded", body({"id": payment.pk}, "payment.recorded")): paid_for.pk,
        delivery("webhook.test", body({"endpoint": endpoint.pk}, "webhook.test")): None,
        delivery("appointment.booked", body({"id": 10**9})): None,  # no such appointment
        delivery("payment.refunded", body({"id": 10**9}, "payment.refunded")): None,
        delivery("appointment.booked", "not JSON at all"): None,
        delivery("appointment.booked", body({"id": "soon"})): None,
    }

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    named = dict(WebhookDelivery.objects.values_list("pk", "appointment_id"))
    assert named == expected
