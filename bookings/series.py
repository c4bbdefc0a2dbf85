"""Recurring series: one time repeated every N days or weeks, planned, then booked together.

Planning reads; it changes nothing. The occurrences keep the first one's wall-clock time in the
clinic's zone (09:00 stays 09:00 across a daylight-saving change) and are checked against the
same free times the booking pages offer (selectors.open_slots, bookings.bulk_slots' reads: a
fixed number of queries whatever the number of occurrences). A time that is not free gets the
next free one after it, that day or a later one within the booking window, that no other
occurrence of the plan uses.

Booking goes through services.book_appointment, one occurrence at a time, each in its own
transaction (the service's are durable, never nested): every rule of a single booking applies to
each occurrence (the window, the notice, the patient's cap, the doctor's row lock and the
database's guard), and none is written again here. The series is therefore booked as "the free
ones": an occurrence someone took since the preview is refused and reported, the others are
booked. All-or-nothing would need one transaction around all the bookings, which the durable
service forbids, or cancelling what was already booked (and already announced to the patient).
One check is made before anything is booked: the patient's room under the cap for all the
chosen occurrences, so a series never stops halfway for a reason known in advance.

Cancelling "this and all future ones" cancels each through services.cancel_appointment in turn,
for the same reason: each is its own cancellation, with its own notice and the patient's cut-off
checked for each, and one refused does not keep the others.
"""

import bisect
import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from bookings import selectors, services
from bookings.models import Appointment, AppointmentSeries, SeriesLink, SeriesUnit, Status
from bookings.rules import booking_rules, max_open_appointments_per_patient
from bookings.scheduling import at, bookable_range


def max_occurrences():
    """The most occurrences one series may have (settings.BOOKING_SERIES_MAX_OCCURRENCES)."""
    return settings.BOOKING_SERIES_MAX_OCCURRENCES


@dataclass(frozen=True)
class SeriesRule:
    """Every `every` days or weeks, `count` times or up to `until` (a local date), inclusive."""

    every: int
    unit: str  # a SeriesUnit
    count: int | None = None
    until: dt.date | None = None

    @property
    def step(self):
        days = self.every * (7 if self.unit == SeriesUnit.WEEKS else 1)
        return dt.timedelta(days=days)


class SeriesTooLong(services.NotAllowed):
    def __init__(self, wanted, limit):
        # The limit is a setting, said as a plural whatever its value (as the services do).
        super().__init__(
            gettext(
                "A series has at most %(limit)s appointments; that one would have %(wanted)s. "
                "Choose fewer, or an earlier end date."
            )
            % {"limit": limit, "wanted": wanted},
            code="series_too_long",
        )


def occurrence_days(first_day, rule, *, limit):
    """The local dates of the series, starting with `first_day`; SeriesTooLong past `limit`."""
    if rule.count is not None:
        wanted = rule.count
    else:
        wanted = (rule.until - first_day) // rule.step + 1 if rule.until >= first_day else 0
    if wanted > limit:
        raise SeriesTooLong(wanted, limit)
    return [first_day + number * rule.step for number in range(wanted)]


def occurrence_starts(first_start, zone, rule, *, limit):
    """The series' starts as aware UTC datetimes: the first one's wall-clock time in `zone` on
    each of its dates, whatever the UTC offset of that date."""
    local = first_start.astimezone(zone)
    return [
        at(day, local.time().replace(tzinfo=None), zone)
        for day in occurrence_days(local.date(), rule, limit=limit)
    ]


@dataclass(frozen=True)
class Occurrence:
    number: int  # from 1
    wanted: dt.datetime
    free: bool
    beyond_window: bool
    suggestion: dt.datetime | None  # for a time that is not free: the next free one, if any

    @property
    def choices(self):
        """The times this occurrence may be booked at, the wanted one first."""
        return [time for time in (self.wanted if self.free else None, self.suggestion) if time]


@dataclass(frozen=True)
class SeriesPlan:
    occurrences: list
    room: int  # how many more upcoming appointments the patient may have (the cap)
    window_days: int

    @property
    def free_count(self):
        return sum(occurrence.free for occurrence in self.occurrences)


def plan_series(*, doctor, clinic, first_start, rule, patient, now=None, visit_type=None):
    """The series' occurrences, each free or not, with a suggestion for those that are not; with
    a `visit_type`, free means free for that type (its length and buffers).

    Six queries whatever the number of occurrences: the free times over the rest of the booking
    window (selectors.open_slots, whose times the patient holds stay theirs) and the patient's
    upcoming appointments. `doctor` must come with its department loaded. SeriesTooLong for more
    occurrences than max_occurrences()."""
    now = now or timezone.now()
    zone = clinic.zone
    starts = occurrence_starts(first_start, zone, rule, limit=max_occurrences())
    rules = booking_rules()
    _, last_day = bookable_range(now, zone, rules)
    first_day = starts[0].astimezone(zone).date() if starts else last_day
    free = [
        slot.start
        for slot in selectors.open_slots(
            doctor=doctor,
            clinic=clinic,
            now=now,
            first_day=first_day,
            last_day=last_day,
            held_for=patient,
            visit_type=visit_type,
        )
    ]
    free_set = set(free)
    taken = {start for start in starts if start in free_set}
    occurrences = []
    for number, wanted in enumerate(starts, start=1):
        is_free = wanted in free_set
        beyond = wanted.astimezone(zone).date() > last_day
        suggestion = None
        if not is_free and not beyond:
            suggestion = _next_free(free, after=wanted, taken=taken)
            if suggestion is not None:
                taken.add(suggestion)
        occurrences.append(
            Occurrence(
                number=number,
                wanted=wanted,
                free=is_free,
                beyond_window=beyond,
                suggestion=suggestion,
            )
        )
    upcoming = Appointment.objects.filter(patient=patient).upcoming(now).count()
    return SeriesPlan(
        occurrences=occurrences,
        room=max(max_open_appointments_per_patient() - upcoming, 0),
        window_days=rules.window_days,
    )


def _next_free(free, *, after, taken):
    """The first of the sorted `free` times after `after` that is not in `taken`."""
    for start in free[bisect.bisect_right(free, after) :]:
        if start not in taken:
            return start
    return None


def patient_may_book_series(visit_type):
    """Whether patients may book a series of `visit_type` themselves: only a type that says so
    (a plain slot, without a type, is booked as a series by the front desk only)."""
    return visit_type is not None and visit_type.patients_may_book_series


def check_patient_may_book_series(visit_type, *, patient, by):
    """NotAllowed when a patient books for themselves a series `visit_type` does not allow. The
    front desk may book a series of any type the doctor offers."""
    if services.acting_as_patient(patient, by) and not patient_may_book_series(visit_type):
        raise services.NotAllowed(
            gettext(
                "This type of visit cannot be booked as a series online. Please book the "
                "appointments one at a time, or ask the front desk to book the series."
            ),
            code="series_not_online",
        )


@dataclass
class SeriesBooking:
    """What book_series did: the series (None when nothing was booked), the appointments booked
    and the refused times with the service's refusal, in time order."""

    series: AppointmentSeries | None
    booked: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # of (start, BookingError)


def book_series(
    *,
    patient,
    doctor,
    clinic,
    starts,
    rule,
    appointment_type,
    payment_mode,
    reason="",
    by,
    now=None,
    visit_type=None,
):
    """Books each of `starts` through services.book_appointment (of `visit_type`, if any) and
    links the booked ones in one AppointmentSeries. The times refused (taken since the preview,
    say) are reported, the others booked. NotAllowed before anything is booked for no time, more
    than max_occurrences() of them, more than the patient's room under the cap, or a patient
    booking for themselves a series of a type that does not allow it
    (check_patient_may_book_series)."""
    now = now or timezone.now()
    check_patient_may_book_series(visit_type, patient=patient, by=by)
    starts = sorted(set(starts))
    limit = max_occurrences()
    if not starts:
        raise services.NotAllowed(
            gettext("Choose at least one time to book."), code="nothing_chosen"
        )
    if len(starts) > limit:
        raise SeriesTooLong(len(starts), limit)
    cap = max_open_appointments_per_patient()
    upcoming = Appointment.objects.filter(patient=patient).upcoming(now).count()
    if upcoming + len(starts) > cap:
        raise services.NotAllowed(
            gettext(
                "A patient may have at most %(cap)s upcoming appointments; this patient has "
                "%(upcoming)s, so at most %(room)s more can be booked. Choose fewer times."
            )
            % {"cap": cap, "upcoming": upcoming, "room": max(cap - upcoming, 0)},
            code="cap_reached",
        )
    result = SeriesBooking(series=None)
    for start in starts:
        try:
            appointment = services.book_appointment(
                patient=patient,
                doctor=doctor,
                clinic=clinic,
                start=start,
                appointment_type=appointment_type,
                payment_mode=payment_mode,
                reason=reason,
                by=by,
                now=now,
                visit_type=visit_type,
            )
        except services.BookingError as error:
            result.refused.append((start, error))
            continue
        # Linked just after: the booking stands alone should this step fail, never twice.
        with transaction.atomic(durable=True):
            if result.series is None:
                result.series = AppointmentSeries.objects.create(
                    patient=patient,
                    doctor=doctor,
                    clinic=clinic,
                    every=rule.every,
                    unit=rule.unit,
                    count=rule.count,
                    until=rule.until,
                    created_by=by,
                    created_at=now,
                )
            SeriesLink.objects.create(series=result.series, appointment=appointment)
        result.booked.append(appointment)
    return result


def series_of(appointment):
    """The series `appointment` belongs to, or None."""
    link = SeriesLink.objects.select_related("series").filter(appointment=appointment).first()
    return link.series if link else None


def this_and_later(appointment):
    """`appointment` and the later booked appointments of its series, in time order (the
    appointment alone when it is in no series)."""
    later = (
        Appointment.objects.filter(
            series_link__series__series_links__appointment=appointment,
            start__gt=appointment.start,
            status=Status.BOOKED,
        )
        .select_related("clinic", "doctor__department", "patient")
        .order_by("start", "pk")
    )
    return [appointment, *later]


def cancel_this_and_later(*, appointment, by, reason="", now=None):
    """Cancels `appointment` and the later booked ones of its series, each through
    services.cancel_appointment (its own transaction, notice and cut-off). Returns
    ([cancelled], [(appointment, BookingError)]) in time order."""
    now = now or timezone.now()
    cancelled, refused = [], []
    for each in this_and_later(appointment):
        try:
            cancelled.append(
                services.cancel_appointment(appointment=each, by=by, reason=reason, now=now)
            )
        except services.BookingError as error:
            refused.append((each, error))
    return cancelled, refused
