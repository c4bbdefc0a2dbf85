"""Times in and out of the API: ISO 8601 with an offset, never a naive time.

An instant at a clinic is given as one object, the same wherever it appears:

    {"utc": "2026-12-03T05:00:00Z",
     "local": "2026-12-03T10:30:00+05:30",
     "time_zone": "Asia/Kolkata"}

`utc` is the instant; `local` is the same instant as the clinic's wall clock shows it (the
offset is that zone's on that day); `time_zone` is the clinic's IANA zone. A program compares
and stores `utc`; a person is shown `local`.
"""

import datetime as dt

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def iso_utc(value):
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def at_clinic(value, clinic):
    """The shape above for the aware datetime `value` at `clinic` (a doctors.Clinic)."""
    if value is None:
        return None
    return {
        "utc": iso_utc(value),
        "local": value.astimezone(clinic.zone).isoformat(),
        "time_zone": clinic.timezone,
    }


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "utc": {"type": "string", "format": "date-time", "example": "2026-12-03T05:00:00Z"},
            "local": {
                "type": "string",
                "format": "date-time",
                "example": "2026-12-03T10:30:00+05:30",
            },
            "time_zone": {"type": "string", "example": "Asia/Kolkata"},
        },
        "required": ["utc", "local", "time_zone"],
    }
)
class ClinicTimeField(serializers.Field):
    """A read-only field: an aware datetime attribute shown at a clinic.

    `clinic` is the dotted path from the object to its clinic (default "clinic"), e.g.
    `start = ClinicTimeField()` on an appointment serializer.
    """

    def __init__(self, *, clinic="clinic", **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.clinic_path = clinic

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        clinic = instance
        for name in self.clinic_path.split("."):
            clinic = getattr(clinic, name)
        return (value, clinic)

    def to_representation(self, value):
        instant, clinic = value
        return at_clinic(instant, clinic)


class AwareDateTimeField(serializers.DateTimeField):
    """An input time that must carry its offset ("...Z" or "...+05:30"): a time without one
    would be read in the server's zone, which is nobody's wall clock in particular."""

    default_error_messages = {
        "naive": "Give the time with its offset, such as 2026-12-03T10:30:00+05:30.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)
