"""Reads of charges and the ledger for pages and receipts."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import Charge, Payment
from billing.money import to_money

ZERO = Decimal("0.00")


def amount_due(*, total, paid):
    """What is left to pay on a charge of `total` once `paid` has come in as payments.

    Refunds do not enter it: a refund is money the clinic chose to give back, so it is never
    owed again (else a part refund would ask for the same money back at the desk).
    """
    return max(to_money(total - paid), ZERO)


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
        return amount_due(total=self.charge.total, paid=self.paid)


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
    """A patient's charges with paid, refunded and due amounts, newest appointment first."""
    charges = list(
        Charge.objects.filter(appointment__patient=patient)
        .select_related("appointment__doctor", "appointment__clinic")
        .annotate(paid=_sum(Payment.Kind.PAYMENT), refunded=_sum(Payment.Kind.REFUND))
        .order_by("-appointment__start")
    )
    for charge in charges:
        charge.due = amount_due(total=charge.total, paid=charge.paid)
    return charges


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
