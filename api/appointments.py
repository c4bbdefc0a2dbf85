"""Appointments over the API: list, book, read, cancel, move, and the visit's day (check-in,
completion, no-show), each through the booking service the portal's pages call.

Who reaches which appointment is decided as on the pages: the front desk, clinic admins and
integrations (a login with the Front desk role) every appointment; a doctor their own schedule;
a patient their own bookings. Anyone else's appointment answers 404, never 403. A role that may
not do something at all (a doctor cancelling, a patient checking in) answers 403.
"""

import datetime as dt

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import record_view
from accounts.models import Patient
from accounts.roles import Role, roles_of
from api.idempotency import idempotent
from api.permissions import HasRole, is_staff, patient_of
from api.serializers import DepartmentRefSerializer
from api.slots import SlotIdField
from api.times import ClinicTimeField
from billing.selectors import money_summary
from bookings import services
from bookings.forms import CancelForm, DeskCancelForm, available_payment_modes
from bookings.models import Appointment, AppointmentType, PaymentMode, Status
from bookings.selectors import appointments_on_local_days
from doctors.models import Clinic, Doctor, VisitType

ROLE_LIST = (Role.PATIENT, Role.DOCTOR, Role.FRONT_DESK, Role.CLINIC_ADMIN)
StaffPatientOrDoctor = HasRole.of(*ROLE_LIST)
StaffOrPatient = HasRole.of(Role.PATIENT, Role.FRONT_DESK, Role.CLINIC_ADMIN)
StaffOrDoctor = HasRole.of(Role.DOCTOR, Role.FRONT_DESK, Role.CLINIC_ADMIN)
DoctorOnly = HasRole.of(Role.DOCTOR)
ID = {"min_value": 1, "max_value": 2**31 - 1}


def appointments_for(user, *, staff=False, doctor=False, patient=False):
    """The appointments `user` may reach in the capacities named: as staff (all), as a doctor
    (their own schedule, while they are active, as the schedule pages require), as a patient
    (their own bookings)."""
    appointments = Appointment.objects.select_related(
        "patient", "doctor__department", "clinic", "rescheduled_to", "visit_type"
    )
    roles = roles_of(user)
    if staff and is_staff(user):
        return appointments
    mine = Q(pk__in=[])
    if doctor and roles.is_doctor:
        own_doctor = Doctor.objects.active().filter(user=user).first()
        if own_doctor is not None:
            mine |= Q(doctor=own_doctor)
    own_patient = patient_of(user) if patient and roles.is_patient else None
    if own_patient is not None:
        mine |= Q(patient=own_patient)
    return appointments.filter(mine)


# Shapes ------------------------------------------------------------------------------------------


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


class DoctorRefSerializer(PersonRefSerializer):
    department = DepartmentRefSerializer()


class ClinicRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    time_zone = serializers.CharField(source="timezone")


class PriceSerializer(serializers.Serializer):
    currency = serializers.CharField(source="charge.currency")
    fee = serializers.DecimalField(max_digits=10, decimal_places=2, source="charge.fee")
    gst = serializers.DecimalField(max_digits=10, decimal_places=2, source="charge.gst")
    total = serializers.DecimalField(max_digits=10, decimal_places=2, source="charge.total")
    paid = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
    due = serializers.DecimalField(max_digits=12, decimal_places=2)


class VisitTypeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    minutes = serializers.IntegerField(help_text="How long the visit lasts.")
    mode = serializers.ChoiceField(choices=VisitType.Mode.choices)


def _utc(**kwargs):
    return serializers.DateTimeField(read_only=True, default_timezone=dt.UTC, **kwargs)


class AppointmentSerializer(serializers.ModelSerializer):
    patient = PersonRefSerializer()
    doctor = DoctorRefSerializer()
    clinic = ClinicRefSerializer()
    start = ClinicTimeField()
    end = ClinicTimeField()
    rescheduled_from = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The appointment this one replaced when it was moved.",
    )
    rescheduled_to = serializers.SerializerMethodField(
        help_text="The appointment that replaced this one, if it was moved."
    )
    visit_type = VisitTypeRefSerializer(
        read_only=True,
        allow_null=True,
        help_text="The type of visit booked; null for the doctor's plain slot.",
    )
    created_at = _utc()
    checked_in_at = _utc(allow_null=True)
    completed_at = _utc(allow_null=True)
    no_show_at = _utc(allow_null=True)
    cancelled_at = _utc(allow_null=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "status",
            "patient",
            "doctor",
            "clinic",
            "start",
            "end",
            "appointment_type",
            "visit_type",
            "payment_mode",
            "reason",
            "created_at",
            "checked_in_at",
            "completed_at",
            "no_show_at",
            "cancelled_at",
            "cancellation_reason",
            "rescheduled_from",
            "rescheduled_to",
        ]

    def get_rescheduled_to(self, appointment) -> int | None:
        # A reverse one-to-one: loaded with the list's select_related, None when absent.
        moved = getattr(appointment, "rescheduled_to", None)
        return moved.pk if moved is not None else None


class AppointmentDetailSerializer(AppointmentSerializer):
    price = serializers.SerializerMethodField(
        help_text="The charge and what was paid, refunded and is due (null without a charge, "
        "and for doctors, whose pages show no money)."
    )

    class Meta(AppointmentSerializer.Meta):
        fields = [*AppointmentSerializer.Meta.fields, "price"]

    @extend_schema_field(PriceSerializer(allow_null=True))
    def get_price(self, appointment):
        if not self.context.get("show_price"):
            return None
        summary = money_summary(appointment)
        return PriceSerializer(summary).data if summary is not None else None


# Requests ----------------------------------------------------------------------------------------


class AppointmentFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    doctor = serializers.IntegerField(required=False, **ID)
    clinic = serializers.IntegerField(required=False, **ID)
    patient = serializers.IntegerField(required=False, **ID)
    from_ = serializers.DateField(required=False, input_formats=["iso-8601"])
    to = serializers.DateField(required=False, input_formats=["iso-8601"])

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # "from" is a Python keyword
        return fields

    def validate(self, data):
        if "from" in data and "to" in data and data["to"] < data["from"]:
            raise serializers.ValidationError({"to": "The last day cannot be before the first."})
        return data


class BookingSerializer(serializers.Serializer):
    slot = SlotIdField()
    patient = serializers.IntegerField(
        required=False,
        help_text="Staff and integrations: the directory patient's id (required). Patients "
        "book for themselves and leave it out.",
        **ID,
    )
    appointment_type = serializers.ChoiceField(
        choices=AppointmentType.choices, default=AppointmentType.CONSULTATION
    )
    payment_mode = serializers.ChoiceField(
        choices=PaymentMode.choices,
        default=PaymentMode.AT_CLINIC,
        help_text="online only when the clinic has a payment provider set up.",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="", help_text="Up to 500."
    )
    visit_type = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="A visit type the doctor offers (take its slot from GET /api/v1/slots/ with "
        "the same visit_type); patients only those bookable online. Without it, the doctor's "
        "plain slot.",
    )

    def validate_payment_mode(self, value):
        # The pages' choices: online payment only once a payment provider is configured.
        if value not in dict(available_payment_modes()):
            raise serializers.ValidationError("Online payment is not available yet.")
        return value


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        default="",
        help_text="Up to 200 characters. Required from staff and integrations, as on the "
        "desk's page; optional for patients.",
    )


class RescheduleSerializer(serializers.Serializer):
    slot = SlotIdField(help_text="A free slot of the same doctor at the same clinic.")
    visit_type = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**31 - 1,
        help_text="Left out: the appointment keeps its visit type (take the slot from GET "
        "/api/v1/slots/ with that visit_type). Another type's id (staff any the doctor offers; "
        "patients those bookable online) or null (the doctor's plain slot) changes it, and the "
        "charge is quoted again for it; once something has been paid, a type at another price "
        "is refused (409 visit_type_paid).",
    )


def validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _field_error(name, message):
    return serializers.ValidationError({name: [message]})


# Views -------------------------------------------------------------------------------------------


APPOINTMENT_EXAMPLE = {
    "id": 7,
    "status": "booked",
    "patient": {"id": 41, "full_name": "Asha Rao"},
    "doctor": {"id": 12, "full_name": "Dr Meera Nair", "department": {"id": 2, "name": "ENT"}},
    "clinic": {"id": 3, "name": "Lakeview", "time_zone": "Asia/Kolkata"},
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
    "appointment_type": "consultation",
    "visit_type": {"id": 4, "name": "Consultation", "minutes": 15, "mode": "in_person"},
    "payment_mode": "at_clinic",
    "reason": "Ear ache",
    "created_at": "2026-12-01T04:12:09Z",
    "checked_in_at": None,
    "completed_at": None,
    "no_show_at": None,
    "cancelled_at": None,
    "cancellation_reason": "",
    "rescheduled_from": None,
    "rescheduled_to": None,
}


def _created(appointment):
    return Response(
        AppointmentSerializer(appointment).data,
        status=status.HTTP_201_CREATED,
        headers={"Location": reverse("api:appointment", kwargs={"pk": appointment.pk})},
    )


def patient_to_book_for(user, patient_id):
    """Whom a booking is for: staff name a directory patient, a patient books for themselves."""
    if is_staff(user):
        if patient_id is None:
            raise _field_error("patient", "Name the patient: their id in the directory.")
        patient = Patient.objects.filter(pk=patient_id).first()
        if patient is None:
            raise _field_error("patient", "That patient is not in the directory.")
        return patient
    own = patient_of(user)
    if own is None:
        raise PermissionDenied("Only patients and the clinic's staff book appointments.")
    if patient_id is not None and patient_id != own.pk:
        raise _field_error("patient", "Patients book for themselves: leave this out.")
    return own


@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=Status.values, description="Only this status."),
        OpenApiParameter("doctor", int, description="Only this doctor's."),
        OpenApiParameter("clinic", int, description="Only at this clinic."),
        OpenApiParameter("patient", int, description="Only this patient's."),
        OpenApiParameter("from", dt.date, description="Starting on or after this clinic date."),
        OpenApiParameter("to", dt.date, description="Starting on or before this clinic date."),
    ]
)
class AppointmentList(ListAPIView):
    serializer_class = AppointmentSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [StaffOrPatient()]
        return [StaffPatientOrDoctor()]

    def get_queryset(self):
        filters = validated(AppointmentFilterSerializer, self.request.query_params)
        appointments = appointments_for(self.request.user, staff=True, doctor=True, patient=True)
        for name in ("status", "doctor", "clinic", "patient"):
            if name in filters:
                appointments = appointments.filter(**{name: filters[name]})
        return appointments_on_local_days(
            appointments, first_day=filters.get("from"), last_day=filters.get("to")
        ).order_by("start", "pk")

    @extend_schema(
        summary="List appointments",
        description=(
            "Front desk, clinic admins and integrations: every appointment. A doctor: their own "
            "schedule. A patient: their own bookings. In time order, paged; filters combine. "
            "`from` and `to` are dates in each appointment's own clinic's calendar."
        ),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Book a slot",
        description=(
            "Books a slot from GET /api/v1/slots/ through the booking service the pages use: "
            "every rule is checked again (a slot taken meanwhile is 409 `slot_taken`; "
            "`cap_reached`, `outside_window`, `short_notice`, `doctor_inactive`... are 422 with "
            "the page's message). A patient books for themselves; staff and integrations name "
            "a directory patient. Doctors do not book. Send an Idempotency-Key to retry safely."
        ),
        request=BookingSerializer,
        responses={201: AppointmentSerializer},
        examples=[
            OpenApiExample(
                "Staff booking for a directory patient",
                value={
                    "slot": "12:3:2026-12-03T05:00Z",
                    "patient": 41,
                    "appointment_type": "consultation",
                    "payment_mode": "at_clinic",
                    "reason": "Ear ache",
                },
                request_only=True,
            ),
            OpenApiExample("Booked", value=APPOINTMENT_EXAMPLE, response_only=True),
        ],
    )
    @idempotent
    def post(self, request):
        data = validated(BookingSerializer, request.data)
        patient = patient_to_book_for(request.user, data.get("patient"))
        slot = data["slot"]
        doctor = Doctor.objects.select_related("department").filter(pk=slot.doctor_id).first()
        clinic = Clinic.objects.filter(pk=slot.clinic_id).first()
        if doctor is None or clinic is None:
            raise _field_error("slot", "No such slot. Take one from GET /api/v1/slots/.")
        visit_type = None
        if data.get("visit_type") is not None:
            # Whether the doctor offers it (and to whom) is the booking service's rule.
            visit_type = VisitType.objects.filter(pk=data["visit_type"]).first()
            if visit_type is None:
                raise _field_error("visit_type", "No visit type has this id.")
        appointment = services.book_appointment(
            patient=patient,
            doctor=doctor,
            clinic=clinic,
            start=slot.start,
            appointment_type=data["appointment_type"],
            payment_mode=data["payment_mode"],
            reason=data["reason"],
            by=request.user,
            visit_type=visit_type,
        )
        return _created(appointment)


class AppointmentDetail(APIView):
    permission_classes = [StaffPatientOrDoctor]

    @extend_schema(
        summary="An appointment's details",
        description=(
            "Its times (UTC and the clinic's wall clock), status and each change's time, and "
            "its price with what was paid (not for doctors). Patients: their own only; doctors: "
            "their own schedule only; others' are 404."
        ),
        responses=AppointmentDetailSerializer,
    )
    def get(self, request, pk):
        appointment = get_object_or_404(
            appointments_for(request.user, staff=True, doctor=True, patient=True), pk=pk
        )
        record_view(appointment)
        show_price = is_staff(request.user) or appointment.patient.user_id == request.user.pk
        serializer = AppointmentDetailSerializer(appointment, context={"show_price": show_price})
        return Response(serializer.data)


class _Action(APIView):
    """POST on one appointment: look it up in the caller's reach (else 404), then act."""

    reach = {}

    def appointment(self, request, pk):
        return get_object_or_404(appointments_for(request.user, **self.reach), pk=pk)

    def answer(self, request, appointment):
        fresh = appointments_for(request.user, staff=True, doctor=True, patient=True)
        return Response(AppointmentSerializer(fresh.get(pk=appointment.pk)).data)


class AppointmentCancel(_Action):
    permission_classes = [StaffOrPatient]
    reach = {"staff": True, "patient": True}

    @extend_schema(
        summary="Cancel an appointment",
        description=(
            "The only change a patient may make to their own booking, up to "
            "BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS before it (else 422 `past_cutoff`); "
            "staff and integrations any booked appointment that has not started, with a reason. "
            "The time is released. 409 `invalid_status` when it is no longer booked."
        ),
        request=CancelSerializer,
        responses=AppointmentSerializer,
        examples=[OpenApiExample("Cancel", value={"reason": "Feeling better"}, request_only=True)],
    )
    @idempotent
    def post(self, request, pk):
        appointment = self.appointment(request, pk)
        reason = validated(CancelSerializer, request.data)["reason"]
        # The pages' forms: the desk must say why, a patient may.
        form = (DeskCancelForm if is_staff(request.user) else CancelForm)({"reason": reason})
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        services.cancel_appointment(
            appointment=appointment, by=request.user, reason=form.cleaned_data["reason"]
        )
        return self.answer(request, appointment)


class AppointmentReschedule(_Action):
    permission_classes = [StaffOrPatient]
    reach = {"staff": True, "patient": True}

    @extend_schema(
        summary="Move an appointment to another slot",
        description=(
            "One atomic call of the reschedule service: the old time is released only if the "
            "new one is secured (else nothing changes: 409 `slot_taken`, 422 `same_time`, "
            "`past_cutoff`...). The slot must be the same doctor's at the same clinic. Answers "
            "201 with the new appointment; the old one is cancelled and points to it "
            "(`rescheduled_to`). With `visit_type` the visit changes type, and its charge "
            "(`price` in the details) is quoted again for the new type; a visit already paid "
            "for cannot change to a type at another price (409 `visit_type_paid`). Send an "
            "Idempotency-Key to retry safely."
        ),
        request=RescheduleSerializer,
        responses={201: AppointmentSerializer},
        examples=[
            OpenApiExample("Move", value={"slot": "12:3:2026-12-04T05:30Z"}, request_only=True),
            OpenApiExample(
                "Move into another visit type",
                value={"slot": "12:3:2026-12-04T05:30Z", "visit_type": 4},
                request_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request, pk):
        appointment = self.appointment(request, pk)
        data = validated(RescheduleSerializer, request.data)
        slot = data["slot"]
        if (slot.doctor_id, slot.clinic_id) != (appointment.doctor_id, appointment.clinic_id):
            raise _field_error(
                "slot",
                "Choose a time of the same doctor at the same clinic (GET /api/v1/slots/ with "
                "the appointment's doctor and clinic).",
            )
        change = {}
        if "visit_type" in data:
            # Left out keeps the type; whether the doctor offers a new one is the service's rule.
            change["visit_type"] = None
            if data["visit_type"] is not None:
                change["visit_type"] = VisitType.objects.filter(pk=data["visit_type"]).first()
                if change["visit_type"] is None:
                    raise _field_error("visit_type", "No visit type has this id.")
        moved = services.reschedule_appointment(
            appointment=appointment, start=slot.start, by=request.user, **change
        )
        return _created(moved)


def _visit_action(service, *, summary, description, permission, reach):
    class Visit(_Action):
        permission_classes = [permission]

        @extend_schema(
            summary=summary, description=description, request=None, responses=AppointmentSerializer
        )
        @idempotent
        def post(self, request, pk):
            appointment = self.appointment(request, pk)
            service(appointment=appointment, by=request.user, now=timezone.now())
            return self.answer(request, appointment)

    Visit.reach = reach
    Visit.__name__ = Visit.__qualname__ = f"Appointment{service.__name__.title().replace('_', '')}"
    return Visit


AppointmentCheckIn = _visit_action(
    services.check_in_appointment,
    summary="Check the patient in",
    description=(
        "The patient has arrived. Front desk, clinic admins and integrations: any appointment; "
        "a doctor: their own. Only on the appointment's own date at its clinic (else 422 "
        "`not_today`), and only a booked one (else 409 `invalid_status`)."
    ),
    permission=StaffOrDoctor,
    reach={"staff": True, "doctor": True},
)
AppointmentComplete = _visit_action(
    services.complete_appointment,
    summary="Complete the visit",
    description="The doctor's own checked-in appointment (else 409 `invalid_status`).",
    permission=DoctorOnly,
    reach={"doctor": True},
)
AppointmentNoShow = _visit_action(
    services.mark_no_show,
    summary="Mark a no-show",
    description=(
        "The doctor's own booked appointment that nobody checked in, after its start time "
        "(else 422 `too_early`; 409 `invalid_status` if not booked)."
    ),
    permission=DoctorOnly,
    reach={"doctor": True},
)
