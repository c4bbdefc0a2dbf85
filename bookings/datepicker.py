"""The date picker's grid: the booking window laid out as calendar months, Monday first."""

import calendar
import datetime as dt
from dataclasses import dataclass

from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR


@dataclass(frozen=True)
class PickerDay:
    date: dt.date
    free_count: int  # free times that day; 0 for a full day or one outside the window
    in_window: bool
    url: str = ""  # the day's free times, for a bookable day

    @property
    def bookable(self):
        return self.in_window and self.free_count > 0


@dataclass(frozen=True)
class PickerMonth:
    first_day: dt.date
    weeks: list  # of 7-item lists: a PickerDay, or None for a day of another month


def picker_months(*, first_day, last_day, free_counts, day_url):
    """The months from `first_day` to `last_day` (local dates), each day with its free count.

    `free_counts` maps a date to its number of free times; absent dates have none. `day_url(date)`
    gives the link of a day that has free times.
    """
    months = []
    month_calendar = calendar.Calendar(firstweekday=calendar.MONDAY)
    year, month = first_day.year, first_day.month
    while (year, month) <= (last_day.year, last_day.month):
        weeks = []
        for week in month_calendar.monthdatescalendar(year, month):
            weeks.append(
                [_day(day, month, first_day, last_day, free_counts, day_url) for day in week]
            )
        months.append(PickerMonth(first_day=dt.date(year, month, 1), weeks=weeks))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _day(day, month, first_day, last_day, free_counts, day_url):
    if day.month != month:
        return None
    in_window = first_day <= day <= last_day
    free_count = free_counts.get(day, 0) if in_window else 0
    return PickerDay(
        date=day,
        free_count=free_count,
        in_window=in_window,
        url=day_url(day) if free_count else "",
    )


# Django's names (lazy): in the page's language, where the calendar module's follow the
# process's C locale.
WEEKDAY_NAMES = [
    (WEEKDAYS_ABBR[weekday], WEEKDAYS[weekday])
    for weekday in calendar.Calendar(firstweekday=calendar.MONDAY).iterweekdays()
]
