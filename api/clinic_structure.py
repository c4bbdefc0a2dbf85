"""Departments and doctors: public reads, and the clinic admin's writes.

The writes go through the models' own checks, as the admin's forms do: `full_clean()` runs each
model's `clean()` (a department closing after it opens, a registration number compared without
regard to case) and its constraints (unique names, fee and slot ranges), and a row that a
concurrent request saved first is the same field error, never a 500. Doctors are deactivated,
never deleted (their appointments and ledger keep pointing at them); a department that still has
doctors is not deleted either (409 "department_has_doctors").
"""

import copy

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as ModelValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, ProtectedError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import roles_of
from api import views
from api.errors import ApiError
from api.permissions import IsClinicAdmin
from api.serializers import HH_MM, ClinicRefSerializer, DepartmentSerializer, DoctorSerializer
from doctors import selectors
from doctors.models import Department, Doctor, Weekday, WorkingHours

ADMIN_ONLY = "Clinic admins only."


class PublicReadAdminWrite(AllowAny):
    """Anyone reads; only clinic admins write. A method the endpoint lacks is 405 for anyone,
    as it was while these endpoints were read-only."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS or not hasattr(view, request.method.lower()):
            return True
        return IsClinicAdmin().has_permission(request, view)


def model_errors(error):
    """The API's field errors from the ValidationError of a model's full_clean() (always by
    field; the whole object's problems under NON_FIELD_ERRORS)."""
    return {
        ("non_field_errors" if name == NON_FIELD_ERRORS else name): messages
        for name, messages in error.message_dict.items()
    }


class ModelCheckedSerializer(serializers.ModelSerializer):
    """Validates the changed object as the admin's form would (`full_clean()`), on a copy, so
    a refused edit leaves the instance as it was. `save()` writes the checked copy."""

    def validate(self, attrs):
        candidate = copy.copy(self.instance) if self.instance else self.Meta.model()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            candidate.full_clean()
        except ModelValidationError as error:
            raise ValidationError(model_errors(error)) from None
        self.candidate = candidate
        return attrs

    def save(self, **kwargs):
        candidate = self.candidate
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:
            # Another request saved the same name or number (or deleted the department) between
            # our check and our write: checked again now, it is the error the check would give.
            try:
                candidate.full_clean()
            except ModelValidationError as error:
                raise ValidationError(model_errors(error)) from None
            raise ApiError(
                "This changed while you were changing it. Read it again, then retry.",
                code="conflict",
                status_code=status.HTTP_409_CONFLICT,
            ) from None
        self.instance = candidate
        return candidate


# Departments ----------------------------------------------------------------------------------


class DepartmentWriteSerializer(ModelCheckedSerializer):
    # Declared, not generated: the model's own checks word the "name taken" error (any case).
    name = serializers.CharField(max_length=100)
    opens_at = serializers.TimeField(
        format=HH_MM, input_formats=[HH_MM], help_text="24-hour HH:MM, e.g. 09:00."
    )
    closes_at = serializers.TimeField(
        format=HH_MM,
        input_formats=[HH_MM],
        help_text="24-hour HH:MM, after opens_at (the same day).",
    )

    class Meta:
        model = Department
        fields = ["name", "description", "opens_at", "closes_at"]


DEPARTMENT_EXAMPLE = OpenApiExample(
    "A department",
    value={
        "name": "Cardiology",
        "description": "Heart and circulation.",
        "opens_at": "09:00",
        "closes_at": "17:30",
    },
    request_only=True,
)


def department_answer(pk, status_code=status.HTTP_200_OK):
    department = selectors.departments_with_doctor_counts().get(pk=pk)
    headers = {}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = reverse("api:department", kwargs={"pk": pk})
    return Response(DepartmentSerializer(department).data, status=status_code, headers=headers)


@extend_schema_view(
    get=extend_schema(
        summary="List departments",
        description="Departments in name order, each with the number of doctors a patient can "
        "book now. Public.",
    )
)
class Departments(views.DepartmentList):
    permission_classes = [PublicReadAdminWrite]

    @extend_schema(
        summary="Add a department",
        description=f"{ADMIN_ONLY} Operating hours are 24-hour `HH:MM`; the closing time must "
        "be after the opening time. Names are unique whatever their case.",
        request=DepartmentWriteSerializer,
        responses={201: DepartmentSerializer},
        examples=[DEPARTMENT_EXAMPLE],
    )
    def post(self, request):
        checked = DepartmentWriteSerializer(data=request.data)
        checked.is_valid(raise_exception=True)
        department = checked.save()
        return department_answer(department.pk, status.HTTP_201_CREATED)


class DepartmentDetail(APIView):
    permission_classes = [PublicReadAdminWrite]

    @extend_schema(
        summary="Get a department",
        description="Public. `bookable_doctors` counts the doctors a patient can book now.",
        responses=DepartmentSerializer,
    )
    def get(self, request, pk):
        get_object_or_404(Department, pk=pk)
        return department_answer(pk)

    def _edit(self, request, pk, *, partial):
        department = get_object_or_404(Department, pk=pk)
        checked = DepartmentWriteSerializer(department, data=request.data, partial=partial)
        checked.is_valid(raise_exception=True)
        checked.save()
        return department_answer(pk)

    @extend_schema(
        summary="Replace a department",
        description=f"{ADMIN_ONLY} Every field is sent; as for adding one.",
        request=DepartmentWriteSerializer,
        responses=DepartmentSerializer,
        examples=[DEPARTMENT_EXAMPLE],
    )
    def put(self, request, pk):
        return self._edit(request, pk, partial=False)

    @extend_schema(
        summary="Edit a department",
        description=f"{ADMIN_ONLY} Only the fields sent change; the hours are checked together "
        "with the saved ones (closing after opening).",
        request=DepartmentWriteSerializer(partial=True),
        responses=DepartmentSerializer,
        examples=[OpenApiExample("Longer hours", value={"closes_at": "19:00"}, request_only=True)],
    )
    def patch(self, request, pk):
        return self._edit(request, pk, partial=True)

    @extend_schema(
        summary="Delete a department",
        description=f"{ADMIN_ONLY} Refused with 409 `department_has_doctors` while any doctor, "
        "active or not, belongs to it: move them to another department first.",
        responses={204: None},
    )
    def delete(self, request, pk):
        department = get_object_or_404(Department, pk=pk)
        try:
            with transaction.atomic():
                department.delete()
        except ProtectedError:
            raise ApiError(
                "This department still has doctors, active or not. Move them to another "
                "department before deleting it.",
                code="department_has_doctors",
                status_code=status.HTTP_409_CONFLICT,
            ) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


# Doctors --------------------------------------------------------------------------------------


class WorkingHoursSerializer(serializers.Serializer):
    clinic = ClinicRefSerializer()
    weekday = serializers.ChoiceField(choices=Weekday.choices, help_text="0 is Monday.")
    weekday_name = serializers.CharField(source="get_weekday_display")
    starts_at = serializers.TimeField(format=HH_MM, help_text="The clinic's local time.")
    ends_at = serializers.TimeField(format=HH_MM, help_text="The clinic's local time.")


class DoctorDetailSerializer(DoctorSerializer):
    """A doctor as their public page shows them."""

    working_hours = serializers.SerializerMethodField(
        help_text="The doctor's week, Monday first, in each clinic's local time. Read-only "
        "here: clinic admins set hours in the admin."
    )
    takes_bookings = serializers.SerializerMethodField(
        help_text="Whether a patient can book this doctor now (active, registration valid on "
        "the clinic's date)."
    )

    class Meta(DoctorSerializer.Meta):
        fields = [
            *DoctorSerializer.Meta.fields,
            "bio",
            "registration_number",
            "working_hours",
            "takes_bookings",
        ]

    def get_working_hours(self, doctor) -> list[dict]:
        rows = sorted(doctor.working_hours.all(), key=lambda row: (row.weekday, row.starts_at))
        return WorkingHoursSerializer(rows, many=True).data

    def get_takes_bookings(self, doctor) -> bool:
        now = timezone.now()
        return any(
            selectors.takes_bookings_at(doctor, clinic, now)
            for clinic in selectors.clinics_of(doctor)
        )


class DoctorAdminSerializer(DoctorDetailSerializer):
    """What a clinic admin sees of a doctor: the registration's expiry and the active flag too."""

    class Meta(DoctorDetailSerializer.Meta):
        fields = [
            *DoctorDetailSerializer.Meta.fields,
            "registration_expires_on",
            "is_active",
            "created_at",
            "updated_at",
        ]


class DoctorWriteSerializer(ModelCheckedSerializer):
    # Declared, not generated: uniqueness is judged by the model after clean() has put the
    # number in capitals, as the admin judges it (REG-1 and reg-1 are one registration).
    registration_number = serializers.CharField(
        max_length=50, help_text="Unique, whatever its case; kept in capitals."
    )
    department = serializers.PrimaryKeyRelatedField(queryset=Department.objects.all())
    consultation_fee = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        help_text='Before GST, as a decimal string with up to 2 places, e.g. "500.00".',
    )

    class Meta:
        model = Doctor
        fields = [
            "full_name",
            "department",
            "qualifications",
            "bio",
            "registration_number",
            "registration_expires_on",
            "consultation_fee",
            "slot_minutes",
            "is_active",
        ]


DOCTOR_EXAMPLE = OpenApiExample(
    "A doctor",
    value={
        "full_name": "Dr Meera Nair",
        "department": 1,
        "qualifications": "MBBS, MD",
        "bio": "",
        "registration_number": "KMC-123456",
        "registration_expires_on": "2028-03-31",
        "consultation_fee": "500.00",
        "slot_minutes": 15,
    },
    request_only=True,
)


def _with_week(doctors):
    hours = WorkingHours.objects.select_related("clinic").order_by("weekday", "starts_at")
    return doctors.select_related("department").prefetch_related(
        Prefetch("working_hours", queryset=hours)
    )


def doctor_answer(pk, status_code=status.HTTP_200_OK):
    doctor = _with_week(Doctor.objects.all()).get(pk=pk)
    headers = {}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = reverse("api:doctor", kwargs={"pk": pk})
    return Response(DoctorAdminSerializer(doctor).data, status=status_code, headers=headers)


@extend_schema_view(
    get=extend_schema(
        summary="List bookable doctors",
        description="Public. The doctors a patient can book now (active, registration valid), "
        "by name; `department` filters.",
    )
)
class Doctors(views.DoctorList):
    permission_classes = [PublicReadAdminWrite]

    @extend_schema(
        summary="Register a doctor",
        description=f"{ADMIN_ONLY} The registration number is unique whatever its case (kept "
        "in capitals); the fee is a decimal string with up to 2 places; a slot lasts 5 to 240 "
        "minutes. Working hours and the doctor's login are set in the admin.",
        request=DoctorWriteSerializer,
        responses={201: DoctorAdminSerializer},
        examples=[DOCTOR_EXAMPLE],
    )
    def post(self, request):
        checked = DoctorWriteSerializer(data=request.data)
        checked.is_valid(raise_exception=True)
        doctor = checked.save()
        return doctor_answer(doctor.pk, status.HTTP_201_CREATED)


class DoctorDetail(APIView):
    permission_classes = [PublicReadAdminWrite]

    @extend_schema(
        summary="Get a doctor",
        description="Public: an active doctor as their page shows them (404 for an inactive "
        "one), with the week's working hours. A clinic admin gets any doctor, with "
        "`registration_expires_on`, `is_active`, `created_at` and `updated_at` as well (the "
        "`DoctorAdmin` shape that registering and editing answer).",
        responses=DoctorDetailSerializer,
    )
    def get(self, request, pk):
        if roles_of(request.user).is_clinic_admin:
            return doctor_answer(pk) if Doctor.objects.filter(pk=pk).exists() else _no_doctor()
        try:
            doctor = selectors.public_doctor(pk)
        except Doctor.DoesNotExist:
            return _no_doctor()
        return Response(DoctorDetailSerializer(doctor).data)

    def _edit(self, request, pk, *, partial):
        doctor = get_object_or_404(Doctor, pk=pk)
        checked = DoctorWriteSerializer(doctor, data=request.data, partial=partial)
        checked.is_valid(raise_exception=True)
        checked.save()
        return doctor_answer(pk)

    @extend_schema(
        summary="Replace a doctor's details",
        description=f"{ADMIN_ONLY} Every field is sent; as for registering one.",
        request=DoctorWriteSerializer,
        responses=DoctorAdminSerializer,
        examples=[DOCTOR_EXAMPLE],
    )
    def put(self, request, pk):
        return self._edit(request, pk, partial=False)

    @extend_schema(
        summary="Edit a doctor",
        description=f"{ADMIN_ONLY} Only the fields sent change. `is_active: true` takes an "
        "inactive doctor back.",
        request=DoctorWriteSerializer(partial=True),
        responses=DoctorAdminSerializer,
        examples=[
            OpenApiExample("A new fee", value={"consultation_fee": "650.00"}, request_only=True)
        ],
    )
    def patch(self, request, pk):
        return self._edit(request, pk, partial=True)


def _no_doctor():
    raise ApiError("No such doctor.", code="not_found", status_code=status.HTTP_404_NOT_FOUND)


class DoctorDeactivate(APIView):
    permission_classes = [IsClinicAdmin]

    @extend_schema(
        summary="Deactivate a doctor",
        description=f"{ADMIN_ONLY} The doctor is hidden and takes no new bookings; their "
        "appointments and payments stay as they are (doctors are never deleted). Doing it again "
        "changes nothing. `PATCH` with `is_active: true` takes them back.",
        request=None,
        responses=DoctorAdminSerializer,
    )
    def post(self, request, pk):
        doctor = get_object_or_404(Doctor, pk=pk)
        checked = DoctorWriteSerializer(doctor, data={"is_active": False}, partial=True)
        checked.is_valid(raise_exception=True)
        checked.save()
        return doctor_answer(pk)
