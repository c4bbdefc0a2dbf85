"""Revenue for the clinic's reports: money received and refunded, from the ledger, by aggregate
queries (a fixed number whatever the range). Uses bookings' report Scope for the filters; a
payment belongs to the range and period in which it was recorded, in the calendar of the clinic
of its appointment."""

from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import Payment
from bookings.reports import GRAINS, as_date, periods

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _ledger(scope):
    entries = Payment.objects.filter(
        scope.during("recorded_at", clinic="charge__appointment__clinic")
    )
    if scope.clinic is not None:
        entries = entries.filter(charge__appointment__clinic=scope.clinic)
    if scope.department is not None:
        entries = entries.filter(charge__appointment__doctor__department=scope.department)
    if scope.doctor is not None:
        entries = entries.filter(charge__appointment__doctor=scope.doctor)
    return entries


def _sums():
    def total(field, kind):
        return Coalesce(Sum(field, filter=Q(kind=kind)), Value(ZERO), output_field=MONEY)

    return {
        "fees": total("fee", Payment.Kind.PAYMENT),
        "gst": total("gst", Payment.Kind.PAYMENT),
        "received": total("total", Payment.Kind.PAYMENT),
        "refunded": total("total", Payment.Kind.REFUND),
    }


def _with_net(row):
    return {**row, "net": row["received"] - row["refunded"]}


def revenue_by_period(scope, *, grain):
    """[{"period", "fees", "gst", "received", "refunded", "net"}] for every period. One query."""
    if grain not in GRAINS:
        raise ValueError(f"Unknown period {grain!r}")
    rows = (
        _ledger(scope)
        .annotate(
            period=scope.period("recorded_at", grain, clinic="charge__appointment__clinic")
        )
        .values("period")
        .annotate(**_sums())
        .order_by("period")
    )
    found = {as_date(row["period"]): row for row in rows}
    empty = {key: ZERO for key in ("fees", "gst", "received", "refunded")}
    return [
        _with_net({"period": period, **{key: found.get(period, empty)[key] for key in empty}})
        for period in periods(scope, grain)
    ]


def revenue_by_doctor(scope):
    rows = (
        _ledger(scope)
        .values(
            "charge__appointment__doctor",
            name=F("charge__appointment__doctor__full_name"),
            department_name=F("charge__appointment__doctor__department__name"),
        )
        .annotate(**_sums())
        .order_by("name", "charge__appointment__doctor")
    )
    return [_with_net(row) for row in rows]


def revenue_by_department(scope):
    rows = (
        _ledger(scope)
        .values(
            "charge__appointment__doctor__department",
            name=F("charge__appointment__doctor__department__name"),
        )
        .annotate(**_sums())
        .order_by("name")
    )
    return [_with_net(row) for row in rows]
