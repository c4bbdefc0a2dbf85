"""Reads of charges and the ledger for pages and receipts."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import Charge, Payment

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MoneySummary:
    charge: Charge
    paid: Decimal
    refunded: Decimal
    entries: list  # the charge's ledger rows, in order

    @property
    def net_paid(self):
        return self.paid - self.refunded

    @property
    def due(self):
        return self.charge.total - self.net_paid


def _sum(kind):
    return Coalesce(
        Sum("ledger__total", filter=Q(ledger__kind=kind)),
        Value(ZERO),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )


def money_summary(appointment):
    """Charge, totals and ledger of one appointment (None when it has no charge): two queries."""
    charge = Charge.objects.filter(appointment=appointment).first()
    if charge is None:
        return None
    entries = list(
        charge.ledger.select_related("recorded_by", "refund_of").order_by("recorded_at", "pk")
    )
    paid = sum((e.total for e in entries if e.kind == Payment.Kind.PAYMENT), ZERO)
    refunded = sum((e.total for e in entries if e.kind == Payment.Kind.REFUND), ZERO)
    return MoneySummary(charge=charge, paid=paid, refunded=refunded, entries=entries)


def charges_of_patient(patient):
    """A patient's charges with paid and refunded totals, newest appointment first."""
    return (
        Charge.objects.filter(appointment__patient=patient)
        .select_related("appointment__doctor", "appointment__clinic")
        .annotate(paid=_sum(Payment.Kind.PAYMENT), refunded=_sum(Payment.Kind.REFUND))
        .annotate(due=F("total") - F("paid") + F("refunded"))
        .order_by("-appointment__start")
    )


def ledger_of_patient(patient):
    return (
        Payment.objects.filter(charge__appointment__patient=patient)
        .select_related("charge__appointment__doctor")
        .order_by("-recorded_at", "-pk")
    )


def receipt(pk):
    return Payment.objects.select_related(
        "charge__appointment__patient",
        "charge__appointment__doctor__department",
        "charge__appointment__clinic",
        "refund_of",
        "recorded_by",
    ).get(pk=pk)
