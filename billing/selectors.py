"""Reads of charges and the ledger for pages and receipts."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    DecimalField,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round
from django.utils.translation import gettext_lazy

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


class ChargeStatus(TextChoices):
    """Where a charge's money stands, in order of precedence: for a cancelled visit, whether
    money must go back comes before anything about what is due."""

    DUE = "due", gettext_lazy("To pay at the clinic (or online)")
    PAID = "paid", gettext_lazy("Nothing left to pay")
    REFUND_DUE = "refund_due", gettext_lazy("Cancelled after it was paid for; a refund is due")
    CANCELLED = "cancelled", gettext_lazy("Cancelled; nothing to pay")


def with_money(charges):
    """`charges` annotated with `paid`, `refunded` and `money_status` (a ChargeStatus), in SQL so
    that a list can filter and page on them.

    "Nothing is due" is amount_due() == 0 said in SQL: paid reaches the total. Rounded to the
    paisa as amount_due rounds, because SQLite sums decimals as floats (0.02 + 0.04 + 0.01 comes
    out under 0.07); billing/tests/test_balance.py holds the two in agreement.
    """
    cancelled = Q(appointment__status="cancelled")
    return charges.annotate(
        paid=_sum(Payment.Kind.PAYMENT), refunded=_sum(Payment.Kind.REFUND)
    ).annotate(
        money_status=Case(
            When(cancelled & Q(refund_due=True), then=Value(ChargeStatus.REFUND_DUE)),
            When(cancelled, then=Value(ChargeStatus.CANCELLED)),
            When(total__lte=Round(F("paid"), precision=2), then=Value(ChargeStatus.PAID)),
            default=Value(ChargeStatus.DUE),
            output_field=CharField(),
        )
    )


def charges_of_patient(patient):
    """A patient's charges with paid, refunded and due amounts and their money_status, newest
    appointment first."""
    charges = list(
        with_money(Charge.objects.filter(appointment__patient=patient))
        .select_related("appointment__doctor", "appointment__clinic")
        .order_by("-appointment__start")
    )
    for charge in charges:
        charge.due = amount_due(total=charge.total, paid=charge.paid)
    return charges


class EntryStatus(TextChoices):
    """Where a ledger entry stands: a payment by how much of it was given back; a refund is one."""

    PAID = "paid", gettext_lazy("Paid")
    PARTLY_REFUNDED = "partly_refunded", gettext_lazy("Partly refunded")
    REFUNDED = "refunded", gettext_lazy("Refunded")
    REFUND = "refund", gettext_lazy("A refund")


def with_refunds(entries):
    """Ledger `entries` annotated with `refunded` (what has been given back of each payment),
    `refundable` (what services.refundable() allows: its total less its refunds; nothing for a
    refund) and `entry_status` (an EntryStatus), in SQL so that lists need no query per row."""
    money = DecimalField(max_digits=10, decimal_places=2)
    zero = Value(ZERO, output_field=money)
    given_back = Coalesce(
        Subquery(
            Payment.objects.filter(refund_of=OuterRef("pk"))
            .values("refund_of")
            .annotate(amount=Sum("total"))
            .values("amount")
        ),
        zero,
        output_field=money,
    )
    return entries.annotate(refunded=given_back).annotate(
        refundable=Case(
            When(kind=Payment.Kind.REFUND, then=zero),
            default=F("total") - F("refunded"),
            output_field=money,
        ),
        entry_status=Case(
            When(kind=Payment.Kind.REFUND, then=Value(EntryStatus.REFUND)),
            When(refunded__lte=0, then=Value(EntryStatus.PAID)),
            When(total__lte=F("refunded"), then=Value(EntryStatus.REFUNDED)),
            default=Value(EntryStatus.PARTLY_REFUNDED),
            output_field=CharField(),
        ),
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
