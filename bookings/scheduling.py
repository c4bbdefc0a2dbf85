"""The slot engine: which appointment times a doctor has free at one clinic.

Pure functions over plain data, no database: the selectors fetch the inputs (a fixed number of
queries whatever the range) and the booking services ask the same function whether a requested time
is still free, so what a patient is offered and what the server accepts can never disagree.

Times: working hours and operating hours are wall-clock times in the clinic's zone. Each working
stretch is turned into an absolute (UTC) interval for its date and slots are laid end to end from
its start in absolute time, so a slot always lasts exactly its length, even on a daylight-saving
day.

Visit types (doctors.VisitType): a typed visit lasts its own length (`slot_length`) and may keep
buffers free before and after it. Its starts fall on the doctor's grid (`grid`, the doctor's
slot_minutes, counted from the start of each working stretch), whatever its length, so a 10- or
45-minute visit starts at the same times of day a plain slot would. The visit with its buffers,
[start - buffer_before, end + buffer_after], must lie inside the working stretch (a buffer is the
doctor's working time: preparing the room, cleaning up, notes; nobody is there before opening or
after closing) and must touch nothing busy; the busy intervals of appointments already include
their own buffers (bulk_slots.busy_times), so two visits' buffers never overlap each other either.
Without a type, `grid` is the slot length and there are no buffers: plain slots laid end to end.
"""

import bisect
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC


@dataclass(frozen=True, order=True)
class Slot:
    start: dt.datetime  # aware, UTC
    end: dt.datetime  # aware, UTC

    def local_start(self, zone):
        return self.start.astimezone(zone)

    def overlaps(self, start, end):
        return self.start < end and start < self.end


@dataclass(frozen=True)
class WeeklyStretch:
    """One row of working hours: a weekday (Monday is 0) and a wall-clock span."""

    weekday: int
    starts_at: dt.time
    ends_at: dt.time


@dataclass(frozen=True)
class BookingRules:
    minimum_notice: dt.timedelta
    window_days: int


@dataclass(frozen=True)
class Availability:
    """Everything the engine needs about one doctor at one clinic."""

    zone: ZoneInfo
    slot_length: dt.timedelta
    weekly_hours: tuple  # of WeeklyStretch, this doctor at this clinic
    opens_at: dt.time  # the department's operating hours, in the clinic's wall-clock time
    closes_at: dt.time
    closed_days: frozenset  # local dates: holidays of this clinic and of all clinics
    # Of (start, end) aware datetimes: time off, active appointments (with their buffers) and
    # live holds, any clinic.
    busy: tuple
    grid: dt.timedelta | None = None  # between possible starts; None: the slot length
    buffer_before: dt.timedelta = dt.timedelta(0)
    buffer_after: dt.timedelta = dt.timedelta(0)

    @property
    def step(self):
        return self.grid or self.slot_length


def at(day, wall_time, zone):
    """The absolute instant a wall-clock time on a local date names, as UTC."""
    return dt.datetime.combine(day, wall_time, tzinfo=zone).astimezone(UTC)


def bookable_range(now, zone, rules):
    """First and last local dates open for booking: today up to `window_days` ahead."""
    today = now.astimezone(zone).date()
    return today, today + dt.timedelta(days=rules.window_days)


def _merged(intervals):
    """Sorted, non-overlapping (start, end) pairs covering the same time."""
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class _BusyTimes:
    """Answers "does [start, end) touch any busy interval?" in logarithmic time."""

    def __init__(self, intervals):
        merged = _merged(intervals)
        self._starts = [start for start, _ in merged]
        self._ends = [end for _, end in merged]

    def clashes(self, start, end):
        # The only candidate is the last busy interval starting before `end`.
        index = bisect.bisect_left(self._starts, end) - 1
        return index >= 0 and self._ends[index] > start


def _stretches_on(day, availability):
    """The day's working stretches, clipped to operating hours, as absolute intervals."""
    zone = availability.zone
    for stretch in availability.weekly_hours:
        if stretch.weekday != day.weekday():
            continue
        starts_at = max(stretch.starts_at, availability.opens_at)
        ends_at = min(stretch.ends_at, availability.closes_at)
        if starts_at < ends_at:
            yield at(day, starts_at, zone), at(day, ends_at, zone)


def free_slots(availability, *, first_day, last_day, now, rules):
    """Free slots from `first_day` to `last_day` (local dates, inclusive), in time order.

    A slot is free when it lies inside a working stretch and the operating hours, on a day the
    clinic is open, starts no sooner than the minimum notice and no later than the booking window
    allows, and touches no busy interval (time off, an active appointment or a live hold).
    """
    zone = availability.zone
    today, last_bookable_day = bookable_range(now, zone, rules)
    first_day = max(first_day, today)
    last_day = min(last_day, last_bookable_day)
    earliest_start = now + rules.minimum_notice
    length = availability.slot_length
    step = availability.step
    before, after = availability.buffer_before, availability.buffer_after
    # Untyped: the next slot starts where the last ended. Typed: alternative starts a grid step
    # apart. Either way, overlapping rows of working hours (refused by validation, but not by
    # the database) must not offer the same time twice.
    spacing = min(step, length)
    busy = _BusyTimes(availability.busy)

    slots = []
    day = first_day
    while day <= last_day:
        if day not in availability.closed_days:
            for stretch_start, stretch_end in sorted(_stretches_on(day, availability)):
                start = stretch_start
                while start + length + after <= stretch_end:
                    end = start + length
                    overlaps_previous = slots and start < slots[-1].start + spacing
                    if (
                        start >= earliest_start
                        and start - before >= stretch_start
                        and not overlaps_previous
                        and not busy.clashes(start - before, end + after)
                    ):
                        slots.append(Slot(start, end))
                    start += step
        day += dt.timedelta(days=1)
    return slots


def slots_by_day(slots, zone):
    """{local date: [slots]} in date order, for date pickers and day pages."""
    days = {}
    for slot in slots:
        days.setdefault(slot.local_start(zone).date(), []).append(slot)
    return days


def is_free(availability, *, start, now, rules):
    """Whether a slot starting at `start` (aware) is on offer right now."""
    day = start.astimezone(availability.zone).date()
    return any(
        slot.start == start
        for slot in free_slots(availability, first_day=day, last_day=day, now=now, rules=rules)
    )
