"""Free slots of many doctors at many clinics at once (FHIR's Appointment/$find; a department's
"first available" time).

selectors.open_slots reads the slot engine's inputs for one doctor at one clinic, four queries
each: over every doctor of a clinic that would cost four queries per doctor. Here the same inputs
(scheduling.Availability) are read for all the doctors asked about in three queries, with the
same QuerySet methods (`holding_slots`, `overlapping`, `live`), and the engine itself
(`free_slots`) runs on each, so what these callers offer is what the booking pages offer.
fhir/tests/test_find.py holds the two together: every pair's slots here are open_slots'.

No live hold is anyone's own here: a time someone holds is offered to nobody, its holder
included (the holder keeps it through the hold).
"""

import datetime as dt
from collections import defaultdict

from django.db.models import Q

from bookings.models import Appointment, SlotHold
from bookings.rules import booking_rules
from bookings.scheduling import Availability, WeeklyStretch, at, free_slots
from doctors.models import Holiday, TimeOff


def _closed_days(clinic_keys, first_day, last_day):
    """{clinic key: {local dates}}, and the dates every clinic is closed (under None)."""
    closed = defaultdict(set)
    holidays = Holiday.objects.filter(
        Q(clinic_id__in=clinic_keys) | Q(clinic__isnull=True), date__range=(first_day, last_day)
    ).values_list("clinic_id", "date")
    for clinic_key, day in holidays:
        closed[clinic_key].add(day)
    return closed


def _busy_times(doctor_keys, range_start, range_end, now):
    """{doctor key: [(start, end)]}: time off, appointments holding their time and live holds,
    at any clinic (a doctor is in one place at a time), as availability_for counts them."""
    busy = defaultdict(list)
    time_off = TimeOff.objects.filter(
        doctor_id__in=doctor_keys, starts_at__lt=range_end, ends_at__gt=range_start
    ).values_list("doctor_id", "starts_at", "ends_at")
    booked = (
        Appointment.objects.holding_slots()
        .filter(doctor_id__in=doctor_keys)
        .overlapping(range_start, range_end)
        .order_by()
        .values_list("doctor_id", "start", "end")
    )
    held = (
        SlotHold.objects.live(now)
        .filter(doctor_id__in=doctor_keys)
        .overlapping(range_start, range_end)
        .order_by()
        .values_list("doctor_id", "start", "end")
    )
    for doctor_key, start, end in [*time_off, *booked.union(held, all=True)]:
        busy[doctor_key].append((start, end))
    return busy


def _availability(pair, closed, busy):
    doctor, clinic = pair.doctor, pair.clinic
    return Availability(
        zone=clinic.zone,
        slot_length=dt.timedelta(minutes=doctor.slot_minutes),
        weekly_hours=tuple(
            WeeklyStretch(row.weekday, row.starts_at, row.ends_at) for row in pair.hours
        ),
        opens_at=doctor.department.opens_at,
        closes_at=doctor.department.closes_at,
        closed_days=frozenset(closed[clinic.pk] | closed[None]),
        busy=tuple(busy[doctor.pk]),
    )


def free_slots_of_pairs(pairs, *, days, now):
    """[(pair, free Slot)] of each pair in `pairs` over `days`: {clinic key: (first, last local
    date)}. A pair has `doctor` (with its department loaded), `clinic` and `hours` (that doctor's
    WorkingHours rows at that clinic), e.g. fhir.structure's DoctorAtClinic. Three queries,
    whatever the number of pairs and days."""
    pairs = [pair for pair in pairs if pair.clinic.pk in days]
    if not pairs:
        return []
    spans = []  # each clinic's days as instants
    for pair in pairs:
        first_day, last_day = days[pair.clinic.pk]
        zone = pair.clinic.zone
        spans.append(
            (
                at(first_day, dt.time.min, zone),
                at(last_day + dt.timedelta(days=1), dt.time.min, zone),
            )
        )
    closed = _closed_days(
        {pair.clinic.pk for pair in pairs},
        min(first for first, _ in days.values()),
        max(last for _, last in days.values()),
    )
    busy = _busy_times(
        {pair.doctor.pk for pair in pairs},
        min(start for start, _ in spans),
        max(end for _, end in spans),
        now,
    )
    rules = booking_rules()
    found = []
    for pair in pairs:
        first_day, last_day = days[pair.clinic.pk]
        slots = free_slots(
            _availability(pair, closed, busy),
            first_day=first_day,
            last_day=last_day,
            now=now,
            rules=rules,
        )
        found += [(pair, slot) for slot in slots]
    return found
