"""Writing the outbox: who hears about a change to an appointment, by which channel, and when.

Called by the receivers of the booking services' signals (notifications/receivers.py), inside
the services' transactions, so notices exist exactly when the
change they announce was committed. Sending is notifications.delivery's job.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from bookings.models import Status
from notifications.models import Notification

Kind = Notification.Kind
Channel = Notification.Channel
Audience = Notification.Audience


def reminder_leads():
    """How long before the start reminders go, longest first (settings: hours)."""
    return sorted(
        (dt.timedelta(hours=hours) for hours in settings.NOTIFICATION_REMINDER_HOURS),
        reverse=True,
    )


def _patient_addresses(patient):
    """{channel: address} for the patient's contact details."""
    addresses = {}
    email = patient.email or (patient.user.email if patient.user_id else "")
    if email:
        addresses[Channel.EMAIL] = email
    if patient.phone:
        addresses[Channel.SMS] = patient.phone
    return addresses


def _doctor_addresses(doctor):
    # Doctors hear by email at their login's address; a doctor without a login has none.
    if doctor.user_id and doctor.user.email:
        return {Channel.EMAIL: doctor.user.email}
    return {}


def _notices(appointment, kind, audience, addresses, *, send_after, lead=dt.timedelta(0)):
    return [
        Notification(
            appointment=appointment,
            kind=kind,
            channel=channel,
            audience=audience,
            lead_minutes=int(lead.total_seconds() // 60),
            address=address,
            send_after=send_after,
        )
        for channel, address in addresses.items()
    ]


def _queue(notices):
    # One INSERT for all of a change's notices; the unique key turns a notice queued already
    # into nothing (ON CONFLICT DO NOTHING), so each stays at most one row.
    Notification.objects.bulk_create(notices, ignore_conflicts=True)


def _reminders(appointment, now):
    patient = appointment.patient
    wanted = {
        channel: address
        for channel, address in _patient_addresses(patient).items()
        if (channel == Channel.EMAIL and patient.email_reminders)
        or (channel == Channel.SMS and patient.sms_reminders)
    }
    notices = []
    for lead in reminder_leads():
        send_after = appointment.start - lead
        if send_after > now:  # a reminder whose moment has passed would only confuse
            notices += _notices(
                appointment,
                Kind.REMINDER,
                Audience.PATIENT,
                wanted,
                send_after=send_after,
                lead=lead,
            )
    return notices


def _announcements(appointment, kind, now):
    patient_addresses = _patient_addresses(appointment.patient)
    doctor_addresses = _doctor_addresses(appointment.doctor)
    return _notices(
        appointment, kind, Audience.PATIENT, patient_addresses, send_after=now
    ) + _notices(appointment, kind, Audience.DOCTOR, doctor_addresses, send_after=now)


def _drop_pending(appointment):
    """Notices about the appointment as it was, not sent yet, are not sent at all: reminders, and
    a confirmation (with its calendar file) for a booking already cancelled or moved."""
    appointment.notifications.filter(state=Notification.State.PENDING).update(
        state=Notification.State.SKIPPED, updated_at=timezone.now()
    )


def booked(appointment, *, now):
    _queue(_announcements(appointment, Kind.CONFIRMATION, now) + _reminders(appointment, now))


def cancelled(appointment, *, now):
    _drop_pending(appointment)
    _queue(_announcements(appointment, Kind.CANCELLATION, now))


def rescheduled(old, new, *, now):
    """One notice, on the new appointment, carries both times; reminders follow the new time."""
    _drop_pending(old)
    _queue(_announcements(new, Kind.RESCHEDULE, now) + _reminders(new, now))


def waitlist_offer(offer, *, now):
    """The offer of a freed time to a waitlisted patient, by each channel their details allow."""
    notices = [
        Notification(
            offer=offer,
            kind=Kind.WAITLIST_OFFER,
            channel=channel,
            audience=Audience.PATIENT,
            address=address,
            send_after=now,
        )
        for channel, address in _patient_addresses(offer.entry.patient).items()
    ]
    _queue(notices)


def still_relevant(notification, *, now):
    """Whether a due notice should still go. A reminder goes only for an appointment that is
    still booked and has not started yet (a worker that was down, or retries, must not remind
    anyone of a past visit), and only while the patient still wants reminders by that channel:
    the preference is read again at send time, not only when the booking queued it. A waitlist
    offer goes only while it is open: a patient is never told of a time already gone."""
    if notification.kind == Kind.WAITLIST_OFFER:
        return notification.offer.is_open(now)
    if notification.kind != Kind.REMINDER:
        return True
    appointment = notification.appointment
    if appointment.status != Status.BOOKED or appointment.start <= now:
        return False
    patient = appointment.patient
    if notification.channel == Channel.EMAIL:
        return patient.email_reminders
    return patient.sms_reminders
