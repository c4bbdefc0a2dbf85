"""The clinic's booking rules, read from settings each time so that tests can change them."""

import datetime as dt

from django.conf import settings

from bookings.models import Status
from bookings.scheduling import BookingRules


def booking_rules():
    return BookingRules(
        minimum_notice=dt.timedelta(minutes=settings.BOOKING_MINIMUM_NOTICE_MINUTES),
        window_days=settings.BOOKING_WINDOW_DAYS,
    )


def patient_cancellation_cutoff():
    return dt.timedelta(hours=settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS)


def max_open_appointments_per_patient():
    return settings.BOOKING_MAX_OPEN_PER_PATIENT


def slot_hold_duration():
    """How long a hold keeps a time for one person (settings.SLOT_HOLD_MINUTES)."""
    return dt.timedelta(minutes=settings.SLOT_HOLD_MINUTES)


def patient_may_change(appointment, now):
    """Whether a patient may still cancel or move `appointment` online themselves.

    The services enforce the same rule; the pages use this to offer only what will be accepted.
    """
    return (
        appointment.is_open_for_changes(now)
        and appointment.start - now >= patient_cancellation_cutoff()
    )


def on_its_clinic_day(appointment, now):
    """Whether `now` falls on the appointment's own date in its clinic's calendar: the only day
    its patient can be checked in (not days ahead, nor long after)."""
    zone = appointment.clinic.zone
    return appointment.start.astimezone(zone).date() == now.astimezone(zone).date()


def may_check_in(appointment, now):
    """Whether the check-in service would accept `appointment` now, so a page offers only that."""
    return appointment.can_become(Status.CHECKED_IN) and on_its_clinic_day(appointment, now)
