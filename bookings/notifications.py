"""Writing the outbox: who hears about a change to an appointment, by which channel, and when.

Called by the booking services inside their transactions, so notices exist exactly when the
change they announce was committed. Sending is bookings.delivery's job.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from bookings.models import Notification, Status

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


def _queue(appointment, kind, audience, addresses, *, send_after, lead=dt.timedelta(0)):
    for channel, address in addresses.items():
        Notification.objects.get_or_create(
            appointment=appointment,
            kind=kind,
            channel=channel,
            audience=audience,
            lead_minutes=int(lead.total_seconds() // 60),
            defaults={"address": address, "send_after": send_after},
        )


def _queue_reminders(appointment, now):
    patient = appointment.patient
    wanted = {
        channel: address
        for channel, address in _patient_addresses(patient).items()
        if (channel == Channel.EMAIL and patient.email_reminders)
        or (channel == Channel.SMS and patient.sms_reminders)
    }
    for lead in reminder_leads():
        send_after = appointment.start - lead
        if send_after > now:  # a reminder whose moment has passed would only confuse
            _queue(
                appointment,
                Kind.REMINDER,
                Audience.PATIENT,
                wanted,
                send_after=send_after,
                lead=lead,
            )


def _announce(appointment, kind, now):
    _queue(
        appointment, kind, Audience.PATIENT, _patient_addresses(appointment.patient), send_after=now
    )
    _queue(
        appointment, kind, Audience.DOCTOR, _doctor_addresses(appointment.doctor), send_after=now
    )


def _drop_pending_reminders(appointment):
    appointment.notifications.filter(kind=Kind.REMINDER, state=Notification.State.PENDING).update(
        state=Notification.State.SKIPPED, updated_at=timezone.now()
    )


def booked(appointment, *, now):
    _announce(appointment, Kind.CONFIRMATION, now)
    _queue_reminders(appointment, now)


def cancelled(appointment, *, now):
    _drop_pending_reminders(appointment)
    _announce(appointment, Kind.CANCELLATION, now)


def rescheduled(old, new, *, now):
    """One notice, on the new appointment, carries both times; reminders follow the new time."""
    _drop_pending_reminders(old)
    _announce(new, Kind.RESCHEDULE, now)
    _queue_reminders(new, now)


def still_relevant(notification, *, now):
    """Whether a due notice should still go. A reminder goes only for an appointment that is
    still booked and has not started yet (a worker that was down, or retries, must not remind
    anyone of a past visit), and only while the patient still wants reminders by that channel:
    the preference is read again at send time, not only when the booking queued it."""
    if notification.kind != Kind.REMINDER:
        return True
    appointment = notification.appointment
    if appointment.status != Status.BOOKED or appointment.start <= now:
        return False
    patient = appointment.patient
    if notification.channel == Channel.EMAIL:
        return patient.email_reminders
    return patient.sms_reminders
