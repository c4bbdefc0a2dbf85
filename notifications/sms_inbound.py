"""What the SMS provider tells the portal: how far each text got (delivery reports), and what
patients answer (a reply of CANCEL cancels, and one of CONFIRM confirms, the appointment the
latest text was about).

The views (notifications.sms_views) have checked that the provider sent the request; these
functions trust its contents and reveal nothing to a sender that the sender does not know.
"""

import unicodedata

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from accounts import languages
from bookings.models import Appointment, ContactChannel, Status
from bookings.services import NotAllowed, cancel_appointment, confirm_attendance
from notifications.models import Notification

ProviderStatus = Notification.ProviderStatus

# How far a status is along the way: a report never moves a notice back (reports can come out of
# order), and the first final one stands.
PROGRESS = {
    "": 0,
    ProviderStatus.QUEUED: 1,
    ProviderStatus.SENT: 2,
    ProviderStatus.DELIVERED: 3,
    ProviderStatus.UNDELIVERED: 3,
    ProviderStatus.FAILED: 3,
}
NOT_DELIVERED = (ProviderStatus.UNDELIVERED, ProviderStatus.FAILED)


def record_status(*, message_id, status, error_code="", notice_id=None, now=None):
    """Records a delivery report on its notice; returns whether the notice changed.

    The notice is the one the report's callback address names (`notice_id`), or else the one
    holding the provider's `message_id`. A named notice still waiting after a try that got no
    answer takes the report as the provider's word that it took that try's text: the notice is
    sent, and the next try will not send it again. A report about another text than the notice's
    (an earlier one, before an admin sent the notice again), about no notice, or not further on
    than what the notice has, changes nothing.
    """
    if not message_id or status not in PROGRESS or not status:
        return False
    now = now or timezone.now()
    with transaction.atomic():
        notices = Notification.objects.select_for_update().filter(channel=Notification.Channel.SMS)
        if notice_id is not None:
            notice = notices.filter(pk=notice_id).first()
        else:
            notice = notices.filter(provider_message_id=message_id).first()
        if notice is None:
            return False
        changed = []
        if not notice.provider_message_id and _unanswered_try_was_taken(notice):
            notice.provider_message_id = message_id
            notice.state = Notification.State.SENT
            notice.sent_at = now
            notice.last_error = ""
            notice.provider_check_since = None
            changed += [
                "provider_message_id",
                "state",
                "sent_at",
                "last_error",
                "provider_check_since",
            ]
        if notice.provider_message_id != message_id:
            return False
        if PROGRESS[status] > PROGRESS[notice.provider_status]:
            notice.provider_status = status
            notice.provider_status_at = now
            changed += ["provider_status", "provider_status_at"]
            if status in NOT_DELIVERED:
                # The provider's error code only: its text is not kept (it may name the number).
                code = f" (error {error_code})" if str(error_code).isdigit() else ""
                notice.last_error = f"The provider reports the text {status}{code}."
                changed.append("last_error")
        if not changed:
            return False
        notice.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    return True


def _unanswered_try_was_taken(notice):
    return notice.state == Notification.State.PENDING and notice.provider_check_since is not None


# Replies --------------------------------------------------------------------------------------

# What cancels, and what confirms, once spaces, case and a final full stop or exclamation mark are
# set aside. Not YES: Twilio takes it as a request to receive texts again.
CANCEL_WORDS = {"cancel", "रद्द"}
CONFIRM_WORDS = {"confirm", "पुष्टि"}
# The texts a reply may be answering: the patient's own copies that name a time to keep.
ANSWERABLE_KINDS = (Notification.Kind.CONFIRMATION, Notification.Kind.REMINDER)


def _word(text):
    word = "".join(unicodedata.normalize("NFC", text or "").split()).casefold()
    return word.rstrip(".!।")


def is_cancel(text):
    return _word(text) in CANCEL_WORDS


def is_confirm(text):
    return _word(text) in CONFIRM_WORDS


def help_text():
    # In the clinic's default language (LANGUAGE_CODE): the answer to a stranger as to a
    # patient, so that its language does not tell whether the number is known.
    with translation.override(languages.default()):
        return gettext(
            "%(clinic)s: to say you will come to your appointment, reply CONFIRM to the message "
            "about it; to cancel it, reply CANCEL. For anything else, please call the clinic."
        ) % {"clinic": settings.CLINIC_NAME}


def answer_reply(*, from_number, text, now=None):
    """Acts on a patient's reply and returns the text to answer it with.

    CANCEL (or रद्द) cancels, and CONFIRM (or पुष्टि) records that the patient will come to, the
    appointment a confirmation or reminder texted to that number was about, as the patient's own
    action without a login (the booking rules decide, the patient's cut-off included), when
    exactly one such appointment is still booked and to come. With several (two patients sharing
    a phone, or one patient with two visits) a reply cannot say which it means, so nothing is
    done and the answer points to the links in each message. Anything else, and a number the
    portal never texted, gets the same help text: it tells nobody whether the number is known.
    """
    now = now or timezone.now()
    if is_cancel(text):
        act = _cancel_by_reply
    elif is_confirm(text):
        act = _confirm_by_reply
    else:
        return help_text()
    texted = Notification.objects.filter(
        channel=Notification.Channel.SMS,
        audience=Notification.Audience.PATIENT,
        kind__in=ANSWERABLE_KINDS,
        state=Notification.State.SENT,
        address=from_number,
    )
    latest = (
        texted.select_related("appointment__clinic", "appointment__patient__user")
        .order_by("-sent_at", "-pk")
        .first()
    )
    if latest is None:
        return help_text()
    upcoming = list(
        Appointment.objects.filter(
            pk__in=texted.values("appointment_id"), status=Status.BOOKED, start__gt=now
        )
        .select_related("clinic")
        .order_by("start")[:2]
    )
    # The number has had our texts: the answer is in the language they were written in.
    with translation.override(languages.of_patient(latest.appointment.patient)):
        if len(upcoming) > 1:
            return _which_one(act)
        # The one still to come, or else the latest text's (which the service then refuses).
        return act(upcoming[0] if upcoming else latest.appointment, now=now)


def _which_one(act):
    """The answer when more than one texted appointment is still to come."""
    if act is _confirm_by_reply:
        message = gettext(
            "%(clinic)s: you have more than one appointment. To confirm one, use the link in the "
            "message about it, or call the clinic."
        )
    else:
        message = gettext(
            "%(clinic)s: you have more than one appointment. To cancel one, use the cancel link "
            "in the message about it, or call the clinic."
        )
    return message % {"clinic": settings.CLINIC_NAME}


def _when(appointment):
    with timezone.override(appointment.clinic.timezone):
        start = timezone.localtime(appointment.start)
        return formats.date_format(start, "D j M") + " " + formats.time_format(start, "H:i")


def _confirm_by_reply(appointment, *, now):
    clinic_name = settings.CLINIC_NAME
    try:
        confirm_attendance(appointment=appointment, via=ContactChannel.SMS, now=now)
    except NotAllowed:
        return gettext(
            "%(clinic)s: this appointment is no longer booked or has started. For anything "
            "else, please call the clinic."
        ) % {"clinic": clinic_name}
    return gettext("%(clinic)s: thank you, we will expect you on %(when)s.") % {
        "clinic": clinic_name,
        "when": _when(appointment),
    }


def _cancel_by_reply(appointment, *, now):
    clinic_name = settings.CLINIC_NAME
    clinic = appointment.clinic
    try:
        cancel_appointment(appointment=appointment, by=None, via=ContactChannel.SMS, now=now)
    except NotAllowed:
        if clinic.phone:
            return gettext(
                "%(clinic)s: this appointment can no longer be cancelled by text. Please call "
                "%(phone)s."
            ) % {"clinic": clinic_name, "phone": clinic.phone}
        return gettext(
            "%(clinic)s: this appointment can no longer be cancelled by text. Please call the "
            "clinic."
        ) % {"clinic": clinic_name}
    return gettext("%(clinic)s: your appointment on %(when)s is cancelled.") % {
        "clinic": clinic_name,
        "when": _when(appointment),
    }
