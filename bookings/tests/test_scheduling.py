"""The slot engine, on plain data: examples for the tricky days, properties for everything else."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bookings.scheduling import (
    UTC,
    Availability,
    BookingRules,
    WeeklyStretch,
    at,
    free_slots,
    is_free,
    slots_by_day,
)

LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")
NEW_YORK = ZoneInfo("America/New_York")
T = dt.time
RULES = BookingRules(minimum_notice=dt.timedelta(hours=1), window_days=30)


def availability(**overrides):
    values = {
        "zone": KOLKATA,
        "slot_length": dt.timedelta(minutes=30),
        "weekly_hours": tuple(WeeklyStretch(day, T(9), T(12)) for day in range(5)),
        "opens_at": T(8),
        "closes_at": T(20),
        "closed_days": frozenset(),
        "busy": (),
    }
    values.update(overrides)
    return Availability(**values)


def local_times(slots, zone):
    return [slot.local_start(zone).strftime("%H:%M") for slot in slots]


# A Monday, well before the day under test so notice and window do not interfere.
MONDAY = dt.date(2026, 12, 7)
NOW = at(MONDAY, T(6), KOLKATA)


def test_slots_fill_working_hours_end_to_end():
    slots = free_slots(
        availability(),
        first_day=MONDAY + dt.timedelta(days=1),
        last_day=MONDAY + dt.timedelta(days=1),
        now=NOW,
        rules=RULES,
    )
    assert local_times(slots, KOLKATA) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert all(slot.start.tzinfo == UTC for slot in slots)
    assert all(slot.end - slot.start == dt.timedelta(minutes=30) for slot in slots)


def test_a_break_between_two_stretches_offers_no_slot():
    hours = (WeeklyStretch(1, T(9), T(10)), WeeklyStretch(1, T(11), T(12)))
    day = MONDAY + dt.timedelta(days=1)
    slots = free_slots(
        availability(weekly_hours=hours), first_day=day, last_day=day, now=NOW, rules=RULES
    )
    assert local_times(slots, KOLKATA) == ["09:00", "09:30", "11:00", "11:30"]


def test_operating_hours_clip_working_hours():
    day = MONDAY + dt.timedelta(days=1)
    slots = free_slots(
        availability(opens_at=T(10), closes_at=T(11, 30)),
        first_day=day,
        last_day=day,
        now=NOW,
        rules=RULES,
    )
    assert local_times(slots, KOLKATA) == ["10:00", "10:30", "11:00"]


def test_a_slot_that_would_run_past_the_end_of_hours_is_not_offered():
    day = MONDAY + dt.timedelta(days=1)
    slots = free_slots(
        availability(slot_length=dt.timedelta(minutes=40)),
        first_day=day,
        last_day=day,
        now=NOW,
        rules=RULES,
    )
    assert local_times(slots, KOLKATA) == ["09:00", "09:40", "10:20", "11:00"]


def test_holidays_close_the_whole_day():
    day = MONDAY + dt.timedelta(days=1)
    slots = free_slots(
        availability(closed_days=frozenset({day})),
        first_day=day,
        last_day=day + dt.timedelta(days=1),
        now=NOW,
        rules=RULES,
    )
    assert {slot.local_start(KOLKATA).date() for slot in slots} == {day + dt.timedelta(days=1)}


def test_busy_time_removes_every_slot_it_touches():
    day = MONDAY + dt.timedelta(days=1)
    busy = ((at(day, T(9, 45), KOLKATA), at(day, T(10, 40), KOLKATA)),)
    slots = free_slots(availability(busy=busy), first_day=day, last_day=day, now=NOW, rules=RULES)
    assert local_times(slots, KOLKATA) == ["09:00", "11:00", "11:30"]


def test_busy_time_ending_exactly_at_a_slot_start_leaves_it_free():
    day = MONDAY + dt.timedelta(days=1)
    busy = ((at(day, T(9), KOLKATA), at(day, T(9, 30), KOLKATA)),)
    slots = free_slots(availability(busy=busy), first_day=day, last_day=day, now=NOW, rules=RULES)
    assert local_times(slots, KOLKATA)[0] == "09:30"


def test_minimum_notice_and_the_past_are_respected():
    now = at(MONDAY, T(10, 10), KOLKATA)
    slots = free_slots(availability(), first_day=MONDAY, last_day=MONDAY, now=now, rules=RULES)
    assert local_times(slots, KOLKATA) == ["11:30"]


def test_nothing_is_offered_beyond_the_booking_window():
    rules = BookingRules(minimum_notice=dt.timedelta(0), window_days=3)
    slots = free_slots(
        availability(),
        first_day=MONDAY,
        last_day=MONDAY + dt.timedelta(days=30),
        now=NOW,
        rules=rules,
    )
    assert max(slot.local_start(KOLKATA).date() for slot in slots) == MONDAY + dt.timedelta(days=3)


def test_nothing_is_offered_for_days_before_today():
    slots = free_slots(
        availability(),
        first_day=MONDAY - dt.timedelta(days=7),
        last_day=MONDAY - dt.timedelta(days=1),
        now=NOW,
        rules=RULES,
    )
    assert slots == []


def test_london_slots_keep_wall_clock_times_across_both_daylight_saving_changes():
    # Europe/London: clocks go forward on Sunday 29 March 2026 and back on Sunday 25 October 2026.
    hours = tuple(WeeklyStretch(day, T(9), T(10)) for day in range(7))
    rules = BookingRules(minimum_notice=dt.timedelta(0), window_days=400)
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    london = availability(zone=LONDON, weekly_hours=hours)
    for day, utc_hour in [
        (dt.date(2026, 3, 28), 9),  # GMT
        (dt.date(2026, 3, 29), 8),  # BST from 01:00 that morning
        (dt.date(2026, 10, 24), 8),  # BST
        (dt.date(2026, 10, 25), 9),  # GMT again from 02:00
    ]:
        slots = free_slots(london, first_day=day, last_day=day, now=now, rules=rules)
        assert local_times(slots, LONDON) == ["09:00", "09:30"], day
        assert slots[0].start == dt.datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)


def test_a_stretch_across_the_spring_gap_is_an_hour_shorter_in_real_time():
    # New York springs forward at 02:00 on 8 March 2026: 01:00-04:00 lasts two real hours.
    hours = (WeeklyStretch(6, T(1), T(4)),)
    rules = BookingRules(minimum_notice=dt.timedelta(0), window_days=100)
    now = dt.datetime(2026, 3, 1, tzinfo=UTC)
    day = dt.date(2026, 3, 8)
    slots = free_slots(
        availability(zone=NEW_YORK, weekly_hours=hours, opens_at=T(0), closes_at=T(23)),
        first_day=day,
        last_day=day,
        now=now,
        rules=rules,
    )
    assert local_times(slots, NEW_YORK) == ["01:00", "01:30", "03:00", "03:30"]
    assert all(slot.end - slot.start == dt.timedelta(minutes=30) for slot in slots)


def test_is_free_accepts_offered_slots_only():
    day = MONDAY + dt.timedelta(days=1)
    avail = availability()
    assert is_free(avail, start=at(day, T(9, 30), KOLKATA), now=NOW, rules=RULES)
    assert not is_free(avail, start=at(day, T(9, 10), KOLKATA), now=NOW, rules=RULES)  # off grid
    assert not is_free(avail, start=at(day, T(13), KOLKATA), now=NOW, rules=RULES)  # after hours
    assert not is_free(avail, start=at(MONDAY, T(5), KOLKATA), now=NOW, rules=RULES)  # past


def test_slots_by_day_groups_by_local_date():
    slots = free_slots(
        availability(),
        first_day=MONDAY,
        last_day=MONDAY + dt.timedelta(days=2),
        now=NOW,
        rules=RULES,
    )
    days = slots_by_day(slots, KOLKATA)
    assert list(days) == [MONDAY, MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=2)]
    assert sum(len(day_slots) for day_slots in days.values()) == len(slots)


# Properties, over generated clinics ------------------------------------------------------------

ZONES = [KOLKATA, LONDON, NEW_YORK, ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe")]
START_DAY = dt.date(2026, 3, 20)  # a span that crosses the European and American DST changes


def quarter_hours(low=0, high=95):
    return st.integers(low, high).map(lambda q: T(q // 4, q % 4 * 15))


@st.composite
def stretches(draw):
    weekday = draw(st.integers(0, 6))
    start = draw(st.integers(0, 90))
    end = draw(st.integers(start + 1, 95))
    return WeeklyStretch(weekday, T(start // 4, start % 4 * 15), T(end // 4, end % 4 * 15))


@st.composite
def scenarios(draw):
    zone = draw(st.sampled_from(ZONES))
    opens = draw(st.integers(0, 90))
    closes = draw(st.integers(opens + 1, 95))
    days = [START_DAY + dt.timedelta(days=n) for n in range(21)]
    now = dt.datetime.combine(START_DAY, T(0), tzinfo=UTC) + dt.timedelta(
        minutes=draw(st.integers(0, 60 * 24 * 5))
    )
    busy = []
    for _ in range(draw(st.integers(0, 12))):
        start = dt.datetime.combine(draw(st.sampled_from(days)), T(0), tzinfo=UTC) + dt.timedelta(
            minutes=draw(st.integers(0, 24 * 60 - 1))
        )
        busy.append((start, start + dt.timedelta(minutes=draw(st.integers(1, 8 * 60)))))
    return {
        "availability": Availability(
            zone=zone,
            slot_length=dt.timedelta(minutes=draw(st.sampled_from([10, 15, 20, 30, 45, 60]))),
            weekly_hours=tuple(draw(st.lists(stretches(), max_size=6))),
            opens_at=T(opens // 4, opens % 4 * 15),
            closes_at=T(closes // 4, closes % 4 * 15),
            closed_days=frozenset(draw(st.lists(st.sampled_from(days), max_size=4))),
            busy=tuple(busy),
        ),
        "now": now,
        "rules": BookingRules(
            minimum_notice=dt.timedelta(minutes=draw(st.integers(0, 48 * 60))),
            window_days=draw(st.integers(0, 14)),
        ),
        "first_day": START_DAY,
        "last_day": days[-1],
    }


def run(scenario):
    return free_slots(
        scenario["availability"],
        first_day=scenario["first_day"],
        last_day=scenario["last_day"],
        now=scenario["now"],
        rules=scenario["rules"],
    )


def inside_working_and_operating_hours(slot, avail):
    local = slot.local_start(avail.zone)
    day = local.date()
    opening = (at(day, avail.opens_at, avail.zone), at(day, avail.closes_at, avail.zone))
    if not (opening[0] <= slot.start and slot.end <= opening[1]):
        return False
    return any(
        stretch.weekday == day.weekday()
        and at(day, stretch.starts_at, avail.zone) <= slot.start
        and slot.end <= at(day, stretch.ends_at, avail.zone)
        for stretch in avail.weekly_hours
    )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_slot_overlaps_busy_time_or_falls_on_a_closed_day(scenario):
    avail = scenario["availability"]
    for slot in run(scenario):
        assert not any(slot.overlaps(start, end) for start, end in avail.busy)
        assert slot.local_start(avail.zone).date() not in avail.closed_days


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_every_slot_lies_inside_working_and_operating_hours(scenario):
    avail = scenario["availability"]
    for slot in run(scenario):
        assert slot.end - slot.start == avail.slot_length
        assert inside_working_and_operating_hours(slot, avail)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_slot_is_in_the_past_within_the_notice_or_beyond_the_window(scenario):
    avail, now, rules = scenario["availability"], scenario["now"], scenario["rules"]
    last_day = now.astimezone(avail.zone).date() + dt.timedelta(days=rules.window_days)
    for slot in run(scenario):
        assert slot.start >= now + rules.minimum_notice
        assert slot.local_start(avail.zone).date() <= last_day


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_slots_are_ordered_and_disjoint_and_each_is_confirmed_free(scenario):
    slots = run(scenario)
    for earlier, later in itertools.pairwise(slots):
        assert earlier.end <= later.start
    for slot in slots[:5]:
        assert is_free(
            scenario["availability"], start=slot.start, now=scenario["now"], rules=scenario["rules"]
        )


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_every_free_grid_position_is_offered(scenario):
    """Completeness against a brute-force oracle: nothing free is left out."""
    avail, now, rules = scenario["availability"], scenario["now"], scenario["rules"]
    # Validation keeps a doctor's working hours on one day apart; the oracle assumes so too.
    assume(
        not any(
            a.weekday == b.weekday and a.starts_at < b.ends_at and b.starts_at < a.ends_at
            for i, a in enumerate(avail.weekly_hours)
            for b in avail.weekly_hours[i + 1 :]
        )
    )
    offered = set(run(scenario))
    today = now.astimezone(avail.zone).date()
    day = max(scenario["first_day"], today)
    while day <= min(scenario["last_day"], today + dt.timedelta(days=rules.window_days)):
        for stretch in avail.weekly_hours:
            if stretch.weekday != day.weekday() or day in avail.closed_days:
                continue
            begin = at(day, max(stretch.starts_at, avail.opens_at), avail.zone)
            finish = at(day, min(stretch.ends_at, avail.closes_at), avail.zone)
            start = begin
            while start + avail.slot_length <= finish:
                end = start + avail.slot_length
                free = start >= now + rules.minimum_notice and not any(
                    start < busy_end and busy_start < end for busy_start, busy_end in avail.busy
                )
                if free:
                    assert any(slot.start == start and slot.end == end for slot in offered)
                start = end
        day += dt.timedelta(days=1)
