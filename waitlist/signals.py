"""What the waitlist tells higher apps (notifications) without importing them.

Sent inside the service's transaction, so a receiver's writes (the outbox's notices) commit or
roll back with the offer they announce. Receivers connect in their AppConfig.ready().
"""

from django.dispatch import Signal

# offer, now: a freed time is held for the offer's patient, who should hear of it.
offer_made = Signal()
