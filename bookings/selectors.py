"""Reads for booking pages: availability in a fixed number of queries, appointment lists."""

import datetime as dt

from django.db.models import Q

from bookings.models import Appointment
from bookings.rules import booking_rules
from bookings.scheduling import (
    Availability,
    WeeklyStretch,
    at,
    bookable_range,
    free_slots,
    is_free,
)
from doctors.models import Holiday, TimeOff, WorkingHours


def availability_for(*, doctor, clinic, first_day, last_day, ignoring=None):
    """The slot engine's inputs for one doctor at one clinic: four queries, whatever the range.

    `doctor` must come with its department loaded (select_related). `ignoring` is an appointment
    to treat as already released, for a reschedule.
    """
    zone = clinic.zone
    range_start = at(first_day, dt.time.min, zone)
    range_end = at(last_day + dt.timedelta(days=1), dt.time.min, zone)
    weekly_hours = tuple(
        WeeklyStretch(weekday, starts_at, ends_at)
        for weekday, starts_at, ends_at in WorkingHours.objects.filter(
            doctor=doctor, clinic=clinic
        ).values_list("weekday", "starts_at", "ends_at")
    )
    closed_days = frozenset(
        Holiday.objects.filter(
            Q(clinic=clinic) | Q(clinic__isnull=True), date__range=(first_day, last_day)
        ).values_list("date", flat=True)
    )
    time_off = TimeOff.objects.filter(
        doctor=doctor, starts_at__lt=range_end, ends_at__gt=range_start
    ).values_list("starts_at", "ends_at")
    # Any clinic's appointments count: a doctor is in one place at a time.
    appointments = (
        Appointment.objects.holding_slots()
        .filter(doctor=doctor)
        .overlapping(range_start, range_end)
    )
    if ignoring is not None:
        appointments = appointments.exclude(pk=ignoring.pk)
    return Availability(
        zone=zone,
        slot_length=dt.timedelta(minutes=doctor.slot_minutes),
        weekly_hours=weekly_hours,
        opens_at=doctor.department.opens_at,
        closes_at=doctor.department.closes_at,
        closed_days=closed_days,
        busy=tuple(time_off) + tuple(appointments.values_list("start", "end")),
    )


def open_slots(*, doctor, clinic, now, first_day=None, last_day=None, ignoring=None):
    """Free slots over the booking window (or the part of it asked for), in time order."""
    rules = booking_rules()
    window_first, window_last = bookable_range(now, clinic.zone, rules)
    first_day = max(first_day or window_first, window_first)
    last_day = min(last_day or window_last, window_last)
    if first_day > last_day:
        return []
    availability = availability_for(
        doctor=doctor, clinic=clinic, first_day=first_day, last_day=last_day, ignoring=ignoring
    )
    return free_slots(availability, first_day=first_day, last_day=last_day, now=now, rules=rules)


def appointments_of_patient(patient):
    return (
        Appointment.objects.filter(patient=patient)
        .select_related("doctor__department", "clinic", "rescheduled_to")
        .order_by("start", "pk")
    )


def slot_is_open(*, doctor, clinic, start, now, ignoring=None):
    """Whether `start` is one of the free times offered right now (for a confirm page)."""
    rules = booking_rules()
    day = start.astimezone(clinic.zone).date()
    window_first, window_last = bookable_range(now, clinic.zone, rules)
    if not window_first <= day <= window_last:
        return False
    availability = availability_for(
        doctor=doctor, clinic=clinic, first_day=day, last_day=day, ignoring=ignoring
    )
    return is_free(availability, start=start, now=now, rules=rules)
