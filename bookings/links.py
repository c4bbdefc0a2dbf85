"""One-click links in messages: confirm attendance, cancel, or go to moving the appointment,
without logging in.

A link is `<PORTAL_URL>/links/<token>/`, the token 144 random bits (never the appointment's id
or anything about the patient). Only its SHA-256 hash is stored (AppointmentLink), so the table
opens nothing; the token, drawn from `secrets`, needs no salt or key to be unguessable. Each link
names one action and stops working at its expiry, at the latest when the appointment starts; a
link that changes the appointment works once. Notices make them as they are sent
(notifications.delivery), one set per message.

What a link does is the booking services' work, with their rules: the patient acting through a
link is `by=None, via=ContactChannel.LINK` there (the patient's cancellation cut-off applies).
"""

import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import AppointmentLink, ContactChannel, LinkAction, Status

TOKEN_BYTES = 18  # 144 bits, 24 characters in the URL
# Longer input is no token: refused before it is hashed, so nonsense costs nothing to check.
MAX_TOKEN_LENGTH = 64


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8", "backslashreplace")).hexdigest()


def portal_url():
    """The portal's address for links in messages (settings.PORTAL_URL), without a trailing
    slash; empty when none is set, and messages then carry no links."""
    return settings.PORTAL_URL.rstrip("/")


def link_url(token):
    return f"{portal_url()}{reverse('links:open', kwargs={'token': token})}"


def issue(appointment, actions, *, now):
    """Makes one link per action for `appointment`; returns {action: absolute URL}. The links
    expire when the appointment starts. Nothing for an appointment no longer open for changes
    (cancelled, moved, started), nor when no PORTAL_URL is set."""
    if not portal_url() or not appointment.is_open_for_changes(now):
        return {}
    tokens = {LinkAction(action): secrets.token_urlsafe(TOKEN_BYTES) for action in actions}
    AppointmentLink.objects.bulk_create(
        AppointmentLink(
            appointment=appointment,
            action=action,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=appointment.start,
        )
        for action, token in tokens.items()
    )
    return {action.value: link_url(token) for action, token in tokens.items()}


def find(token, *, now):
    """The working link `token` opens, with its appointment, doctor and clinic; None for a wrong,
    expired or used link, or one whose appointment is no longer booked or has started.

    The same single query whichever of those it is, and nothing said about which.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        token = ""
    link = (
        AppointmentLink.objects.select_related(
            "appointment__patient", "appointment__doctor", "appointment__clinic"
        )
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None or link.expires_at <= now or link.used_at is not None:
        return None
    appointment = link.appointment
    if appointment.status != Status.BOOKED or appointment.start <= now:
        return None
    return link


def _claim(link, *, now):
    """Marks a single-use link used, if nobody has in the meantime; whether this call did."""
    with transaction.atomic():
        return bool(
            AppointmentLink.objects.filter(
                pk=link.pk, used_at__isnull=True, expires_at__gt=now
            ).update(used_at=now)
        )


def _unclaim(link):
    with transaction.atomic():
        AppointmentLink.objects.filter(pk=link.pk).update(used_at=None)


class LinkUsed(Exception):
    """The link was used (or expired) between opening its page and pressing its button."""


def act(link, *, now):
    """Does what `link` (a single-use link from find()) is for, as its patient through a link:
    confirms attendance or cancels. The link is used up first, so two presses never both act;
    a refusal of the service (BookingError: the cut-off, a status changed meanwhile) leaves it
    used, since it would be refused again. Any other failure gives the link back."""
    if not _claim(link, now=now):
        raise LinkUsed()
    try:
        if link.action == LinkAction.CONFIRM:
            return services.confirm_attendance(
                appointment=link.appointment, via=ContactChannel.LINK, now=now
            )
        return services.cancel_appointment(
            appointment=link.appointment,
            by=None,
            via=ContactChannel.LINK,
            reason="Cancelled by the patient with the link in a message",
            now=now,
        )
    except services.BookingError:
        raise
    except Exception:
        _unclaim(link)
        raise


def delete_expired(now=None):
    """Deletes links past their expiry (they open nothing any more); returns how many. For the
    notification worker's rounds, beside the expired holds."""
    now = now or timezone.now()
    with transaction.atomic():
        deleted, _ = AppointmentLink.objects.filter(expires_at__lte=now).delete()
    return deleted
