"""The reports shown in the admin: each arranges the figures of bookings.reports and
billing.reports into tables (the numbers), a chart (the same numbers, drawn) and a CSV export
(the same numbers again, cell for cell)."""

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext, pgettext_lazy

from billing import reports as money
from bookings import reports as visits
from bookings.models import Appointment, Status
from clinic.charts import Series, bar_chart
from clinic.db_routers import reading_reports
from doctors.models import Clinic, Department, Doctor

MAX_RANGE_DAYS = 731
# Dates far enough from datetime's limits that midnight in any zone, and the day after, exist.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)
STATUS_LABELS = dict(Status.choices)


@dataclass(frozen=True)
class Table:
    key: str
    caption: str
    columns: list
    rows: list  # lists of strings, exactly as shown and exported


@dataclass
class ReportPage:
    tables: list = field(default_factory=list)
    chart: str = ""


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    description: str
    builder: object  # callable(scope, grain) -> ReportPage
    uses_grain: bool = False

    def build(self, scope, grain):
        """The report's page, its queries run with PostgreSQL's JIT compilation off.

        A year of appointments or payments is costed above `jit_above_cost`, so PostgreSQL
        compiled such queries to machine code first: 50 ms for the revenue query on the benchmark
        (bench/README.md), 100-150 ms on a busy machine, more than the compiled code then saves on
        a query that runs once per page. Off for the report's own transaction only (SET LOCAL);
        every other query keeps the server's setting.

        The report reads from the read replica when there is one (clinic.db_routers), so the
        transaction and the setting are that database's.
        """
        with reading_reports():
            database = router.db_for_read(Appointment)
            with transaction.atomic(using=database):
                if connections[database].vendor == "postgresql":
                    with connections[database].cursor() as cursor:
                        cursor.execute("SET LOCAL jit = off")
                return self.builder(scope, grain)


# Cells ------------------------------------------------------------------------------------------


def percent(value):
    return "—" if value is None else f"{value * 100:.1f}%"


def amount(value):
    return f"{value:.2f}"


def hours(minutes):
    return f"{minutes / 60:.1f}"


def period_label(day, grain):
    if grain == "month":
        return day.strftime("%Y-%m")
    if grain == "week":
        return gettext("Week of %(date)s") % {"date": day.isoformat()}
    return day.isoformat()


# The reports -------------------------------------------------------------------------------------


def build_trends(scope, grain):
    rows = visits.trends(scope, grain=grain)
    statuses = [status.value for status in visits.STATUSES]
    labels = [period_label(row["period"], grain) for row in rows]
    status_labels = [str(STATUS_LABELS[s]) for s in statuses]
    table = Table(
        key="trends",
        caption=gettext("Appointments per period by status"),
        columns=[gettext("Period"), *status_labels, gettext("Total")],
        rows=[
            [label, *[str(row[s]) for s in statuses], str(row["total"])]
            for label, row in zip(labels, rows, strict=True)
        ],
    )
    total = sum(row["total"] for row in rows)
    chart = bar_chart(
        chart_id="trends-chart",
        title=gettext("Appointments per period by status"),
        description=gettext(
            "%(total)s appointments over %(periods)s periods; the table has the counts."
        )
        % {"total": total, "periods": len(rows)},
        categories=labels,
        series=[
            Series(label, [row[s] for row in rows])
            for label, s in zip(status_labels, statuses, strict=True)
        ],
        stacked=True,
    )
    return ReportPage(tables=[table], chart=chart)


def _attendance_columns():
    return [
        gettext("Appointments"),
        pgettext("appointments", "Completed"),
        gettext("No-shows"),
        gettext("No-show rate"),
        pgettext("appointments", "Cancelled"),
        gettext("Cancellation rate"),
    ]


def _attendance_cells(row):
    return [
        str(row["total"]),
        str(row["completed"]),
        str(row["no_show"]),
        percent(row["no_show_rate"]),
        str(row["cancelled"]),
        percent(row["cancellation_rate"]),
    ]


def build_attendance(scope, grain):
    departments = visits.attendance_by_department(scope)
    doctors = visits.attendance_by_doctor(scope)
    by_confirmation = visits.attendance_by_confirmation(scope)
    chart = bar_chart(
        chart_id="attendance-chart",
        title=gettext("No-show and cancellation rates by department"),
        description=gettext(
            "Rates in percent per department; no-shows out of appointments whose time came, "
            "cancellations out of all made. Counts are in the tables below."
        ),
        categories=[row["name"] for row in departments],
        series=[
            Series(
                gettext("No-show rate"), [(row["no_show_rate"] or 0) * 100 for row in departments]
            ),
            Series(
                gettext("Cancellation rate"),
                [(row["cancellation_rate"] or 0) * 100 for row in departments],
            ),
        ],
        unit="%",
    )
    return ReportPage(
        tables=[
            Table(
                key="by_department",
                caption=gettext("By department"),
                columns=[gettext("Department"), *_attendance_columns()],
                rows=[[row["name"], *_attendance_cells(row)] for row in departments],
            ),
            Table(
                key="by_doctor",
                caption=gettext("By doctor"),
                columns=[gettext("Doctor"), gettext("Department"), *_attendance_columns()],
                rows=[
                    [row["name"], row["department_name"], *_attendance_cells(row)]
                    for row in doctors
                ],
            ),
            Table(
                key="by_confirmation",
                # Confirmed: the patient said they would come (link, text reply, front desk).
                caption=gettext("By confirmation"),
                columns=[gettext("Attendance"), *_attendance_columns()],
                rows=[[row["name"], *_attendance_cells(row)] for row in by_confirmation],
            ),
        ],
        chart=chart,
    )


def build_utilisation(scope, grain):
    rows = visits.utilisation(scope)
    chart = bar_chart(
        chart_id="utilisation-chart",
        title=gettext("Utilisation per doctor"),
        description=gettext(
            "Booked time as a percentage of offered time per doctor; hours in the table."
        ),
        categories=[row["name"] for row in rows],
        series=[Series(gettext("Utilisation"), [(row["utilisation"] or 0) * 100 for row in rows])],
        unit="%",
    )
    return ReportPage(
        tables=[
            Table(
                key="utilisation",
                caption=gettext("Offered and booked hours per doctor"),
                columns=[
                    gettext("Doctor"),
                    gettext("Department"),
                    gettext("Offered hours"),
                    gettext("Booked hours"),
                    gettext("Utilisation"),
                ],
                rows=[
                    [
                        row["name"],
                        row["department_name"],
                        hours(row["offered_minutes"]),
                        hours(row["booked_minutes"]),
                        percent(row["utilisation"]),
                    ]
                    for row in rows
                ],
            )
        ],
        chart=chart,
    )


def build_lead_times(scope, grain):
    rows = visits.lead_times(scope)
    chart = bar_chart(
        chart_id="lead-chart",
        title=gettext("How far ahead appointments are booked"),
        description=gettext(
            "Appointments per band of days between booking and visit; see the table."
        ),
        categories=[row["band"] for row in rows],
        series=[Series(gettext("Appointments"), [row["count"] for row in rows])],
    )
    return ReportPage(
        tables=[
            Table(
                key="lead_times",
                caption=gettext("Appointments by how far ahead they were booked"),
                columns=[gettext("Booked ahead"), gettext("Appointments"), gettext("Share")],
                rows=[[row["band"], str(row["count"]), percent(row["share"])] for row in rows],
            )
        ],
        chart=chart,
    )


def build_demographics(scope, grain):
    from accounts.models import Patient

    rows = visits.demographics(scope)
    sexes = {value: str(label) for value, label in Patient.Sex.choices}
    bands = [label for label, _, _ in visits.AGE_BANDS]
    # The chart adds the departments' aggregated counts together per band and sex.
    totals = {(band, sex): 0 for band in bands for sex in sexes}
    for row in rows:
        if (row["age_band"], row["sex"]) in totals:
            totals[(row["age_band"], row["sex"])] += row["patients"]
    chart = bar_chart(
        chart_id="demographics-chart",
        title=gettext("Patients seen by age band and sex"),
        description=gettext(
            "Patients with a completed visit, by age band, split by sex; see the table."
        ),
        categories=bands,
        series=[
            Series(label, [totals[(band, sex)] for band in bands]) for sex, label in sexes.items()
        ],
        stacked=True,
    )
    return ReportPage(
        tables=[
            Table(
                key="demographics",
                caption=gettext("Patients seen by department, age band and sex"),
                columns=[
                    gettext("Department"),
                    gettext("Age band"),
                    gettext("Sex"),
                    gettext("Patients"),
                ],
                rows=[
                    [
                        row["department_name"],
                        row["age_band"],
                        sexes.get(row["sex"], row["sex"]),
                        str(row["patients"]),
                    ]
                    for row in rows
                ],
            )
        ],
        chart=chart,
    )


def _money_columns():
    return [
        gettext("Fees received"),
        gettext("GST received"),
        gettext("Total received"),
        pgettext("money", "Refunded"),
        gettext("Net"),
    ]


def _money_cells(row):
    return [amount(row[key]) for key in ("fees", "gst", "received", "refunded", "net")]


def build_revenue(scope, grain):
    figures = money.revenue(scope, grain=grain)
    by_period = figures["by_period"]
    labels = [period_label(row["period"], grain) for row in by_period]
    chart = bar_chart(
        chart_id="revenue-chart",
        title=gettext("Money received and refunded per period"),
        description=gettext(
            "Totals received (fee and GST) and refunded per period; see the tables."
        ),
        categories=labels,
        series=[
            Series(pgettext("money", "Received"), [row["received"] for row in by_period]),
            Series(pgettext("money", "Refunded"), [row["refunded"] for row in by_period]),
        ],
    )
    return ReportPage(
        tables=[
            Table(
                key="by_period",
                caption=gettext("Per period"),
                columns=[gettext("Period"), *_money_columns()],
                rows=[
                    [label, *_money_cells(row)]
                    for label, row in zip(labels, by_period, strict=True)
                ],
            ),
            Table(
                key="by_doctor",
                caption=gettext("By doctor"),
                columns=[gettext("Doctor"), gettext("Department"), *_money_columns()],
                rows=[
                    [row["name"], row["department_name"], *_money_cells(row)]
                    for row in figures["by_doctor"]
                ],
            ),
            Table(
                key="by_department",
                caption=gettext("By department"),
                columns=[gettext("Department"), *_money_columns()],
                rows=[[row["name"], *_money_cells(row)] for row in figures["by_department"]],
            ),
        ],
        chart=chart,
    )


REPORTS = {
    report.slug: report
    for report in [
        Report(
            "trends",
            gettext_lazy("Appointment trends"),
            gettext_lazy("Appointments per day, week or month, by status."),
            build_trends,
            uses_grain=True,
        ),
        Report(
            "attendance",
            gettext_lazy("No-shows and cancellations"),
            gettext_lazy(
                "No-show and cancellation rates by department, by doctor, and for confirmed and "
                "unconfirmed appointments, with their counts."
            ),
            build_attendance,
        ),
        Report(
            "utilisation",
            gettext_lazy("Utilisation"),
            gettext_lazy(
                "Booked time over offered time (working hours less holidays and time off) per "
                "doctor."
            ),
            build_utilisation,
        ),
        Report(
            "lead-times",
            gettext_lazy("Lead time"),
            gettext_lazy("How far ahead patients book."),
            build_lead_times,
        ),
        Report(
            "demographics",
            gettext_lazy("Patient demographics"),
            gettext_lazy("Age bands and sex of patients seen, by department."),
            build_demographics,
        ),
        Report(
            "revenue",
            gettext_lazy("Revenue"),
            gettext_lazy(
                "Fees, GST, refunds and net received, per period, by doctor and by department."
            ),
            build_revenue,
            uses_grain=True,
        ),
    ]
}


# Filters -----------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class ReportFilterForm(forms.Form):
    # <input type="date"> takes only ISO dates; en-gb's 25/11/2026 would leave it empty.
    start = forms.DateField(label=pgettext_lazy("a date range", "From"), widget=DateInput)
    end = forms.DateField(label=pgettext_lazy("a date range", "To"), widget=DateInput)
    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.order_by("name"),
        required=False,
        label=gettext_lazy("Clinic"),
        empty_label=gettext_lazy("All clinics"),
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"),
        required=False,
        label=gettext_lazy("Department"),
        empty_label=gettext_lazy("All departments"),
    )
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.order_by("full_name"),
        required=False,
        label=gettext_lazy("Doctor"),
        empty_label=gettext_lazy("All doctors"),
    )
    grain = forms.ChoiceField(
        label=pgettext_lazy("a report's figures per day, week or month", "Per"),
        choices=[
            ("day", gettext_lazy("Day")),
            ("week", gettext_lazy("Week")),
            ("month", gettext_lazy("Month")),
        ],
        initial="week",
        required=False,
    )

    @classmethod
    def defaults(cls):
        today = timezone.localdate()
        return {"start": today - dt.timedelta(days=89), "end": today, "grain": "week"}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        for name, day in (("start", start), ("end", end)):
            if day and not EARLIEST_DATE <= day <= LATEST_DATE:
                self.add_error(name, gettext("Choose a date between the years 1900 and 2999."))
                start = end = None
        if start and end:
            if end < start:
                raise ValidationError(gettext("The end date must be on or after the start date."))
            if (end - start).days >= MAX_RANGE_DAYS:
                raise ValidationError(gettext("Choose a range of at most two years."))
        cleaned["grain"] = cleaned.get("grain") or "week"
        return cleaned

    def scope(self):
        data = self.cleaned_data
        return visits.Scope(
            first=data["start"],
            last=data["end"],
            clinic=data.get("clinic"),
            department=data.get("department"),
            doctor=data.get("doctor"),
        )
