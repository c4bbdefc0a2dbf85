import datetime as dt

import pytest
from django.utils import timezone

from bookings.forms import SlotForm, TimeOffForm


@pytest.mark.parametrize("token", ["0001-01-01T00:00Z", "9999-12-31T23:45Z", "1899-12-31T09:00Z"])
def test_slot_times_at_the_ends_of_the_calendar_are_unreadable_not_a_crash(token):
    form = SlotForm({"start": token})
    assert not form.is_valid()
    assert "could not be read" in form.errors["start"][0]


def test_an_ordinary_slot_time_reads_as_utc():
    form = SlotForm({"start": "2026-12-02T04:15Z"})
    assert form.is_valid()
    assert form.cleaned_data["start"] == dt.datetime(2026, 12, 2, 4, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        ("0001-01-01T09:00", "2030-01-01T10:00", "starts_at"),
        ("2030-01-01T09:00", "9999-12-31T23:59", "ends_at"),
    ],
)
def test_time_off_at_the_ends_of_the_calendar_is_refused_by_its_field(starts_at, ends_at, field):
    with timezone.override("Asia/Kolkata"):
        form = TimeOffForm({"starts_at": starts_at, "ends_at": ends_at})
        assert not form.is_valid()
    assert "between the years 1900 and 2999" in form.errors[field][0]
