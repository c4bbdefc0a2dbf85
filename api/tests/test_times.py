"""Times in and out: ISO 8601 with offsets; an instant at a clinic as utc, local and zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from rest_framework import serializers

from api.times import AwareDateTimeField, ClinicTimeField, at_clinic, iso_utc
from doctors.models import Clinic


def clinic_in(zone):
    return Clinic(name="Somewhere", timezone=zone)


def test_an_instant_at_a_clinic_in_india():
    instant = dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC)
    assert at_clinic(instant, clinic_in("Asia/Kolkata")) == {
        "utc": "2026-12-03T05:00:00Z",
        "local": "2026-12-03T10:30:00+05:30",
        "time_zone": "Asia/Kolkata",
    }


@pytest.mark.parametrize(
    "utc, local",
    [
        # London's clocks go forward on 29 March 2026 and back on 25 October 2026.
        (dt.datetime(2026, 3, 28, 9, 0, tzinfo=dt.UTC), "2026-03-28T09:00:00+00:00"),
        (dt.datetime(2026, 3, 30, 9, 0, tzinfo=dt.UTC), "2026-03-30T10:00:00+01:00"),
        (dt.datetime(2026, 10, 26, 9, 0, tzinfo=dt.UTC), "2026-10-26T09:00:00+00:00"),
    ],
)
def test_the_local_offset_is_the_zones_on_that_day(utc, local):
    assert at_clinic(utc, clinic_in("Europe/London"))["local"] == local


def test_the_same_instant_given_in_any_zone_is_one_utc_time():
    kolkata = dt.datetime(2026, 12, 3, 10, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert iso_utc(kolkata) == "2026-12-03T05:00:00Z"


def test_no_time_is_none():
    assert at_clinic(None, clinic_in("Asia/Kolkata")) is None


class Visit:
    def __init__(self, start, clinic):
        self.start = start
        self.place = type("Place", (), {"clinic": clinic})()


class VisitSerializer(serializers.Serializer):
    start = ClinicTimeField(clinic="place.clinic")


def test_the_field_finds_the_clinic_by_its_path():
    visit = Visit(dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC), clinic_in("Asia/Kolkata"))
    assert VisitSerializer(visit).data["start"]["local"] == "2026-12-03T10:30:00+05:30"


class WhenSerializer(serializers.Serializer):
    when = AwareDateTimeField()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-12-03T10:30:00+05:30", dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC)),
        ("2026-12-03T05:00:00Z", dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC)),
        ("2026-12-03T00:00:00-05:00", dt.datetime(2026, 12, 3, 5, 0, tzinfo=dt.UTC)),
    ],
)
def test_input_times_with_offsets_are_read_as_instants(text, expected):
    serializer = WhenSerializer(data={"when": text})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["when"] == expected


def test_an_input_time_without_an_offset_is_refused():
    serializer = WhenSerializer(data={"when": "2026-12-03T10:30:00"})
    assert not serializer.is_valid()
    assert "offset" in str(serializer.errors["when"][0])


@pytest.mark.parametrize("text", ["2026-13-45T25:61Z", "tomorrow", "", "2026-02-30T10:00:00Z"])
def test_a_time_that_is_not_one_is_a_field_error(text):
    serializer = WhenSerializer(data={"when": text})
    assert not serializer.is_valid()
    assert "when" in serializer.errors
