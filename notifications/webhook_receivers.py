"""Webhook events from what bookings and billing announce. Each receiver runs inside the
service's transaction, so the deliveries commit or roll back with the change they announce."""

from django.dispatch import receiver

from billing import signals as billing_signals
from bookings import signals as booking_signals
from bookings.models import Status
from notifications.models import WebhookEvent
from notifications.webhooks import queue_event

# appointment_progressed says "the status changed"; the new status says to what.
PROGRESS_EVENTS = {
    Status.CHECKED_IN: WebhookEvent.APPOINTMENT_CHECKED_IN,
    Status.COMPLETED: WebhookEvent.APPOINTMENT_COMPLETED,
    Status.NO_SHOW: WebhookEvent.APPOINTMENT_NO_SHOW,
}


@receiver(booking_signals.appointment_booked, dispatch_uid="webhooks.appointment_booked")
def appointment_booked(sender, appointment, now, **kwargs):
    queue_event(WebhookEvent.APPOINTMENT_BOOKED, appointment, now=now)


@receiver(booking_signals.appointment_cancelled, dispatch_uid="webhooks.appointment_cancelled")
def appointment_cancelled(sender, appointment, now, **kwargs):
    queue_event(WebhookEvent.APPOINTMENT_CANCELLED, appointment, now=now)


@receiver(booking_signals.appointment_rescheduled, dispatch_uid="webhooks.appointment_rescheduled")
def appointment_rescheduled(sender, old, new, now, **kwargs):
    # The new appointment, which names the one it replaced (rescheduled_from / "replaces").
    queue_event(WebhookEvent.APPOINTMENT_RESCHEDULED, new, now=now)


@receiver(booking_signals.appointment_progressed, dispatch_uid="webhooks.appointment_progressed")
def appointment_progressed(sender, appointment, now, **kwargs):
    queue_event(PROGRESS_EVENTS[Status(appointment.status)], appointment, now=now)


@receiver(billing_signals.payment_recorded, dispatch_uid="webhooks.payment_recorded")
def payment_recorded(sender, payment, now, **kwargs):
    queue_event(WebhookEvent.PAYMENT_RECORDED, payment, now=now)


@receiver(billing_signals.payment_refunded, dispatch_uid="webhooks.payment_refunded")
def payment_refunded(sender, refund, now, **kwargs):
    # The refund's own ledger entry, which names the payment it returns money from (refund_of).
    queue_event(WebhookEvent.PAYMENT_REFUNDED, refund, now=now)
