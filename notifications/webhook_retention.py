"""How long a webhook's body is kept: it names the patient and what the visit is for.

A body is stored so that every try sends the same bytes; once the receiver has it, the portal
needs it only for a while (the admin's "send again"), and not at all once the patient has closed
their account. So:

- each worker round blanks the bodies delivered more than WEBHOOK_BODY_RETENTION_DAYS ago
  (remove_old_bodies, as it clears expired holds);
- closing a patient's account blanks the bodies of their deliveries, and those still waiting are
  not sent (withdraw_patient_deliveries, from clinic/privacy.py).

The row stays (event, endpoint, state, tries, the receiver's answers) with body_removed_at set;
"send again" refuses it, as there is nothing left to send. A failed delivery keeps its body, for
a clinic admin to send again, until the patient's account is closed.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import WebhookDelivery

State = WebhookDelivery.State


def withdraw_patient_deliveries(*, patient, now):
    """Blanks the bodies of every delivery about the patient's appointments; those still waiting
    are marked skipped (a worker posting one at this moment finds it gone when it records the
    answer). Found by the appointment each delivery names, not by searching the bodies. Returns
    how many deliveries were changed."""
    theirs = WebhookDelivery.objects.filter(appointment__patient=patient, body_removed_at=None)
    removed = {"body": "", "body_removed_at": now, "updated_at": now}
    with transaction.atomic():
        skipped = theirs.filter(state=State.PENDING).update(
            state=State.SKIPPED, locked_until=None, **removed
        )
        return skipped + theirs.update(**removed)


def retention():
    return dt.timedelta(days=settings.WEBHOOK_BODY_RETENTION_DAYS)


def remove_old_bodies(*, now=None):
    """Blanks the bodies delivered more than WEBHOOK_BODY_RETENTION_DAYS before `now` (default:
    the clock); returns how many. One UPDATE, on an index of the bodies still kept."""
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(
        state=State.DELIVERED, body_removed_at=None, delivered_at__lt=now - retention()
    ).update(body="", body_removed_at=now, updated_at=now)
