"""The slot engine with visit types: lengths other than the doctor's slot, buffers before and
after, starts on the doctor's grid. Examples for the rules, properties over mixed lengths."""

import datetime as dt
import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bookings.scheduling import Availability, at, free_slots, is_free
from bookings.tests.test_scheduling import (
    KOLKATA,
    MONDAY,
    NOW,
    RULES,
    T,
    availability,
    local_times,
    scenarios,
)

TUESDAY = MONDAY + dt.timedelta(days=1)
MIN = dt.timedelta(minutes=1)


def typed(minutes, *, grid=15, before=0, after=0, **overrides):
    """Hours 09:00-11:00 on weekdays, a 15-minute grid, a visit of `minutes`."""
    values = {
        "slot_length": minutes * MIN,
        "grid": grid * MIN,
        "buffer_before": before * MIN,
        "buffer_after": after * MIN,
    }
    values.update(overrides)
    base = availability(**values)
    if "weekly_hours" not in overrides:
        base = Availability(
            **{
                **base.__dict__,
                "weekly_hours": tuple(
                    stretch.__class__(stretch.weekday, T(9), T(11)) for stretch in base.weekly_hours
                ),
            }
        )
    return base


def tuesday(avail):
    return local_times(
        free_slots(avail, first_day=TUESDAY, last_day=TUESDAY, now=NOW, rules=RULES), KOLKATA
    )


def busy_local(start, end):
    return (at(TUESDAY, start, KOLKATA), at(TUESDAY, end, KOLKATA))


def test_a_long_visit_starts_on_every_grid_step_where_it_fits():
    assert tuesday(typed(45)) == [
        "09:00", "09:15", "09:30", "09:45", "10:00", "10:15",
    ]  # fmt: skip


def test_a_short_visit_starts_on_the_doctors_grid_not_on_its_own_length():
    assert tuesday(typed(10, grid=30)) == ["09:00", "09:30", "10:00", "10:30"]


def test_buffers_must_lie_inside_working_hours():
    # 10 before: not at 09:00; 10 after: a 45-minute visit must end by 10:50.
    assert tuesday(typed(45, before=10, after=10)) == ["09:15", "09:30", "09:45", "10:00"]


def test_a_visit_with_its_buffers_may_not_touch_busy_time():
    avail = typed(30, after=15, busy=(busy_local(T(10), T(10, 30)),))
    # 09:15-09:45 + 15 after ends at 10:00: free. 09:30 + 30 + 15 runs into 10:00: not;
    # 10:30-11:00 would fit alone, but its buffer would run past the end of the hours.
    assert tuesday(avail) == ["09:00", "09:15"]


def test_without_a_grid_or_buffers_a_typed_availability_is_the_plain_slots():
    plain = availability()
    assert tuesday(plain) == tuesday(Availability(**{**plain.__dict__, "grid": plain.slot_length}))


def test_is_free_follows_the_grid_and_the_buffers():
    avail = typed(45, before=10)
    assert is_free(avail, start=at(TUESDAY, T(9, 15), KOLKATA), now=NOW, rules=RULES)
    assert not is_free(avail, start=at(TUESDAY, T(9, 0), KOLKATA), now=NOW, rules=RULES)
    assert not is_free(avail, start=at(TUESDAY, T(9, 20), KOLKATA), now=NOW, rules=RULES)


# Properties: mixed lengths and buffers ----------------------------------------------------------


@st.composite
def typed_scenarios(draw):
    scenario = draw(scenarios())
    base = scenario["availability"]
    grid = draw(st.sampled_from([5, 10, 15, 20, 30]))
    scenario["availability"] = Availability(
        **{
            **base.__dict__,
            "slot_length": draw(st.sampled_from([5, 10, 20, 45, 60, 90])) * MIN,
            "grid": grid * MIN,
            "buffer_before": draw(st.sampled_from([0, 5, 10, 30])) * MIN,
            "buffer_after": draw(st.sampled_from([0, 5, 10, 30])) * MIN,
        }
    )
    return scenario


def run(scenario):
    return free_slots(
        scenario["availability"],
        first_day=scenario["first_day"],
        last_day=scenario["last_day"],
        now=scenario["now"],
        rules=scenario["rules"],
    )


def stretches_holding(slot, avail):
    """The starts of the working stretches (clipped to operating hours) that hold the visit and
    its buffers: more than one where rows of hours overlap (validation refuses those, the
    database does not)."""
    day = slot.local_start(avail.zone).date()
    starts = []
    for stretch in avail.weekly_hours:
        if stretch.weekday != day.weekday():
            continue
        begin = at(day, max(stretch.starts_at, avail.opens_at), avail.zone)
        finish = at(day, min(stretch.ends_at, avail.closes_at), avail.zone)
        if begin <= slot.start - avail.buffer_before and slot.end + avail.buffer_after <= finish:
            starts.append(begin)
    return starts


@settings(max_examples=300, deadline=None)
@given(typed_scenarios())
def test_a_typed_visit_and_its_buffers_touch_no_busy_time_and_fit_the_hours(scenario):
    avail = scenario["availability"]
    for slot in run(scenario):
        assert slot.end - slot.start == avail.slot_length
        blocked = (slot.start - avail.buffer_before, slot.end + avail.buffer_after)
        assert not any(start < blocked[1] and blocked[0] < end for start, end in avail.busy)
        # On the doctor's grid, counted from the start of a stretch that holds it.
        assert any(
            (slot.start - begin) % avail.grid == dt.timedelta(0)
            for begin in stretches_holding(slot, avail)
        )


@settings(max_examples=300, deadline=None)
@given(typed_scenarios())
def test_typed_starts_are_ordered_distinct_and_each_is_confirmed_free(scenario):
    slots = run(scenario)
    for earlier, later in itertools.pairwise(slots):
        assert earlier.start < later.start
    for slot in slots[:5]:
        assert is_free(
            scenario["availability"], start=slot.start, now=scenario["now"], rules=scenario["rules"]
        )


@settings(max_examples=200, deadline=None)
@given(typed_scenarios())
def test_every_free_grid_start_is_offered(scenario):
    """Completeness against a brute-force oracle, with buffers and a grid finer than the visit."""
    avail, now, rules = scenario["availability"], scenario["now"], scenario["rules"]
    assume(
        not any(
            a.weekday == b.weekday and a.starts_at < b.ends_at and b.starts_at < a.ends_at
            for i, a in enumerate(avail.weekly_hours)
            for b in avail.weekly_hours[i + 1 :]
        )
    )
    offered = {slot.start for slot in run(scenario)}
    today = now.astimezone(avail.zone).date()
    day = max(scenario["first_day"], today)
    while day <= min(scenario["last_day"], today + dt.timedelta(days=rules.window_days)):
        for stretch in avail.weekly_hours:
            if stretch.weekday != day.weekday() or day in avail.closed_days:
                continue
            begin = at(day, max(stretch.starts_at, avail.opens_at), avail.zone)
            finish = at(day, min(stretch.ends_at, avail.closes_at), avail.zone)
            start = begin
            while start < finish:
                low, high = start - avail.buffer_before, start + avail.slot_length
                high += avail.buffer_after
                free = (
                    start >= now + rules.minimum_notice
                    and begin <= low
                    and high <= finish
                    and not any(low < end and b_start < high for b_start, end in avail.busy)
                )
                if free:
                    assert start in offered
                start += avail.grid
        day += dt.timedelta(days=1)
