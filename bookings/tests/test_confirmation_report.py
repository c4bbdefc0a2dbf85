"""The no-show report's figures for confirmed and unconfirmed appointments: exact counts and
rates from a hand-built set, on the admin page and in its CSV, in one query."""

import csv
import datetime as dt
import io
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings import reports
from bookings.models import Appointment, ContactChannel, Status
from bookings.tests.factories import AppointmentFactory
from clinic.reporting import REPORTS
from doctors.tests.factories import ClinicFactory, DoctorFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
FIRST, LAST = dt.date(2025, 3, 3), dt.date(2025, 3, 9)
RANGE = {"start": FIRST.isoformat(), "end": LAST.isoformat()}


def confirmed(appointment, via=ContactChannel.LINK):
    Appointment.objects.filter(pk=appointment.pk).update(
        attendance_confirmed_at=appointment.start - dt.timedelta(days=1),
        attendance_confirmed_via=via,
    )
    return appointment


@pytest.fixture
def visits():
    """In the week: confirmed 3 completed, 1 no-show, 1 cancelled; not confirmed 2 completed,
    2 no-shows, 1 still booked, and a moved appointment (its old row counts not at all, its new
    one, unconfirmed, as booked). Outside the week: a confirmed no-show, not counted."""
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory()
    slot = iter(range(100))

    def visit(status, *, day=4, **fields):
        start = dt.datetime(2025, 3, day, 7, tzinfo=KOLKATA) + dt.timedelta(minutes=30 * next(slot))
        return AppointmentFactory(
            doctor=doctor, clinic=clinic, start=start, status=status, **fields
        )

    for status in [Status.COMPLETED] * 3 + [Status.NO_SHOW, Status.CANCELLED]:
        confirmed(visit(status), via=ContactChannel.DESK if status == Status.NO_SHOW else "link")
    for status in [Status.COMPLETED] * 2 + [Status.NO_SHOW] * 2 + [Status.BOOKED]:
        visit(status)
    old = confirmed(visit(Status.CANCELLED, cancellation_reason="Moved to a new time"))
    visit(Status.BOOKED, rescheduled_from=old)
    confirmed(visit(Status.NO_SHOW, day=10))


CONFIRMED = ["Confirmed", "5", "3", "1", "25.0%", "1", "20.0%"]
UNCONFIRMED = ["Not confirmed", "6", "2", "2", "50.0%", "0", "0.0%"]


def test_no_show_rates_of_confirmed_and_unconfirmed_appointments(visits):
    scope = reports.Scope(first=FIRST, last=LAST)
    with CaptureQueriesContext(connection) as captured:
        rows = reports.attendance_by_confirmation(scope)
    assert len([q for q in captured.captured_queries if "bookings_appointment" in q["sql"]]) == 1
    by_group = {row["group"]: row for row in rows}
    assert by_group["confirmed"]["no_show_rate"] == pytest.approx(1 / 4)
    assert by_group["unconfirmed"]["no_show_rate"] == pytest.approx(2 / 4)
    tables = {t.key: t for t in REPORTS["attendance"].build(scope, "week").tables}
    assert tables["by_confirmation"].rows == [CONFIRMED, UNCONFIRMED]


def test_with_nothing_confirmed_the_confirmed_row_shows_zeros_and_a_dash():
    start = dt.datetime(2025, 3, 4, 9, tzinfo=KOLKATA)
    AppointmentFactory(start=start, status=Status.NO_SHOW)
    scope = reports.Scope(first=FIRST, last=LAST)
    tables = {t.key: t for t in REPORTS["attendance"].build(scope, "week").tables}
    assert tables["by_confirmation"].rows == [
        ["Confirmed", "0", "0", "0", "—", "0", "—"],
        ["Not confirmed", "1", "0", "1", "100.0%", "0", "0.0%"],
    ]


def test_a_range_without_appointments_has_no_rows():
    scope = reports.Scope(first=FIRST, last=LAST)
    assert reports.attendance_by_confirmation(scope) == []


def test_the_report_page_and_its_csv_show_the_figures(visits, client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    url = reverse("admin:report", kwargs={"slug": "attendance"})
    page = unescape(client.get(url, RANGE).content.decode())
    assert "By confirmation" in page
    cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", page)
    for row in (CONFIRMED, UNCONFIRMED):
        at = cells.index(row[0])
        assert cells[at : at + len(row)] == row
    response = client.get(url, {**RANGE, "export": "csv"})
    exported = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert ["By confirmation", *CONFIRMED] in exported
    assert ["By confirmation", *UNCONFIRMED] in exported


@pytest.mark.parametrize("who", ["front_desk_user", "doctor_user", "patient_user"])
def test_only_report_readers_see_the_figures(visits, client, who, request):
    client.force_login(request.getfixturevalue(who))
    url = reverse("admin:report", kwargs={"slug": "attendance"})
    for query in (RANGE, {**RANGE, "export": "csv"}):
        response = client.get(url, query)
        assert response.status_code in (302, 403, 404)
        assert "Not confirmed" not in response.content.decode()
