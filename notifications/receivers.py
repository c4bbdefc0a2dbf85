"""The outbox's answers to what bookings announces: each receiver runs inside the service's
transaction, so the notices commit or roll back with the change they announce."""

from django.dispatch import receiver

from bookings import signals
from notifications import outbox
from waitlist import signals as waitlist_signals


@receiver(signals.appointment_booked)
def queue_confirmation(sender, appointment, now, **kwargs):
    outbox.booked(appointment, now=now)


@receiver(signals.appointment_cancelled)
def queue_cancellation(sender, appointment, now, **kwargs):
    outbox.cancelled(appointment, now=now)


@receiver(signals.appointment_rescheduled)
def queue_new_time(sender, old, new, now, **kwargs):
    outbox.rescheduled(old, new, now=now)


@receiver(waitlist_signals.offer_made)
def queue_waitlist_offer(sender, offer, now, **kwargs):
    outbox.waitlist_offer(offer, now=now)
