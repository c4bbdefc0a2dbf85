"""GET /api/v1/slots/: a doctor's free times at a clinic over any dates of the booking window,
each with the slot id that booking and rescheduling accept.

Open to anyone, as the portal's date and time pages are: free times say nothing about patients.
"""

import datetime as dt
import re

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny

from api.times import ClinicTimeField, at_clinic
from bookings.forms import SANE_YEARS, parse_slot_token, slot_token
from bookings.selectors import open_slots
from bookings.slot_pages import window
from doctors.models import Doctor, VisitType
from doctors.selectors import clinic_where_works, takes_bookings_at

DEFAULT_DAYS = 7

# "<doctor id>:<clinic id>:<start in UTC, as the pages' slot token>", e.g. "12:3:2026-12-03T05:00Z".
# Not signed: the booking and reschedule services check every rule again under their locks, so
# an id edited by hand can only name a time they would accept anyway, or be refused.
SLOT_ID = re.compile(r"^([1-9][0-9]{0,9}):([1-9][0-9]{0,9}):(.{1,40})$", re.ASCII)
SLOT_ID_HELP = "A slot's `id` from GET /api/v1/slots/, such as 12:3:2026-12-03T05:00Z."
SLOT_ID_INVALID = "That is not a slot id. Take one from GET /api/v1/slots/."


def slot_id(doctor, clinic, start):
    return f"{doctor.pk}:{clinic.pk}:{slot_token(start)}"


class ParsedSlot:
    def __init__(self, doctor_id, clinic_id, start):
        self.doctor_id = doctor_id
        self.clinic_id = clinic_id
        self.start = start


def parse_slot_id(value):
    """(doctor id, clinic id, aware start) named by a slot id; ValueError for anything else."""
    match = SLOT_ID.match(value)
    if match is None:
        raise ValueError(value)
    start = parse_slot_token(match.group(3))
    if not SANE_YEARS[0] <= start.year <= SANE_YEARS[1]:
        raise ValueError(value)
    return ParsedSlot(int(match.group(1)), int(match.group(2)), start)


class SlotIdField(serializers.CharField):
    """A slot id in a request body, read into a ParsedSlot (the objects it names are looked up by
    the view, and every rule about the time is the service's)."""

    default_error_messages = {"invalid": SLOT_ID_INVALID}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", SLOT_ID_HELP)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # The length is checked here: the field's validators would see the parsed slot.
        text = super().to_internal_value(data)
        if len(text) > 64:
            self.fail("invalid")
        try:
            return parse_slot_id(text)
        except ValueError:
            self.fail("invalid")


class SlotSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Pass it as `slot` to book or move an appointment.")
    # For the schema: the slot engine's slots carry no clinic, so to_representation shapes them.
    start = ClinicTimeField()
    end = ClinicTimeField()

    def _at(self, value):
        return at_clinic(value, self.context["clinic"])

    def to_representation(self, slot):
        clinic = self.context["clinic"]
        return {
            "id": slot_id(self.context["doctor"], clinic, slot.start),
            "start": self._at(slot.start),
            "end": self._at(slot.end),
        }


class SlotQuerySerializer(serializers.Serializer):
    doctor = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    clinic = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    # "from" is a Python keyword, hence the source names.
    from_ = serializers.DateField(required=False, input_formats=["iso-8601"])
    to = serializers.DateField(required=False, input_formats=["iso-8601"])
    visit_type = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="A visit type the doctor offers: its times (its length and buffers).",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate_doctor(self, value):
        # Inactive doctors are not offered, as on the pages (their pages answer 404).
        doctor = Doctor.objects.active().select_related("department").filter(pk=value).first()
        if doctor is None:
            raise serializers.ValidationError("No doctor taking appointments has this id.")
        return doctor

    def validate(self, data):
        doctor = data["doctor"]
        clinic = clinic_where_works(doctor, data["clinic"])
        if clinic is None:
            raise serializers.ValidationError(
                {"clinic": "No clinic with this id where the doctor works."}
            )
        first_day, last_day = window(clinic, self.context["now"])
        outside = f"Choose dates from {first_day} to {last_day}, the booking window."
        start = data.get("from") or first_day
        # Checked before any arithmetic on it: 9999-12-31 plus a week is no date at all.
        if not first_day <= start <= last_day:
            raise serializers.ValidationError({"from": outside})
        end = data.get("to") or min(start + dt.timedelta(days=DEFAULT_DAYS - 1), last_day)
        if not first_day <= end <= last_day:
            raise serializers.ValidationError({"to": outside})
        if end < start:
            raise serializers.ValidationError({"to": "The last day cannot be before the first."})
        visit_type = None
        if data.get("visit_type") is not None:
            visit_type = VisitType.objects.active().filter(pk=data["visit_type"]).first()
            if visit_type is None or not visit_type.offered_by(doctor):
                raise serializers.ValidationError(
                    {"visit_type": "No visit type with this id that the doctor offers."}
                )
        return {
            "doctor": doctor,
            "clinic": clinic,
            "first_day": start,
            "last_day": end,
            "visit_type": visit_type,
        }


SLOT_EXAMPLE = {
    "count": 1,
    "next": None,
    "previous": None,
    "results": [
        {
            "id": "12:3:2026-12-03T05:00Z",
            "start": {
                "utc": "2026-12-03T05:00:00Z",
                "local": "2026-12-03T10:30:00+05:30",
                "time_zone": "Asia/Kolkata",
            },
            "end": {
                "utc": "2026-12-03T05:15:00Z",
                "local": "2026-12-03T10:45:00+05:30",
                "time_zone": "Asia/Kolkata",
            },
        }
    ],
}


@extend_schema(
    summary="Free times of a doctor at a clinic",
    description=(
        "The times a patient could book now, from the same slot engine as the portal's pages, "
        "for the dates `from` to `to` (the clinic's own dates, both included; any range inside "
        "the booking window of BOOKING_WINDOW_DAYS days from the clinic's today). Without "
        "`from`, the clinic's today; without `to`, 7 days from `from`. Each slot's `id` is what "
        "POST /api/v1/appointments/ and .../reschedule/ take as `slot`; a slot taken meanwhile "
        "is refused there with 409 `slot_taken`. Open to anyone, logged in or not."
    ),
    parameters=[
        OpenApiParameter("doctor", int, required=True, description="The doctor's id."),
        OpenApiParameter("clinic", int, required=True, description="The clinic's id."),
        OpenApiParameter("from", dt.date, description="First day (YYYY-MM-DD), clinic's date."),
        OpenApiParameter("to", dt.date, description="Last day (YYYY-MM-DD), included."),
        OpenApiParameter(
            "visit_type",
            int,
            description="A visit type the doctor offers: the times for its length and buffers "
            "(without it, the doctor's plain slots).",
        ),
    ],
    examples=[OpenApiExample("A page of slots", value=SLOT_EXAMPLE, response_only=True)],
)
class SlotList(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = SlotSerializer

    def get_queryset(self):
        now = timezone.now()
        query = SlotQuerySerializer(data=self.request.query_params, context={"now": now})
        query.is_valid(raise_exception=True)
        self.doctor, self.clinic = query.validated_data["doctor"], query.validated_data["clinic"]
        # A doctor whose registration has lapsed is offered nowhere, as on the pages.
        if not takes_bookings_at(self.doctor, self.clinic, now):
            return []
        return open_slots(
            doctor=self.doctor,
            clinic=self.clinic,
            now=now,
            first_day=query.validated_data["first_day"],
            last_day=query.validated_data["last_day"],
            visit_type=query.validated_data["visit_type"],
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "doctor": self.doctor, "clinic": self.clinic}
