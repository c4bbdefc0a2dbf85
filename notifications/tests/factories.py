import uuid

import factory
from django.utils import timezone

from bookings.tests.factories import AppointmentFactory
from notifications import webhooks
from notifications.models import (
    SUBSCRIBABLE_EVENTS,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


class NotificationFactory(factory.django.DjangoModelFactory):
    """A pending email confirmation to the patient, due now."""

    class Meta:
        model = Notification

    appointment = factory.SubFactory(AppointmentFactory)
    kind = Notification.Kind.CONFIRMATION
    channel = Notification.Channel.EMAIL
    audience = Notification.Audience.PATIENT
    address = factory.Sequence(lambda n: f"notice{n}@example.com")
    send_after = factory.LazyFunction(timezone.now)


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    """An active JSON endpoint for every event."""

    class Meta:
        model = WebhookEndpoint

    description = factory.Sequence(lambda n: f"EHR {n}")
    url = factory.Sequence(lambda n: f"https://ehr{n}.example.com/hooks/clinic")
    events = factory.LazyFunction(lambda: [event.value for event in SUBSCRIBABLE_EVENTS])
    format = WebhookEndpoint.Format.JSON


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """A test event owed to an endpoint, due now, its body built as the portal builds one."""

    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event_id = factory.LazyFunction(uuid.uuid4)
    event_type = WebhookEvent.TEST
    next_attempt_at = factory.LazyFunction(timezone.now)
    body = factory.LazyAttribute(
        lambda o: webhooks.as_json(
            webhooks.envelope(o.event_id, o.event_type, o.next_attempt_at, {"n": 1})
        )
    )
