"""Revenue for the clinic's reports: money received and refunded, from the ledger, by aggregate
queries (a fixed number whatever the range). Uses bookings' report Scope for the filters; a
payment belongs to the range and period in which it was recorded, in the calendar of the clinic
of its appointment. The ledger rows carry that clinic and doctor themselves, so a year of them is
read from one table."""

from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import Payment
from bookings.reports import GRAINS, as_date, periods
from doctors.models import Doctor

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _ledger(scope):
    entries = Payment.objects.filter(scope.during("recorded_at"))
    if scope.clinic is not None:
        entries = entries.filter(clinic=scope.clinic)
    if scope.department is not None:
        entries = entries.filter(doctor__department=scope.department)
    if scope.doctor is not None:
        entries = entries.filter(doctor=scope.doctor)
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


MONEY_KEYS = ("fees", "gst", "received", "refunded")


def _added(rows):
    totals = dict.fromkeys(MONEY_KEYS, ZERO)
    for row in rows:
        for key in MONEY_KEYS:
            totals[key] += row[key]
    return totals


def revenue(scope, *, grain):
    """Revenue per period, by doctor and by department: {"by_period", "by_doctor",
    "by_department"}, rows as the functions below give them.

    The ledger is read once, summed in the database per period and doctor (at most periods x
    doctors rows, whatever the number of payments); the three views add those sums up. A second
    query names the doctors and their departments.
    """
    if grain not in GRAINS:
        raise ValueError(f"Unknown period {grain!r}")
    cube = list(
        _ledger(scope)
        .annotate(period=scope.period("recorded_at", grain))
        .values("period", "doctor")
        .annotate(**_sums())
        .order_by()
    )
    doctors = {
        row["pk"]: row
        for row in Doctor.objects.filter(pk__in={row["doctor"] for row in cube}).values(
            "pk", "full_name", "department", department_name=F("department__name")
        )
    }

    by_period = {}
    by_doctor = {}
    by_department = {}
    for row in cube:
        doctor = doctors[row["doctor"]]
        by_period.setdefault(as_date(row["period"]), []).append(row)
        by_doctor.setdefault(row["doctor"], []).append(row)
        by_department.setdefault(doctor["department"], []).append(row)

    return {
        "by_period": [
            _with_net({"period": period, **_added(by_period.get(period, []))})
            for period in periods(scope, grain)
        ],
        "by_doctor": sorted(
            (
                _with_net(
                    {
                        "charge__appointment__doctor": pk,
                        "name": doctors[pk]["full_name"],
                        "department_name": doctors[pk]["department_name"],
                        **_added(rows),
                    }
                )
                for pk, rows in by_doctor.items()
            ),
            key=lambda row: (row["name"], row["charge__appointment__doctor"]),
        ),
        "by_department": sorted(
            (
                _with_net(
                    {
                        "charge__appointment__doctor__department": pk,
                        "name": doctors[rows[0]["doctor"]]["department_name"],
                        **_added(rows),
                    }
                )
                for pk, rows in by_department.items()
            ),
            key=lambda row: row["name"],
        ),
    }


def revenue_by_period(scope, *, grain):
    """[{"period", "fees", "gst", "received", "refunded", "net"}] for every period."""
    return revenue(scope, grain=grain)["by_period"]


def revenue_by_doctor(scope):
    return revenue(scope, grain="month")["by_doctor"]


def revenue_by_department(scope):
    return revenue(scope, grain="month")["by_department"]
