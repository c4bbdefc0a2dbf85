import factory
from django.utils import timezone

from bookings.tests.factories import AppointmentFactory
from notifications.models import Notification


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
