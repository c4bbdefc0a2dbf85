"""What billing tells higher apps (notifications, ...) without importing them.

Sent inside the service's transaction, so a receiver's writes commit or roll back with the
payment or refund they follow. Receivers connect in their AppConfig.ready(). Every signal also
carries `by` (who recorded it) and `now` (the moment it was recorded at).
"""

from django.dispatch import Signal

# payment: money received for a charge (a Payment of kind payment)
payment_recorded = Signal()
# refund, payment: money given back (a Payment of kind refund) from that payment
payment_refunded = Signal()
