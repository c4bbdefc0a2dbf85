import datetime as dt

from bookings.datepicker import WEEKDAY_NAMES, picker_months


def day_url(day):
    return f"/day/{day.isoformat()}/"


def test_a_window_across_the_new_year_spans_two_months_monday_first():
    months = picker_months(
        first_day=dt.date(2026, 12, 20),
        last_day=dt.date(2027, 1, 19),
        free_counts={dt.date(2026, 12, 21): 3, dt.date(2027, 1, 19): 1, dt.date(2027, 1, 20): 5},
        day_url=day_url,
    )
    assert [month.first_day for month in months] == [dt.date(2026, 12, 1), dt.date(2027, 1, 1)]
    assert all(len(week) == 7 for month in months for week in month.weeks)
    # 1 December 2026 is a Tuesday: the first week starts with a blank Monday.
    assert months[0].weeks[0][0] is None
    assert months[0].weeks[0][1].date == dt.date(2026, 12, 1)
    assert WEEKDAY_NAMES[0] == ("Mon", "Monday")


def test_only_days_inside_the_window_with_free_times_are_bookable():
    months = picker_months(
        first_day=dt.date(2026, 12, 20),
        last_day=dt.date(2027, 1, 19),
        free_counts={dt.date(2026, 12, 19): 2, dt.date(2026, 12, 21): 3, dt.date(2027, 1, 20): 5},
        day_url=day_url,
    )
    days = {day.date: day for month in months for week in month.weeks for day in week if day}
    assert days[dt.date(2026, 12, 21)].bookable
    assert days[dt.date(2026, 12, 21)].url == "/day/2026-12-21/"
    assert days[dt.date(2026, 12, 21)].free_count == 3
    assert not days[dt.date(2026, 12, 19)].bookable  # before the window
    assert not days[dt.date(2027, 1, 20)].bookable  # after it
    assert days[dt.date(2027, 1, 20)].url == ""
    assert not days[dt.date(2026, 12, 22)].bookable  # no free times
    assert [day for day in days.values() if day.bookable] == [days[dt.date(2026, 12, 21)]]
