"""First available: the next few free times across several doctors or clinics at once.

A department's bookable doctors at the clinics where they work, or one doctor at each of their
clinics, as bookings.bulk_slots.DoctorAtClinic pairs (two or three queries), then the slot
engine over all of them a span of days at a time, from today forward through the booking window:
three queries a span (bulk_slots.free_slots_of_pairs), whatever the number of doctors. The spans
double in length (today and tomorrow, then 4, 8 and 16 days and the window's last day), so the
whole 30-day window takes five, and the search stops at the first span after which enough times
are certain.

Certain: each clinic counts days in its own zone, so a span of local dates ends at a different
instant at each clinic. A time is settled once every clinic still being searched has been
searched past it; a later span can still find an earlier time at a clinic whose span ended
sooner.

What is offered is what the date picker and the confirm step offer: times someone else holds
are not free, the patient's own held times are (`held_for`), and a doctor's times fall on dates
their registration is still valid (the booking service refuses the others). The cap on a
patient's open appointments is left to the confirm step, as on the other booking pages.

Visit types: the search is for one type (`visit_type`) or for each pair's own (`visit_type_of`,
bookings/first_available_types.py decides which), its length and buffers, and each FreeTime says
the type it was found for, so the pages link it to the confirm step with that type. The number of
queries stays the same.
"""

import datetime as dt
import heapq
from collections import defaultdict
from dataclasses import dataclass

from bookings.bulk_slots import DoctorAtClinic, free_slots_of_pairs, instants
from bookings.rules import booking_rules
from bookings.scheduling import WeeklyStretch, bookable_range
from doctors.models import Clinic, Doctor, WorkingHours
from doctors.selectors import takes_bookings_at

FIRST_AVAILABLE_COUNT = 5
FIRST_SPAN_DAYS = 2  # today and tomorrow


@dataclass(frozen=True)
class FreeTime:
    """One free time of one doctor at one clinic."""

    doctor: object
    clinic: object
    start: dt.datetime  # aware, UTC
    end: dt.datetime
    visit_type: object = None  # the VisitType the time is for (None: the doctor's plain slot)

    def sort_key(self):
        return (self.start, self.doctor.full_name, self.doctor.pk, self.clinic.name, self.clinic.pk)


def pairs_of(doctors, *, now):
    """DoctorAtClinic of each of `doctors` (department loaded) at each clinic where they work and
    take bookings now, in doctor and clinic order. Two queries: the working hours (read as plain
    rows: a department's hundreds of them as model instances cost more than the whole search)
    and their clinics."""
    doctors = {doctor.pk: doctor for doctor in doctors}
    hours = defaultdict(list)
    rows = WorkingHours.objects.filter(doctor_id__in=doctors).values_list(
        "doctor_id", "clinic_id", "weekday", "starts_at", "ends_at"
    )
    for doctor_key, clinic_key, weekday, starts_at, ends_at in rows:
        hours[doctor_key, clinic_key].append(WeeklyStretch(weekday, starts_at, ends_at))
    clinics = Clinic.objects.in_bulk({clinic_key for _, clinic_key in hours})
    pairs = [
        DoctorAtClinic(doctors[doctor_key], clinics[clinic_key], tuple(stretches))
        for (doctor_key, clinic_key), stretches in hours.items()
        if takes_bookings_at(doctors[doctor_key], clinics[clinic_key], now)
    ]
    return sorted(
        pairs,
        key=lambda pair: (pair.doctor.full_name, pair.doctor.pk, pair.clinic.name, pair.clinic.pk),
    )


def department_pairs(department, *, now):
    """The department's active doctors at the clinics where they take bookings now: three
    queries."""
    doctors = Doctor.objects.active().filter(department=department).select_related("department")
    return pairs_of(doctors, now=now)


def all_pairs(*, now):
    """Every active doctor at every clinic where they take bookings now: three queries."""
    return pairs_of(Doctor.objects.active().select_related("department"), now=now)


def doctor_pairs(doctor, *, now):
    """One doctor (department loaded) at each clinic where they take bookings now: two
    queries."""
    return pairs_of([doctor], now=now)


def _bookable_until(pair, last_day):
    """The instant the doctor's registration stops covering dates at the pair's clinic: the
    start of the day after it expires, in the clinic's zone (or after `last_day`, the window's
    last, if that comes sooner: a far expiry such as 31 December 9999 has no day after it)."""
    expires_on = min(pair.doctor.registration_expires_on, last_day)
    return instants(expires_on, expires_on, pair.clinic.zone)[1]


def first_available_by(
    pairs,
    *,
    group,
    now,
    count=FIRST_AVAILABLE_COUNT,
    held_for=None,
    first_span=FIRST_SPAN_DAYS,
    visit_type=None,
    visit_type_of=None,
):
    """{group(pair): [FreeTime]}: the first `count` free times of each group of `pairs`, in time
    order (each group with its pairs, even when it has no free time in the window). Three
    queries a span of days searched, whatever the number of pairs and groups. With a
    `visit_type`, its times, of the doctors who offer it (the others' groups stay empty); with
    `visit_type_of` (pair -> VisitType or None) instead, each pair's own type
    (bookings/first_available_types.py), in as many queries."""
    if visit_type_of is None:
        visit_type_of = lambda pair: visit_type  # noqa: E731
    rules = booking_rules()
    windows = {pair.clinic.pk: bookable_range(now, pair.clinic.zone, rules) for pair in pairs}
    zones = {pair.clinic.pk: pair.clinic.zone for pair in pairs}
    bookable_until = {id(pair): _bookable_until(pair, windows[pair.clinic.pk][1]) for pair in pairs}
    # Only the first `count` of each group so far: a time later than those can never be one of
    # the first `count` once more are found.
    found = {group(pair): [] for pair in pairs}
    searching = [pair for pair in pairs if _offers(pair, visit_type_of)]
    offset, length = 0, first_span
    while searching:
        days = {}
        for clinic_key in {pair.clinic.pk for pair in searching}:
            first_day, last_day = windows[clinic_key]
            span_first = first_day + dt.timedelta(days=offset)
            span_last = min(span_first + dt.timedelta(days=length - 1), last_day)
            if span_first <= span_last:
                days[clinic_key] = (span_first, span_last)
        if not days:
            break
        new = defaultdict(list)
        for pair, slot in free_slots_of_pairs(
            searching, days=days, now=now, held_for=held_for, visit_type_of=visit_type_of
        ):
            if slot.start < bookable_until[id(pair)]:
                new[group(pair)].append(
                    FreeTime(pair.doctor, pair.clinic, slot.start, slot.end, visit_type_of(pair))
                )
        for key, times in new.items():
            found[key] = heapq.nsmallest(count, [*found[key], *times], key=FreeTime.sort_key)
        # Searched up to the earliest end of a span at a clinic with days still to search.
        unfinished = [
            instants(*span, zones[key])[1]
            for key, span in days.items()
            if span[1] < windows[key][1]
        ]
        settled_until = min(unfinished, default=None)
        done = {
            key
            for key, times in found.items()
            if len(times) == count and (settled_until is None or times[-1].start < settled_until)
        }
        searching = [pair for pair in searching if group(pair) not in done]
        offset, length = offset + length, length * 2
    return found


def first_available(
    pairs,
    *,
    now,
    count=FIRST_AVAILABLE_COUNT,
    held_for=None,
    visit_type=None,
    visit_type_of=None,
):
    """[FreeTime]: the first `count` free times across `pairs`, in time order (for
    `visit_type`, or each pair's `visit_type_of(pair)`, when given)."""
    found = first_available_by(
        pairs,
        group=lambda pair: None,
        now=now,
        count=count,
        held_for=held_for,
        visit_type=visit_type,
        visit_type_of=visit_type_of,
    )
    return found.get(None, [])


def _offers(pair, visit_type_of):
    visit_type = visit_type_of(pair)
    return visit_type is None or visit_type.offered_by(pair.doctor)
