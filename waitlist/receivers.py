"""The waitlist's answers to what bookings announces: a cancelled or moved appointment gives its
time back, to be offered to the waitlist. Runs inside the booking service's transaction, so the
freed time is recorded exactly when the cancellation commits."""

from django.dispatch import receiver

from bookings import signals
from waitlist import services


@receiver(signals.appointment_cancelled)
def record_cancelled_time(sender, appointment, now, **kwargs):
    services.record_freed_time(appointment=appointment, now=now)


@receiver(signals.appointment_rescheduled)
def record_moved_from_time(sender, old, now, **kwargs):
    services.record_freed_time(appointment=old, now=now)
