"""Sending the webhook outbox: each due delivery is POSTed, signed, until its receiver answers 2xx.

At least once, and no database transaction open while a receiver takes its time:

1. claim: in a short transaction, the next due row is taken with FOR UPDATE SKIP LOCKED (so two
   workers never take the same one), its try counted, and a lease written: next_attempt_at and
   locked_until move to now + WEBHOOK_LEASE_SECONDS, so nobody else takes it meanwhile;
2. post: outside any transaction, with WEBHOOK_TIMEOUT_SECONDS to connect and to answer, and
   the whole try (the name's look-up included) cut off after try_seconds(), shorter than the
   lease (notifications/webhook_http.py);
3. record: one UPDATE, only while the lease is still this worker's: 2xx is delivered; anything
   else (another status, a redirect, a timeout, a refused connection) is tried again after a
   growing pause (notifications.delivery.retry_pause), and marked failed after
   WEBHOOK_MAX_ATTEMPTS tries.

A worker killed between 1 and 3 leaves its lease to run out; the row is then due again and the
next worker sends it: the receiver may see an event twice, never not at all, and drops the repeat
by its event id. Run by `manage.py send_notifications` each round; Celery can call
deliver_due_webhooks() on a schedule instead, unchanged.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.delivery import retry_pause
from notifications.models import WebhookDelivery
from notifications.signing import SIGNATURE_HEADER, signature_header
from notifications.webhook_http import TookTooLong, Try
from notifications.webhook_targets import resolves_to_local, validate_webhook_url

logger = logging.getLogger(__name__)

State = WebhookDelivery.State
EVENT_ID_HEADER = "Clinic-Event-Id"
EVENT_TYPE_HEADER = "Clinic-Event-Type"
ATTEMPT_HEADER = "Clinic-Delivery-Attempt"
USER_AGENT = "ClinicPortal-Webhooks/1"
# What a lease keeps beyond the longest try: the claim before it and the record after it, and the
# workers' clocks a little apart.
LEASE_MARGIN_SECONDS = 5


class NotAllowedAnyMore(Exception):
    """The endpoint's URL fails today's rules (the settings changed since it was saved)."""


class ResolvesToLocal(Exception):
    """The endpoint's host name resolves to an address on this machine or a private network."""


def lease():
    return dt.timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


@checks.register()
def the_lease_outlasts_a_try(app_configs, **kwargs):
    """A lease shorter than a whole try cuts every slow receiver's try short (try_seconds()):
    say so at start-up rather than have the timeout quietly mean less."""
    timeout, lease = settings.WEBHOOK_TIMEOUT_SECONDS, settings.WEBHOOK_LEASE_SECONDS
    needed = 2 * timeout + LEASE_MARGIN_SECONDS
    if lease >= needed:
        return []
    return [
        checks.Error(
            f"WEBHOOK_LEASE_SECONDS ({lease:g}) is shorter than a whole webhook try and its "
            f"margin: twice WEBHOOK_TIMEOUT_SECONDS ({timeout:g}) and {LEASE_MARGIN_SECONDS} s.",
            hint=f"Set WEBHOOK_LEASE_SECONDS to at least {needed:g}, or lower "
            "WEBHOOK_TIMEOUT_SECONDS: a lease that runs out while its try goes on lets another "
            "worker send the event again.",
            id="notifications.E002",
        )
    ]


def _claim_next(now):
    """The next due delivery, leased to this worker until now + lease(), or None."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=State.PENDING, next_attempt_at__lte=now, endpoint__active=True)
            .select_related("endpoint")
            .order_by("next_attempt_at", "pk")
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.locked_until = delivery.next_attempt_at = now + lease()
        delivery.save(update_fields=["attempts", "locked_until", "next_attempt_at", "updated_at"])
    return delivery


def headers(delivery, body, *, at):
    """The headers of one try: the event's id and type, the try's number and the signature."""
    return {
        "Content-Type": delivery.content_type,
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: str(delivery.event_id),
        EVENT_TYPE_HEADER: delivery.event_type,
        ATTEMPT_HEADER: str(delivery.attempts),
        SIGNATURE_HEADER: signature_header(delivery.endpoint.secret, at.timestamp(), body),
    }


def try_seconds():
    """The longest one try may take, from the look-up of the receiver's name to its answer:
    WEBHOOK_TIMEOUT_SECONDS to connect and as long again to answer, and in any case less than the
    lease (a try that outlasted it would have another worker send the event again meanwhile;
    the system check below wants the lease long enough for the whole timeout)."""
    lease = settings.WEBHOOK_LEASE_SECONDS
    return min(2 * settings.WEBHOOK_TIMEOUT_SECONDS, max(lease - LEASE_MARGIN_SECONDS, lease / 2))


def _post(delivery, *, at):
    """POSTs the delivery's body within try_seconds(); returns the receiver's HTTP status
    (raises on no answer, TookTooLong when the time ran out)."""
    attempt = Try(try_seconds())
    return attempt.run(lambda: _send(delivery, attempt, at=at))


def _send(delivery, attempt, *, at):
    # Runs in the try's own thread (webhook_http): no database here.
    endpoint = delivery.endpoint
    try:
        validate_webhook_url(endpoint.url)
    except ValidationError:
        raise NotAllowedAnyMore from None
    if resolves_to_local(endpoint.url):
        raise ResolvesToLocal
    attempt.check()  # the look-up took all the time: the worker has moved on
    body = delivery.body.encode()
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    # No redirects: a receiver that moved says so with a 3xx, which is tried again until the
    # admin changes the URL (following it could lead the signed body anywhere). The answer's
    # body is never read: only its status counts.
    with (
        attempt.session() as session,
        session.post(
            endpoint.url,
            data=body,
            headers=headers(delivery, body, at=at),
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        ) as response,
    ):
        return response.status_code


def _error_text(error):
    # The error's kind only: its text may quote the URL, and nothing of the body belongs here.
    if isinstance(error, NotAllowedAnyMore):
        return "The endpoint's URL is not allowed any more (https:// on a public address)."
    if isinstance(error, ResolvesToLocal):
        return "The endpoint's host name resolves to a private or local address; not sent."
    if isinstance(error, TookTooLong):
        return f"No answer within {error.seconds:g} s, the longest a try may take."
    return type(error).__name__


def _record(delivery, *, at, status=None, error=None):
    """Writes the try's outcome if the lease is still ours; returns "delivered", "retrying",
    "failed", or None when another worker (or the admin's "send again") has the row now."""
    fields = {"last_status": status, "locked_until": None, "updated_at": at}
    if error is None and 200 <= status < 300:
        outcome = "delivered"
        fields.update(state=State.DELIVERED, delivered_at=at, last_error="")
    else:
        fields["last_error"] = f"HTTP {status}" if error is None else _error_text(error)
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            outcome = "failed"
            fields["state"] = State.FAILED
        else:
            outcome = "retrying"
            fields["next_attempt_at"] = at + retry_pause(delivery.attempts)
        logger.warning(
            "Webhook delivery %s (%s to endpoint %s) failed on try %s: %s",
            delivery.pk,
            delivery.event_type,
            delivery.endpoint_id,
            delivery.attempts,
            fields["last_error"],
        )
    ours = WebhookDelivery.objects.filter(
        pk=delivery.pk, state=State.PENDING, locked_until=delivery.locked_until
    )
    if not ours.update(**fields):
        logger.info(
            "Webhook delivery %s: its lease ran out (or it was withdrawn) before the answer.",
            delivery.pk,
        )
        return None
    return outcome


def deliver_due_webhooks(*, now=None, batch=100, stop=None):
    """Sends up to `batch` due deliveries, one at a time; returns {"delivered": n,
    "retrying": n, "failed": n}. `now` (tests) fixes the clock; `stop`, if given, is asked
    before each delivery, as send_due() asks it."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    for _ in range(batch):
        if stop is not None and stop():
            break
        at = now or timezone.now()
        delivery = _claim_next(at)
        if delivery is None:
            break
        try:
            status, error = _post(delivery, at=at), None
        except Exception as failure:  # any failure to get an answer: record it, try again later
            status, error = None, failure
        outcome = _record(delivery, at=now or timezone.now(), status=status, error=error)
        if outcome is not None:
            counts[outcome] += 1
    return counts


def resend(deliveries):
    """Puts delivered or failed deliveries back in the queue, same event id and body; those
    whose body was removed (webhook_retention) have nothing to send and are left alone."""
    now = timezone.now()
    sendable = deliveries.filter(state__in=[State.DELIVERED, State.FAILED], body_removed_at=None)
    return sendable.update(
        state=State.PENDING,
        attempts=0,
        next_attempt_at=now,
        locked_until=None,
        last_status=None,
        last_error="",
        delivered_at=None,
        updated_at=now,
    )
