"""How the reports ask the database, where the shape of a query decides whether a year of data
takes a fraction of a second or more than one (bench/README.md has the figures). What the reports
answer is tested in test_reports.py; here, the queries that answer it."""

import dataclasses
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import reports as money
from billing.tests.factories import PaymentFactory
from bookings import reports
from bookings.tests.factories import AppointmentFactory
from clinic.reporting import REPORTS, Report, ReportPage
from doctors.tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


def year_scope():
    return reports.Scope(first=TODAY - dt.timedelta(days=364), last=TODAY)


def test_leaving_out_moved_appointments_looks_only_at_rows_that_were_moved():
    """NOT EXISTS (a row moved from this one) must say the link is set: without it, PostgreSQL
    hashes every appointment's empty link for the anti-join, a year of rows for nothing."""
    ClinicFactory()
    sql = str(year_scope().appointments().query)
    not_exists = sql[sql.index("NOT EXISTS") :]
    assert '"rescheduled_from_id" IS NOT NULL' in not_exists


def test_counts_per_doctor_are_grouped_by_the_doctor_alone():
    """Grouping by the doctor's name as well made PostgreSQL sort a year of appointments by name,
    spilling to disk; the names come from a second, small query."""
    AppointmentFactory(start=dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC))
    with CaptureQueriesContext(connection) as captured:
        rows = reports.attendance_by_doctor(year_scope())
    assert len(rows) == 1
    [grouped] = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]]
    # (GROUP BY may name its terms by position, so the selected columns are what tell.)
    assert "full_name" not in grouped
    assert "doctors_department" not in grouped


# Outside any transaction, as a page runs: the setting must end with the report's own.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_report_runs_without_jit_compilation_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("JIT compilation is PostgreSQL's (set DATABASE_URL)")
    seen = []

    def builder(scope, grain):
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            seen.append(cursor.fetchone()[0])
        return ReportPage()

    Report("probe", "Probe", "", builder).build(year_scope(), "week")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        after = cursor.fetchone()[0]
    assert seen == ["off"]
    assert after == "on"  # the server's own setting again for everything else


@pytest.mark.parametrize("slug", list(REPORTS))
def test_every_report_still_builds_through_the_same_entry_point(slug):
    page = REPORTS[slug].build(year_scope(), "week")
    assert page.tables


def test_clinics_in_several_zones_are_told_apart_by_id_without_joining_their_table():
    """A day is another span of time in each clinic's zone; the rows carry their clinic's id, so
    the clinics' table need not be joined to a year of rows to read its zone names."""
    ClinicFactory(timezone="Asia/Kolkata")
    ClinicFactory(timezone="Europe/London")
    scope = year_scope()
    sql = str(
        scope.appointments().annotate(period=scope.period("start", "week")).values("period").query
    )
    assert "doctors_clinic" not in sql


@pytest.mark.parametrize("narrowed", [{}, {"department": True}, {"doctor": True}, {"clinic": True}])
def test_revenue_reads_the_ledger_without_joining_charges_or_appointments(narrowed):
    """Each payment carries its appointment's doctor and clinic: joining a year of payments to
    their charges and appointments to find them was most of the report's time."""
    payment = PaymentFactory(recorded_at=dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC))
    ClinicFactory(timezone="Europe/London")  # two zones: the period depends on the clinic
    appointment = payment.charge.appointment
    filters = {
        "department": appointment.doctor.department,
        "doctor": appointment.doctor,
        "clinic": appointment.clinic,
    }
    scope = dataclasses.replace(year_scope(), **{key: filters[key] for key in narrowed})
    with CaptureQueriesContext(connection) as captured:
        rows = money.revenue(scope, grain="week")
    assert [row["received"] for row in rows["by_doctor"]] == [payment.total]
    [ledger] = [q["sql"] for q in captured.captured_queries if "billing_payment" in q["sql"]]
    assert "bookings_appointment" not in ledger
    assert "billing_charge" not in ledger
