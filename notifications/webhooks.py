"""Writing the webhook outbox: one delivery per event and endpoint, with the body to send.

Called by the receivers of bookings' and billing's signals (notifications/webhook_receivers.py),
inside the services' transactions: a change that rolls back leaves no delivery, and the body is
built from what the change committed, once, so every try sends the same bytes.

A change nobody subscribed to costs one query (the active endpoints, a handful of rows); the
payloads are built only for the formats some endpoint wants.
"""

import datetime as dt
import json
import logging
import uuid

from django.core.serializers.json import DjangoJSONEncoder

from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from notifications.webhook_payloads import builder_for

logger = logging.getLogger(__name__)

Format = WebhookEndpoint.Format
JSON = "application/json"
FHIR_JSON = "application/fhir+json"


def as_json(payload):
    # Built once and stored: every try posts (and signs) these very bytes.
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"))


def envelope(event_id, event, occurred_at, data):
    """The JSON format's body: the event's id and type, when it happened, and its subject."""
    return {
        "id": str(event_id),
        "type": str(event),
        "occurred_at": occurred_at.astimezone(dt.UTC),
        "data": data,
    }


def _body(format, event, event_id, occurred_at, subject):
    """(content type, body) of `event` about `subject` in `format`, or None without a builder.

    JSON: the envelope with the subject as the API shows it. FHIR: the resource itself, as the
    FHIR interface serves it; the event's id and type travel in the headers.
    """
    builder = builder_for(format, event.family)
    if builder is None:
        return None
    data = builder(subject)
    if format == Format.FHIR:
        return FHIR_JSON, as_json(data)
    return JSON, as_json(envelope(event_id, event, occurred_at, data))


def appointment_id(event, subject):
    """The appointment whose patient an event's body names: the subject itself, or the one its
    ledger entry was paid for."""
    if event.family == "payment":
        return subject.charge.appointment_id
    return subject.pk


def queue_event(event, subject, *, now):
    """Queues `event` (a WebhookEvent) about `subject` for every active endpoint that wants it;
    returns the deliveries written."""
    event = WebhookEvent(event)
    # Every active endpoint in one small query, filtered here: the events are a JSON list, which
    # SQLite and PostgreSQL would search differently.
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if e.wants(event)]
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    about = appointment_id(event, subject)
    bodies = {}
    deliveries = []
    for endpoint in endpoints:
        if endpoint.format not in bodies:
            bodies[endpoint.format] = _body(endpoint.format, event, event_id, now, subject)
        built = bodies[endpoint.format]
        if built is None:
            # The system check (notifications.E001) says so at start-up; a booking must not fail
            # for it, so the endpoint misses this event and the log says which.
            logger.error(
                "Webhook endpoint %s: no %s payload for %s events; not queued.",
                endpoint.pk,
                endpoint.format,
                event.family,
            )
            continue
        content_type, body = built
        deliveries.append(
            WebhookDelivery(
                endpoint=endpoint,
                appointment_id=about,
                event_id=event_id,
                event_type=event,
                content_type=content_type,
                body=body,
                next_attempt_at=now,
            )
        )
    return WebhookDelivery.objects.bulk_create(deliveries)


def queue_test_event(endpoint, *, now):
    """A `webhook.test` event for one endpoint, whatever it subscribes to: the admin's button
    to see a receiver answer (and check its signature) before real events go to it."""
    event_id = uuid.uuid4()
    body = as_json(envelope(event_id, WebhookEvent.TEST, now, {"endpoint": endpoint.pk}))
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        event_type=WebhookEvent.TEST,
        content_type=JSON,
        body=body,
        next_attempt_at=now,
    )
