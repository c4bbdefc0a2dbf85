"""Transactions: charges, what each appointment costs and where its money stands.

A patient reads only their own charges (another's answers 404); the front desk, clinic admins
and integrations (a login with the Front desk role) read every charge; doctors none, as their
pages show no money. What was paid and refunded is billing's own sum of the ledger, and what is
due is `billing.selectors.amount_due`, as the patient's "My payments" page shows them.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import record_view
from api.appointments import ClinicRefSerializer, DoctorRefSerializer
from api.permissions import PatientOrStaff, is_staff, patient_of
from api.times import AwareDateTimeField, ClinicTimeField
from billing import selectors
from billing.models import Charge, Payment
from bookings.models import Status

MONEY = {"max_digits": 12, "decimal_places": 2}
ID = {"min_value": 1, "max_value": 2**31 - 1}


ChargeStatus = selectors.ChargeStatus


def charges(user):
    """The charges `user` may read, newest appointment first, each with `paid`, `refunded` and
    `status` (in SQL, so that lists filter and page on them) and its ledger prefetched: a fixed
    number of queries for any number of rows."""
    patient = patient_of(user)
    if is_staff(user):
        found = Charge.objects.all()
    elif patient is not None:
        found = Charge.objects.filter(appointment__patient=patient)
    else:
        found = Charge.objects.none()
    # billing's own sums of the ledger and its status, the ones the "My payments" page shows.
    found = selectors.with_money(found)
    ledger = Payment.objects.order_by("recorded_at", "pk").only(
        "id", "charge_id", "kind", "total", "receipt_number"
    )
    return (
        found.select_related(
            "appointment__clinic",
            "appointment__doctor__department",
        )
        .prefetch_related(Prefetch("ledger", queryset=ledger))
        .order_by("-appointment__start", "-pk")
    )


class ReceiptRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="GET /api/v1/payments/{id}/ gives its receipt.")
    receipt_number = serializers.CharField(source="receipt_label", help_text="e.g. R-000042")
    kind = serializers.ChoiceField(choices=Payment.Kind.choices)
    total = serializers.DecimalField(max_digits=10, decimal_places=2)


class ChargeSerializer(serializers.ModelSerializer):
    appointment = serializers.IntegerField(source="appointment_id")
    appointment_start = ClinicTimeField(source="appointment.start", clinic="appointment.clinic")
    appointment_status = serializers.ChoiceField(
        source="appointment.status", choices=Status.choices
    )
    patient = serializers.IntegerField(
        source="appointment.patient_id", help_text="The patient's directory id."
    )
    doctor = DoctorRefSerializer(source="appointment.doctor")
    clinic = ClinicRefSerializer(source="appointment.clinic")
    gst_percent = serializers.DecimalField(
        max_digits=7, decimal_places=2, help_text="The rate fixed at booking, e.g. 18.00."
    )
    paid = serializers.DecimalField(**MONEY, help_text="The sum of its payments.")
    refunded = serializers.DecimalField(**MONEY, help_text="The sum of its refunds.")
    due = serializers.SerializerMethodField(
        help_text="The total less what was paid (refunds do not add to it), never below 0.00. "
        "A cancelled appointment takes no payment: read `status` first."
    )
    status = serializers.ChoiceField(
        source="money_status",
        choices=ChargeStatus.choices,
        help_text="due, paid; for a cancelled appointment refund_due (it had been paid for) "
        "or cancelled.",
    )
    receipts = ReceiptRefSerializer(
        source="ledger", many=True, help_text="Its payments and refunds, oldest first."
    )
    created_at = ClinicTimeField(clinic="appointment.clinic")

    class Meta:
        model = Charge
        fields = [
            "id",
            "appointment",
            "appointment_start",
            "appointment_status",
            "patient",
            "doctor",
            "clinic",
            "fee",
            "gst",
            "gst_percent",
            "total",
            "currency",
            "paid",
            "refunded",
            "due",
            "status",
            "receipts",
            "created_at",
        ]

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_due(self, charge):
        due = selectors.amount_due(total=charge.total, paid=charge.paid)
        return serializers.DecimalField(**MONEY).to_representation(due)


class ChargeFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(
        required=False, help_text="Staff: one patient's charges (directory id).", **ID
    )
    appointment = serializers.IntegerField(required=False, help_text="One appointment's.", **ID)
    doctor = serializers.IntegerField(required=False, help_text="One doctor's.", **ID)
    status = serializers.ChoiceField(choices=ChargeStatus.choices, required=False)
    start_after = AwareDateTimeField(
        required=False,
        help_text="Appointments starting at or after this instant (ISO 8601 with offset).",
    )
    start_before = AwareDateTimeField(
        required=False,
        help_text="Appointments starting before this instant (ISO 8601 with offset).",
    )

    def validate(self, attrs):
        after, before = attrs.get("start_after"), attrs.get("start_before")
        if after and before and before <= after:
            raise serializers.ValidationError(
                {"start_before": ["Give an instant after start_after."]}
            )
        return attrs


FILTERS = {
    "patient": "appointment__patient_id",
    "appointment": "appointment_id",
    "doctor": "appointment__doctor_id",
    "status": "money_status",
    "start_after": "appointment__start__gte",
    "start_before": "appointment__start__lt",
}


@extend_schema(
    summary="List charges",
    description="What each appointment costs (fee, GST, total) and where its money stands (paid, "
    "refunded, due, status, the receipts of its payments and refunds), newest appointment "
    "first, paged. A patient gets their own charges; the front desk, clinic admins and "
    "integrations get every charge and may filter by patient, appointment, doctor, status and "
    "when the appointment starts. Doctors may not read charges.",
    parameters=[ChargeFilterSerializer],
)
class Charges(generics.ListAPIView):
    permission_classes = [PatientOrStaff]
    serializer_class = ChargeSerializer

    def get_queryset(self):
        filters = ChargeFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        lookups = {FILTERS[name]: value for name, value in filters.validated_data.items()}
        return charges(self.request.user).filter(**lookups)


class ChargeDetail(APIView):
    permission_classes = [PatientOrStaff]

    @extend_schema(
        summary="Get a charge",
        description="One appointment's charge and where its money stands. A patient gets only "
        "their own (404 otherwise). Each reading is recorded in the audit trail, as a receipt's "
        "is.",
        responses=ChargeSerializer,
    )
    def get(self, request, pk):
        charge = get_object_or_404(charges(request.user), pk=pk)
        record_view(charge)
        return Response(ChargeSerializer(charge).data)
