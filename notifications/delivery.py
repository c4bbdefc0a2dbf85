"""Sending the outbox: what is due goes out once, failures are retried with growing pauses and,
after the last try, marked failed with the error (the admin can send them again).

Run by `manage.py send_notifications` (once, or --loop as a worker); Celery beat can call
send_due() on a schedule instead, unchanged.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from accounts import languages
from bookings import ical, links, video
from bookings.models import LinkAction
from intake.links import questions_link
from notifications import sms
from notifications.models import Notification
from notifications.outbox import still_relevant
from waitlist import links as waitlist_links

logger = logging.getLogger(__name__)

State = Notification.State

SUBJECTS = {
    # Subjects travel through mail servers' logs: they name no patient, doctor or condition.
    # Lazy: each is translated when a notice is rendered, in its recipient's language.
    Notification.Kind.CONFIRMATION: gettext_lazy("Your appointment is booked"),
    Notification.Kind.CANCELLATION: gettext_lazy("An appointment has been cancelled"),
    Notification.Kind.RESCHEDULE: gettext_lazy("An appointment has moved to a new time"),
    Notification.Kind.REMINDER: gettext_lazy("Reminder: your appointment is coming up"),
    Notification.Kind.WAITLIST_OFFER: gettext_lazy("A time has come free for you"),
}


# The notices whose patient's copy carries one-click links (bookings.links): confirm, cancel,
# and in emails to patients with a login, move. A text message carries the two that need no
# login: each link is some fifty characters, and a third would add a whole part to the message.
LINK_KINDS = (Notification.Kind.CONFIRMATION, Notification.Kind.REMINDER)


def message_links(notification, *, now):
    """{action: absolute URL} of fresh links for this notice, made as it is sent; {} for notices
    that carry none (the doctor's, cancellations, new times) or when PORTAL_URL is empty. A
    waitlist offer's carries the link to the offer, for a patient who can log in to take it."""
    if notification.kind == Notification.Kind.WAITLIST_OFFER:
        offer = notification.offer
        if offer.entry.patient.user_id is None:
            return {}
        url = waitlist_links.issue(offer, now=now)
        return {"offer": url} if url else {}
    if (
        notification.kind not in LINK_KINDS
        or notification.audience != Notification.Audience.PATIENT
    ):
        return {}
    actions = [LinkAction.CONFIRM, LinkAction.CANCEL]
    if (
        notification.channel == Notification.Channel.EMAIL
        and notification.appointment.patient.user_id is not None
    ):
        actions.append(LinkAction.RESCHEDULE)
    return links.issue(notification.appointment, actions, now=now)


def retry_pause(attempts):
    """1, 5, 25, 125... minutes after the first, second, third... failed try."""
    return dt.timedelta(minutes=5 ** (attempts - 1))


def _offer_context(notification, message_links):
    offer = notification.offer
    return {
        "notification": notification,
        "offer": offer,
        "clinic": offer.clinic,
        "clinic_name": settings.CLINIC_NAME,
        "minutes": settings.WAITLIST_OFFER_MINUTES,
        "has_login": offer.entry.patient.user_id is not None,
        "links": message_links or {},
    }


def _context(notification, message_links=None):
    if notification.offer_id is not None:
        return _offer_context(notification, message_links)
    appointment = notification.appointment
    is_reschedule = notification.kind == Notification.Kind.RESCHEDULE
    to_doctor = notification.audience == Notification.Audience.DOCTOR
    return {
        "notification": notification,
        "appointment": appointment,
        # Only the new-time notice shows the old time: a reminder or a cancellation of a moved
        # appointment would otherwise show a "Was ... Now ..." the message is not about.
        "previous": appointment.rescheduled_from if is_reschedule else None,
        "clinic": appointment.clinic,
        # The address on one line ("12 Main Road, Bengaluru"); linebreaksbr|striptags ran the
        # lines together ("12 Main RoadBengaluru").
        "clinic_address_line": ", ".join(
            line.strip() for line in appointment.clinic.address.splitlines() if line.strip()
        ),
        "clinic_name": settings.CLINIC_NAME,
        "to_doctor": to_doctor,
        "lead_hours": notification.lead_minutes // 60,
        # A video visit's messages say how to join (the page that shows the link), not where.
        "video": video.notice(appointment, to_doctor=to_doctor),
        "links": message_links or {},
        # The patient's confirmation points to the page with the clinic's intake questions: its
        # address only, never a question or an answer.
        "questions_url": questions_link(appointment)
        if notification.kind == Notification.Kind.CONFIRMATION and not to_doctor
        else "",
    }


def recipient_language(notification):
    """The language the notice is written in: its recipient's (accounts.languages), whoever
    triggered it, and whatever language the request or worker that sends it runs in."""
    if notification.audience == Notification.Audience.DOCTOR:
        doctor = notification.appointment.doctor
        return languages.of_recipient_user(doctor.user) if doctor.user_id else languages.default()
    if notification.offer_id is not None:
        return languages.of_patient(notification.offer.entry.patient)
    return languages.of_patient(notification.appointment.patient)


def render_email(notification, message_links=None):
    with translation.override(recipient_language(notification)):
        return _render_email(notification, message_links)


def _render_email(notification, message_links):
    context = _context(notification, message_links)
    template = f"notifications/{notification.kind}"
    message = EmailMultiAlternatives(
        subject=f"{SUBJECTS[notification.kind]} · {settings.CLINIC_NAME}",
        body=render_to_string(f"{template}.txt", context),
        to=[notification.address],
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    if (
        notification.kind in (Notification.Kind.CONFIRMATION, Notification.Kind.RESCHEDULE)
        and notification.audience == Notification.Audience.PATIENT
    ):
        message.attach(
            "appointment.ics",
            ical.appointment_ics(notification.appointment, now=timezone.now()),
            "text/calendar",
        )
    if notification.audience == Notification.Audience.PATIENT and notification.appointment_id:
        # The event the confirmation put in the patient's calendar comes off again.
        gone = {
            Notification.Kind.CANCELLATION: notification.appointment,
            Notification.Kind.RESCHEDULE: notification.appointment.rescheduled_from,
        }.get(notification.kind)
        if gone is not None:
            message.attach(
                "cancelled-appointment.ics",
                ical.cancellation_ics(gone, now=timezone.now()),
                "text/calendar",
            )
    return message


def render_sms(notification, message_links=None):
    with translation.override(recipient_language(notification)):
        return render_to_string(
            f"notifications/{notification.kind}.sms.txt", _context(notification, message_links)
        ).strip()


def _deliver(notification, now):
    # Made in the claiming transaction: a failed try leaves its unsent links to expire. A worker
    # killed after the provider took the message rolls them back, so that copy's links open
    # nothing; the notice is then sent again (README: the one gap) with links that work.
    made = message_links(notification, now=now)
    if notification.channel == Notification.Channel.EMAIL:
        render_email(notification, made).send(fail_silently=False)
        return None
    return _send_sms(notification, render_sms(notification, made))


def _send_sms(notification, body):
    """Sends the text; returns the provider's Accepted (or None: a backend that keeps no ids)."""
    backend = sms.get_backend()
    if notification.provider_check_since is not None:
        # The last try got no answer: the provider may have taken that text. Ask it first.
        found = backend.find_sent(
            notification=notification, body=body, since=notification.provider_check_since
        )
        if found is not None:
            return found
    return backend.send_notice(notification=notification, body=body)


def _claim_next(now):
    return (
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(state=State.PENDING, send_after__lte=now)
        .select_related(
            # The logins too: a notice is written in its recipient's language, which may be
            # their login's (recipient_language), with no query of its own per notice.
            "appointment__patient__user",
            "appointment__doctor__department",
            "appointment__doctor__user",
            "appointment__clinic",
            "appointment__rescheduled_from",
            "offer__entry__patient__user",
            "offer__doctor__department",
            "offer__clinic",
        )
        .order_by("send_after", "pk")
        .first()
    )


def send_due(*, now=None, batch=100, stop=None):
    """Sends up to `batch` due notices; returns {"sent": n, "failed": n, "retrying": n,
    "skipped": n}.

    Each row is claimed with FOR UPDATE SKIP LOCKED, so several workers share the work without
    sending anything twice, and marked sent in the transaction that claimed it. One transaction
    per row, not per batch: a worker stopped or crashing mid-batch would otherwise roll back the
    "sent" marks of everything it had already delivered, and the next run would send it all again.
    `stop`, if given, is asked before each notice: a worker told to stop finishes the notice in
    hand and claims no other.
    """
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "retrying": 0, "skipped": 0}
    for _ in range(batch):
        if stop is not None and stop():
            break
        with transaction.atomic():
            notification = _claim_next(now)
            if notification is None:
                break
            _send_one(notification, now, counts)
    return counts


def _send_one(notification, now, counts):
    if not still_relevant(notification, now=now):
        notification.state = State.SKIPPED
        notification.save(update_fields=["state", "updated_at"])
        counts["skipped"] += 1
        return
    notification.attempts += 1
    try:
        accepted = _deliver(notification, now)
    except Exception as error:  # any backend's failure: record it, retry later, never crash
        # The notice's id and kind only: addresses and contents stay out of the logs.
        logger.warning(
            "Notification %s (%s by %s) failed on try %s: %s",
            notification.pk,
            notification.kind,
            notification.channel,
            notification.attempts,
            type(error).__name__,
        )
        notification.last_error = f"{type(error).__name__}: {error}"[:1000]
        if isinstance(error, sms.SmsOutcomeUnknown):
            # This try's text may be at the provider: the next try asks before sending.
            notification.provider_check_since = now
        if (
            isinstance(error, sms.SmsRefused)
            or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
        ):
            notification.state = State.FAILED
            counts["failed"] += 1
        else:
            notification.send_after = now + retry_pause(notification.attempts)
            counts["retrying"] += 1
    else:
        notification.state = State.SENT
        notification.sent_at = now
        notification.last_error = ""
        notification.provider_check_since = None
        if accepted is not None:
            _record_accepted(notification, accepted, now)
        counts["sent"] += 1
    notification.save(update_fields=SAVED_ON_EACH_TRY)


# What a try changes on its notice.
SAVED_ON_EACH_TRY = [
    "state",
    "attempts",
    "last_error",
    "send_after",
    "sent_at",
    "provider_message_id",
    "provider_status",
    "provider_status_at",
    "provider_check_since",
    "updated_at",
]


def _record_accepted(notification, accepted, now):
    notification.provider_message_id = accepted.message_id
    if accepted.status:
        notification.provider_status = accepted.status
        notification.provider_status_at = now


def resend(notifications):
    """Puts failed (or sent) notices back in the queue for the next run."""
    return notifications.update(
        state=State.PENDING,
        attempts=0,
        last_error="",
        send_after=timezone.now(),
        sent_at=None,
        # A new text: the old one's id, status and unanswered try are not its own.
        provider_message_id="",
        provider_status="",
        provider_status_at=None,
        provider_check_since=None,
        updated_at=timezone.now(),
    )
