"""The slot engine's inputs for many doctors at many clinics at once, in a fixed number of
queries: FHIR's Appointment/$find, a department's "first available" times
(bookings/first_available.py), and the one-doctor reader of the booking pages
(selectors.availability_for), which is these same reads for one pair.

The inputs (scheduling.Availability) are read for every doctor asked about with the same QuerySet
methods (`holding_slots`, `overlapping`, `live`) and the engine itself (`free_slots`) runs on
each, so what these callers offer is what the booking pages offer. fhir/tests/test_find.py holds
the two together: every pair's slots here are open_slots'.

A time someone holds is offered to nobody, its holder included (the holder keeps it through the
hold), unless the caller names that holder (`held_for`) or presents the hold (`hold`): what the
booking services accept.
"""

import datetime as dt
from collections import defaultdict
from typing import NamedTuple

from django.db.models import IntegerField, Q, Value
from django.db.models.functions import Coalesce

from bookings.models import Appointment, SlotHold
from bookings.rules import booking_rules
from bookings.scheduling import Availability, WeeklyStretch, at, free_slots
from doctors.models import VISIT_BUFFER_MAX_MINUTES, Holiday, TimeOff

# An appointment's buffers reach at most this far beyond the visit: appointments that far outside
# a range are read with it, for their buffers may reach into it.
BUFFER_REACH = dt.timedelta(minutes=VISIT_BUFFER_MAX_MINUTES)


class DoctorAtClinic(NamedTuple):
    """A doctor (with the department loaded) at a clinic where they work, with their rows of
    working hours there (anything with `weekday`, `starts_at` and `ends_at`)."""

    doctor: object
    clinic: object
    hours: tuple


def instants(first_day, last_day, zone):
    """The span of absolute time the local dates `first_day` to `last_day` cover in `zone`."""
    return at(first_day, dt.time.min, zone), at(last_day + dt.timedelta(days=1), dt.time.min, zone)


def closed_days(clinic_keys, first_day, last_day):
    """{clinic key: {local dates}}, and the dates every clinic is closed (under None)."""
    closed = defaultdict(set)
    holidays = Holiday.objects.filter(
        Q(clinic_id__in=clinic_keys) | Q(clinic__isnull=True), date__range=(first_day, last_day)
    ).values_list("clinic_id", "date")
    for clinic_key, day in holidays:
        closed[clinic_key].add(day)
    return closed


def _exempt_holds(held_for, hold):
    """The holds that do not count as busy for whoever books for `held_for` or presents `hold`."""
    condition = Q(pk__in=[])
    if held_for is not None:
        condition |= Q(patient=held_for)
    if hold is not None:
        condition |= Q(pk=hold.pk)
    return condition


def busy_times(
    doctor_keys,
    range_start,
    range_end,
    now,
    *,
    appointments=True,
    ignoring=None,
    held_for=None,
    hold=None,
):
    """{doctor key: [(start, end)]}: time off, appointments holding their time (with their visit
    type's buffers: [start - before, end + after]) and live holds (at `now`), at any clinic (a
    doctor is in one place at a time). Two queries; one with
    `appointments=False`, which counts only time off (what the doctors would offer if nobody had
    booked). `ignoring` is an appointment to treat as already released, for a reschedule; holds
    of `held_for` (a patient) and the `hold` presented are not busy."""
    busy = defaultdict(list)
    time_off = TimeOff.objects.filter(
        doctor_id__in=doctor_keys, starts_at__lt=range_end, ends_at__gt=range_start
    ).values_list("doctor_id", "starts_at", "ends_at")
    rows = list(time_off)
    if appointments:
        booked = (
            Appointment.objects.holding_slots()
            .filter(doctor_id__in=doctor_keys)
            .overlapping(range_start - BUFFER_REACH, range_end + BUFFER_REACH)
        )
        if ignoring is not None:
            booked = booked.exclude(pk=ignoring.pk)
        held = (
            SlotHold.objects.live(now)
            .filter(doctor_id__in=doctor_keys)
            .overlapping(range_start, range_end)
            .exclude(_exempt_holds(held_for, hold))
        )
        # Appointments and holds in one statement: no more queries than before holds.
        minutes = IntegerField()
        booked = booked.order_by().annotate(
            _before=Coalesce("visit_type__buffer_before_minutes", 0, output_field=minutes),
            _after=Coalesce("visit_type__buffer_after_minutes", 0, output_field=minutes),
        )
        held = held.order_by().annotate(
            _before=Value(0, output_field=minutes), _after=Value(0, output_field=minutes)
        )
        columns = ("doctor_id", "start", "end", "_before", "_after")
        for doctor_key, start, end, before, after in booked.values_list(*columns).union(
            held.values_list(*columns), all=True
        ):
            busy[doctor_key].append(
                (start - dt.timedelta(minutes=before), end + dt.timedelta(minutes=after))
            )
    for doctor_key, start, end in rows:
        busy[doctor_key].append((start, end))
    return busy


def availability_of(pair, closed, busy, visit_type=None):
    """The engine's input for one DoctorAtClinic, from what closed_days and busy_times read:
    for `visit_type` (its length and buffers, starts on the doctor's grid) when given, else the
    doctor's plain slots."""
    doctor, clinic = pair.doctor, pair.clinic
    length = dt.timedelta(minutes=doctor.slot_minutes)
    typed = {}
    if visit_type is not None:
        typed = {
            "grid": length,  # the doctor's grid
            "buffer_before": dt.timedelta(minutes=visit_type.buffer_before_minutes),
            "buffer_after": dt.timedelta(minutes=visit_type.buffer_after_minutes),
        }
        length = dt.timedelta(minutes=visit_type.minutes)
    return Availability(
        zone=clinic.zone,
        slot_length=length,
        weekly_hours=tuple(
            WeeklyStretch(row.weekday, row.starts_at, row.ends_at) for row in pair.hours
        ),
        opens_at=doctor.department.opens_at,
        closes_at=doctor.department.closes_at,
        closed_days=frozenset(closed[clinic.pk] | closed[None]),
        busy=tuple(busy[doctor.pk]),
        **typed,
    )


def free_slots_of_pairs(pairs, *, days, now, held_for=None, visit_type=None, visit_type_of=None):
    """[(pair, free Slot)] of each pair in `pairs` over `days`: {clinic key: (first, last local
    date)}. A pair has `doctor` (with its department loaded), `clinic` and `hours` (that doctor's
    WorkingHours rows at that clinic), e.g. DoctorAtClinic. Three queries, whatever the number
    of pairs and days. The times `held_for` (a patient) holds stay on offer to them. With a
    `visit_type`, the times for that type, of the doctors who offer it; with `visit_type_of`
    (pair -> VisitType or None) instead, each pair's own type (a first-available search across
    departments or doctors whose default types differ), still in three queries."""
    if visit_type_of is None:
        visit_type_of = lambda pair: visit_type  # noqa: E731
    pairs = [pair for pair in pairs if pair.clinic.pk in days and _offers(pair, visit_type_of)]
    if not pairs:
        return []
    spans = [instants(*days[pair.clinic.pk], pair.clinic.zone) for pair in pairs]
    closed = closed_days(
        {pair.clinic.pk for pair in pairs},
        min(first for first, _ in days.values()),
        max(last for _, last in days.values()),
    )
    busy = busy_times(
        {pair.doctor.pk for pair in pairs},
        min(start for start, _ in spans),
        max(end for _, end in spans),
        now,
        held_for=held_for,
    )
    rules = booking_rules()
    found = []
    for pair in pairs:
        first_day, last_day = days[pair.clinic.pk]
        slots = free_slots(
            availability_of(pair, closed, busy, visit_type_of(pair)),
            first_day=first_day,
            last_day=last_day,
            now=now,
            rules=rules,
        )
        found += [(pair, slot) for slot in slots]
    return found


def _offers(pair, visit_type_of):
    visit_type = visit_type_of(pair)
    return visit_type is None or visit_type.offered_by(pair.doctor)
