"""What bookings tells higher apps (billing, notifications, ...) without importing them.

Sent inside the service's transaction, so a receiver's writes commit or roll back with the change
they follow. Receivers connect in their AppConfig.ready().
"""

from django.dispatch import Signal

# Every signal also carries `now`, the moment the service acted on.

# appointment, by
appointment_booked = Signal()
# appointment, by (None: the patient without a login, through appointment.cancelled_via)
appointment_cancelled = Signal()
# old, new, by: the old appointment was cancelled in favour of the new one
appointment_rescheduled = Signal()
# appointment, by: checked in, completed or marked as a no-show (appointment.status says which)
appointment_progressed = Signal()
