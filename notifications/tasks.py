"""Celery tasks (clinic/celery.py): the rounds of `manage.py send_notifications`, one task each,
for workers on several machines. Beat sends each every BEAT_INTERVAL_SECONDS.

Each calls the command's own function: send_due (reminders are notices with a later send_after,
so they come with it), deliver_due_webhooks (after remove_old_bodies, as the command's round
does), delete_expired_holds and the waitlist's offer_freed_times. Those claim their rows
themselves (FOR UPDATE SKIP LOCKED, leases), so any number of workers may run the same task at
once; see clinic/celery.py for why a task message is only a trigger.
"""

import logging
from time import monotonic

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from bookings.links import delete_expired as delete_expired_links
from bookings.services import delete_expired_holds
from notifications.delivery import send_due
from notifications.webhook_delivery import deliver_due_webhooks
from notifications.webhook_retention import remove_old_bodies
from waitlist.services import offer_freed_times

logger = logging.getLogger(__name__)

# At most this many notices (or deliveries) per task, as the command sends per round.
BATCH = 100


def _one_batch(task, send):
    """Runs one batch of `send` for at most one beat interval. If more may be waiting (a full
    batch, or the time ran out), the task is sent again at once, for whichever worker is free,
    rather than left to the next tick: a backlog drains at the workers' pace, while each task
    stays short enough that a worker told to stop (SIGTERM) finishes it soon."""
    interval = settings.BEAT_INTERVAL_SECONDS
    deadline = monotonic() + interval

    def out_of_time():
        return monotonic() >= deadline

    try:
        counts = send(batch=BATCH, stop=out_of_time)
    except (OperationalError, InterfaceError) as error:
        # The error's kind only, as the command logs it: its text may quote a statement. The
        # next tick tries again; Celery closes the broken connection after the task.
        logger.warning(
            "%s: the database could not be reached (%s); the next run tries again.",
            task.name,
            type(error).__name__,
        )
        return None
    if sum(counts.values()) >= BATCH or out_of_time():
        task.apply_async(expires=interval)
    return counts


@shared_task(bind=True, name="notifications.send_due_notices")
def send_due_notices(self):
    """Sends the due notices: confirmations, cancellations, new times and reminders."""
    return _one_batch(self, send_due)


@shared_task(bind=True, name="notifications.deliver_due_webhooks")
def deliver_webhooks(self):
    """Blanks the webhook bodies kept long enough, then posts the due deliveries."""

    def deliver(**kwargs):
        remove_old_bodies()
        return deliver_due_webhooks(**kwargs)

    return _one_batch(self, deliver)


@shared_task(name="notifications.delete_expired_holds")
def clear_expired_holds():
    """Deletes the slot holds that have run out (they are busy for nobody already), and the
    one-click links in messages past their expiry (they open nothing any more)."""
    try:
        deleted = delete_expired_holds()
        delete_expired_links()
        return deleted
    except (OperationalError, InterfaceError) as error:
        logger.warning(
            "Clearing expired holds: the database could not be reached (%s).",
            type(error).__name__,
        )
        return None


@shared_task(name="waitlist.offer_freed_times")
def offer_waitlist_times():
    """Settles lapsed waitlist offers and offers freed times to the next patients in line."""
    try:
        return offer_freed_times()
    except (OperationalError, InterfaceError) as error:
        logger.warning(
            "Offering freed times: the database could not be reached (%s).",
            type(error).__name__,
        )
        return None
