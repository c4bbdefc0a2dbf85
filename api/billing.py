"""Transactions: the ledger of payments and refunds, recording a payment, refunding one.

A patient reads only their own entries (another's answers 404); the front desk and clinic admins
(and integrations with the Front desk role) read every entry. Payments are recorded with the
desk's own form and `billing.services.record_payment`; refunds with the refund form and
`billing.services.refund_payment`, so every rule (never more than is due, never more than was
paid, only clinic admins refund) and every refusal's words are the pages'.
"""

from decimal import Decimal

from django.db.models import DecimalField, Value
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import record_view
from api.formdata import cleaned
from api.idempotency import idempotent
from api.permissions import (
    IsClinicAdmin,
    IsFrontDesk,
    PatientOrStaff,
    is_staff,
    patient_of,
)
from api.times import AwareDateTimeField, ClinicTimeField
from billing import selectors, services
from billing.forms import DESK_MODES, RecordPaymentForm, RefundForm
from billing.models import Charge, Payment

MONEY = {"max_digits": 10, "decimal_places": 2}
ZERO = Value(0, output_field=DecimalField(**MONEY))


# Reading the ledger ---------------------------------------------------------------------------


def ledger(user):
    """The entries `user` may read, each with what has been refunded of it: every entry for
    staff, a patient's own otherwise. A fixed number of queries for any number of rows."""
    patient = patient_of(user)
    if is_staff(user):
        entries = Payment.objects.order_by("-recorded_at", "-pk")
    elif patient is not None:
        entries = selectors.ledger_of_patient(patient)
    else:
        entries = Payment.objects.none()
    return selectors.with_refunds(
        entries.select_related(
            "charge__appointment__clinic",
            "charge__appointment__doctor__department",
            "charge__appointment__patient",
            "recorded_by",
        )
    )


class AppointmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    start = ClinicTimeField()
    doctor = serializers.CharField(source="doctor.full_name")
    department = serializers.CharField(source="doctor.department.name")
    clinic = serializers.CharField(source="clinic.name")
    patient_id = serializers.IntegerField()


class PaymentSerializer(serializers.ModelSerializer):
    receipt_number = serializers.CharField(
        source="receipt_label", help_text="As printed on the receipt, e.g. R-000042."
    )
    currency = serializers.CharField(source="charge.currency")
    gst_percent = serializers.DecimalField(
        source="charge.gst_percent", max_digits=7, decimal_places=2, help_text="e.g. 18.00"
    )
    status = serializers.ChoiceField(
        source="entry_status",
        choices=selectors.EntryStatus.choices,
        help_text="A payment: paid, partly_refunded or refunded. A refund: refund.",
    )
    refunded = serializers.DecimalField(
        **MONEY, help_text="A payment: how much of it has been refunded so far."
    )
    refundable = serializers.DecimalField(
        **MONEY, help_text="A payment: how much of it can still be refunded. A refund: 0.00."
    )
    refund_of = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="A refund: the payment it returns money from."
    )
    recorded_at = ClinicTimeField(clinic="charge.appointment.clinic")
    appointment = AppointmentRefSerializer(source="charge.appointment")

    class Meta:
        model = Payment
        fields = [
            "id",
            "receipt_number",
            "kind",
            "mode",
            "fee",
            "gst",
            "gst_percent",
            "total",
            "currency",
            "status",
            "refunded",
            "refundable",
            "refund_of",
            "reference",
            "reason",
            "recorded_at",
            "appointment",
        ]


class ReceiptSerializer(PaymentSerializer):
    """One entry as its printed receipt shows it."""

    patient_name = serializers.CharField(source="charge.appointment.patient.full_name")
    recorded_by = serializers.CharField(
        source="recorded_by.full_name", help_text="Who recorded it at the clinic."
    )

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "patient_name", "recorded_by"]


class LedgerFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(
        required=False, min_value=1, help_text="Staff: one patient's entries (directory id)."
    )
    appointment = serializers.IntegerField(
        required=False, min_value=1, help_text="One appointment's entries."
    )
    kind = serializers.ChoiceField(choices=Payment.Kind.choices, required=False)
    recorded_after = AwareDateTimeField(
        required=False, help_text="Recorded at or after this instant (ISO 8601 with offset)."
    )
    recorded_before = AwareDateTimeField(
        required=False, help_text="Recorded before this instant (ISO 8601 with offset)."
    )

    def validate(self, attrs):
        after, before = attrs.get("recorded_after"), attrs.get("recorded_before")
        if after and before and before <= after:
            raise serializers.ValidationError(
                {"recorded_before": ["Give an instant after recorded_after."]}
            )
        return attrs


FILTERS = {
    "patient": "charge__appointment__patient_id",
    "appointment": "charge__appointment_id",
    "kind": "kind",
    "recorded_after": "recorded_at__gte",
    "recorded_before": "recorded_at__lt",
}


@extend_schema(
    summary="List payments and refunds",
    description="The ledger, newest first, paged. A patient gets their own entries (their "
    "charges' payments and refunds); the front desk, clinic admins and integrations get every "
    "entry and may filter by patient, appointment, kind and when it was recorded. Doctors may "
    "not read the ledger.",
    parameters=[LedgerFilterSerializer],
)
class Payments(generics.ListAPIView):
    permission_classes = [PatientOrStaff]
    serializer_class = PaymentSerializer

    def get_queryset(self):
        filters = LedgerFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        lookups = {FILTERS[name]: value for name, value in filters.validated_data.items()}
        return ledger(self.request.user).filter(**lookups)


class PaymentDetail(APIView):
    permission_classes = [PatientOrStaff]

    @extend_schema(
        summary="Get a receipt",
        description="One payment or refund as its receipt shows it (receipt number, fee, GST, "
        "total, how it was paid). A patient gets only their own (404 otherwise). Each reading "
        "is recorded in the audit trail, as the receipt page's is.",
        responses=ReceiptSerializer,
    )
    def get(self, request, pk):
        entry = get_object_or_404(ledger(request.user), pk=pk)
        record_view(entry)
        return Response(ReceiptSerializer(entry).data)


def entry_answer(request, entry):
    entry = ledger(request.user).get(pk=entry.pk)
    location = reverse("api:payment", kwargs={"pk": entry.pk})
    return Response(
        ReceiptSerializer(entry).data,
        status=status.HTTP_201_CREATED,
        headers={"Location": location},
    )


# Writing the ledger ---------------------------------------------------------------------------


class RecordPaymentSerializer(serializers.Serializer):
    """What the desk's payment form takes (billing.forms.RecordPaymentForm validates it)."""

    amount = serializers.DecimalField(
        **MONEY,
        min_value=Decimal("0.01"),
        help_text='A decimal string such as "590.00"; at most what is still due.',
    )
    mode = serializers.ChoiceField(choices=DESK_MODES, help_text="How the patient paid.")
    reference = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Card slip or UPI transaction number: required for card and upi.",
    )


class RefundSerializer(serializers.Serializer):
    """What the refund form takes (billing.forms.RefundForm validates it)."""

    amount = serializers.DecimalField(
        **MONEY,
        min_value=Decimal("0.01"),
        help_text="At most what is left of the payment (its total less earlier refunds).",
    )
    reason = serializers.CharField(max_length=200, help_text="Kept in the ledger.")


class RecordPayment(APIView):
    permission_classes = [IsFrontDesk]

    @extend_schema(
        summary="Record a payment",
        description="Front desk, clinic admins and integrations: money received at the clinic "
        "for an appointment's charge, never more than is still due (422 `overpayment`), never "
        "for a cancelled appointment (409 `invalid_status`). Answers the receipt. Send an "
        "`Idempotency-Key` so that a retry cannot record the money twice.",
        request=RecordPaymentSerializer,
        responses={201: ReceiptSerializer},
        examples=[
            OpenApiExample("Cash", value={"amount": "590.00", "mode": "cash"}, request_only=True),
            OpenApiExample(
                "UPI",
                value={"amount": "200.00", "mode": "upi", "reference": "UPI-4471-2209"},
                request_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request, appointment_pk):
        charge = get_object_or_404(
            Charge.objects.select_related("appointment"), appointment__pk=appointment_pk
        )
        data = cleaned(RecordPaymentForm, request.data)
        payment = services.record_payment(
            charge=charge,
            amount=data["amount"],
            mode=data["mode"],
            reference=data["reference"],
            by=request.user,
        )
        return entry_answer(request, payment)


class Refund(APIView):
    permission_classes = [IsClinicAdmin]

    @extend_schema(
        summary="Refund a payment",
        description="Clinic admins only: returns money from one payment, in full or in part, "
        "never more than is left of it (422 `over_refund`), with a reason. A new ledger entry "
        "with its own receipt number; the payment itself is never changed. Send an "
        "`Idempotency-Key` so that a retry cannot refund twice.",
        request=RefundSerializer,
        responses={201: ReceiptSerializer},
        examples=[
            OpenApiExample(
                "Part refund",
                value={"amount": "100.00", "reason": "Follow-up not needed"},
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request, pk):
        payment = get_object_or_404(Payment, pk=pk)
        data = cleaned(RefundForm, request.data)
        refund = services.refund_payment(
            payment=payment, amount=data["amount"], reason=data["reason"], by=request.user
        )
        return entry_answer(request, refund)
