"""The reports, checked against a small hand-built organisation whose answers are worked out by
hand in the comments below, and then the admin pages that show them: who gets in, bad filters,
CSV export cell for cell, the charts, and a query count that does not grow with the data.

The organisation: Lakeside (Asia/Kolkata, UTC+05:30) and Thames (Europe/London, UTC+00:00 in
January); Cardiology (Anil Menon at Lakeside, Beatrice Shaw at Thames) and Dermatology (Chitra Rao
at both). The main range is Monday 6 to Sunday 19 January 2025, two whole weeks; every day is
counted in the calendar of the clinic where things happened.
"""

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from accounts.tests.factories import PatientFactory, UserFactory
from billing import reports as money
from billing.models import Payment
from billing.tests.factories import ChargeFactory, PaymentFactory
from bookings import reports
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from clinic.reporting import REPORTS, build_demographics
from doctors.models import Clinic
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    HolidayFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
FIRST = dt.date(2025, 1, 6)  # a Monday
LAST = dt.date(2025, 1, 19)  # a Sunday
SLUGS = list(REPORTS)
MON, TUE, WED, THU, FRI, SAT = range(6)


def at(zone, *parts):
    return dt.datetime(*parts, tzinfo=zone)


def jan(day, hour=0, minute=0, second=0):
    """A wall-clock time in January 2025, put in a clinic's zone where it is used."""
    return dt.datetime(2025, 1, day, hour, minute, second)


def dec(day, hour=0, minute=0):
    return dt.datetime(2024, 12, day, hour, minute)


def scope(first=FIRST, last=LAST, **filters):
    return reports.Scope(first=first, last=last, **filters)


def rows_of(slug, the_scope, grain="day"):
    """The report's tables as {key: rows of cell strings}, exactly as shown and exported."""
    return {table.key: table.rows for table in REPORTS[slug].build(the_scope, grain).tables}


# The organisation ------------------------------------------------------------------------------


def build_organisation(tag=""):
    """The data set. With a `tag`, an independent copy of it (own clinics, departments, doctors,
    patients, appointments and money) with the same shape, for the query-count tests."""
    suffix = f" {tag}" if tag else ""
    o = SimpleNamespace(appointments={})
    o.lakeside = ClinicFactory(name=f"Lakeside{suffix}", timezone="Asia/Kolkata")
    o.thames = ClinicFactory(name=f"Thames{suffix}", timezone="Europe/London")
    o.cardiology = DepartmentFactory(name=f"Cardiology{suffix}")
    o.dermatology = DepartmentFactory(name=f"Dermatology{suffix}")
    o.menon = DoctorFactory(
        full_name=f"Anil Menon{suffix}", department=o.cardiology, slot_minutes=30
    )
    o.shaw = DoctorFactory(
        full_name=f"Beatrice Shaw{suffix}", department=o.cardiology, slot_minutes=20
    )
    o.rao = DoctorFactory(
        full_name=f"Chitra Rao{suffix}", department=o.dermatology, slot_minutes=15
    )

    # Weekly hours (local wall-clock time at the clinic).
    for doctor, clinic, weekday, starts, ends in [
        (o.menon, o.lakeside, MON, 9, 13),
        (o.menon, o.lakeside, MON, 14, 17),  # lunch 13-14 is a break
        (o.menon, o.lakeside, WED, 9, 13),
        (o.shaw, o.thames, TUE, 9, 12),
        (o.shaw, o.thames, THU, 13, 17),
        (o.rao, o.lakeside, FRI, 10, 14),
        (o.rao, o.thames, SAT, 9, 11),
    ]:
        WorkingHoursFactory(
            doctor=doctor,
            clinic=clinic,
            weekday=weekday,
            starts_at=dt.time(starts),
            ends_at=dt.time(ends),
        )
    HolidayFactory(clinic=o.lakeside, date=dt.date(2025, 1, 8), name="Lakeside closed")
    HolidayFactory(clinic=o.lakeside, date=dt.date(2025, 1, 22), name="After the range")
    if not tag:  # one per date for all clinics
        HolidayFactory(clinic=None, date=dt.date(2025, 1, 18), name="Everyone closed")

    # Time off. Menon, Monday 13th 12:00-15:00: 12-13 and 14-15 are working time (2 h), the
    # lunch hour is not; a second, overlapping absence takes nothing more away. Menon on the
    # Lakeside holiday: that day is not offered anyway. Shaw, from before the range to Tuesday
    # 7th 10:00: 09-10 that Tuesday (1 h). Shaw, Friday to Sunday: no working hours, nothing.
    for doctor, clinic, starts_at, ends_at in [
        (o.menon, o.lakeside, jan(13, 12), jan(13, 15)),
        (o.menon, o.lakeside, jan(13, 12, 30), jan(13, 13, 30)),
        (o.menon, o.lakeside, jan(8, 9), jan(8, 13)),
        (o.shaw, o.thames, jan(5, 20), jan(7, 10)),
        (o.shaw, o.thames, jan(10), jan(12, 23, 59)),
    ]:
        TimeOffFactory(
            doctor=doctor,
            starts_at=starts_at.replace(tzinfo=clinic.zone),
            ends_at=ends_at.replace(tzinfo=clinic.zone),
        )

    # Patients; ages are on the range's last day, Sunday 19 January 2025.
    def patient(name, born, sex):
        return PatientFactory(full_name=f"{name}{suffix}", date_of_birth=born, sex=sex)

    F, M = Patient.Sex.FEMALE, Patient.Sex.MALE
    o.p1 = patient("Priya", dt.date(2007, 1, 19), F)  # 18 that very day: 18-39
    o.p2 = patient("Rahul", dt.date(2007, 1, 20), M)  # 18 the day after: 0-17
    o.p3 = patient("Sunita", dt.date(1990, 5, 5), F)
    o.p4 = patient("Tom", dt.date(1980, 3, 3), M)
    o.p5 = patient("Uma", dt.date(1970, 7, 7), F)
    o.p6 = patient("Vera", dt.date(1985, 1, 19), F)  # 40 that day: 40-59
    o.p7 = patient("Walter", dt.date(1950, 1, 19), M)  # 75 that day: 75+
    o.p8 = patient("Xavier", dt.date(2000, 2, 2), M)
    o.p9 = patient("Yasmin", dt.date(1995, 9, 9), F)

    def appointment(name, doctor, clinic, start, status, patient, booked_at, **extra):
        start = start.replace(tzinfo=clinic.zone)
        made = AppointmentFactory(
            doctor=doctor,
            clinic=clinic,
            patient=patient,
            start=start,
            end=start + dt.timedelta(minutes=doctor.slot_minutes),
            status=status,
            **extra,
        )
        # auto_now_add ignores a value given on creation.
        created_at = booked_at.replace(tzinfo=clinic.zone)
        Appointment.objects.filter(pk=made.pk).update(created_at=created_at)
        o.appointments[name] = made
        return made

    B, CI, C = Status.BOOKED, Status.CHECKED_IN, Status.COMPLETED
    X, NS = Status.CANCELLED, Status.NO_SHOW
    menon, shaw, rao, lakeside, thames = o.menon, o.shaw, o.rao, o.lakeside, o.thames
    # Name, doctor, clinic, start, status, patient, booked at (clinic time): how far ahead.
    appointment("a1", menon, lakeside, jan(6, 9), C, o.p1, jan(1, 9))  # 5 d
    appointment("a2", menon, lakeside, jan(6, 9, 30), NS, o.p2, jan(5, 9, 30))  # exactly 1 d
    appointment("a3", menon, lakeside, jan(6, 10), X, o.p3, jan(3, 10))  # exactly 3 d
    appointment("a4", menon, lakeside, jan(15, 9), C, o.p1, jan(14, 9, 0, 1))  # 1 s short of 1 d
    appointment("a5", menon, lakeside, jan(13, 16), B, o.p4, dec(14, 16))  # exactly 30 d
    appointment("a6", menon, lakeside, jan(13, 16, 30), CI, o.p5, dec(13, 16, 30))  # exactly 31 d
    # Ten past midnight in Kolkata: the 17th there, still the 16th in UTC.
    appointment("a7", rao, lakeside, jan(17, 0, 10), C, o.p6, jan(16, 23))  # 70 min
    # Moved from 10:00 to 11:00: counted once, as the new appointment.
    reason = {"cancellation_reason": "Moved to a new time"}
    moved = appointment("a13_old", menon, lakeside, jan(15, 10), X, o.p4, jan(2, 10), **reason)
    appointment(
        "a13", menon, lakeside, jan(15, 11), B, o.p4, jan(10, 11), rescheduled_from=moved
    )  # 5 d
    # Monday 20th 00:15 in Kolkata (still the 19th in UTC): after the range.
    appointment("a14", menon, lakeside, jan(20, 0, 15), B, o.p5, jan(10))
    appointment("a8", shaw, thames, jan(7, 10), C, o.p7, jan(7, 8))  # 2 h
    # 23:30 on Thursday the 16th in London is 05:00 on the 17th in Kolkata: London's day counts.
    appointment("a9", shaw, thames, jan(16, 23, 30), NS, o.p8, jan(9, 23, 30))  # exactly 7 d
    appointment("a10", shaw, thames, jan(9, 13), C, o.p2, jan(1, 13))  # exactly 8 d
    appointment("a11", rao, thames, jan(11, 9), C, o.p1, dec(27, 9))  # exactly 15 d
    appointment("a12", rao, thames, jan(11, 9, 15), X, o.p3, jan(9, 9, 15))  # 2 d
    # Sunday 5th 23:50 in London (Monday 05:20 in Kolkata): before the range.
    appointment("a15", shaw, thames, jan(5, 23, 50), C, o.p7, jan(1))
    # Sunday 19th 23:45 in London (Monday 05:15 in Kolkata): in the range, on the 19th.
    appointment("a16", rao, thames, jan(19, 23, 45), B, o.p9, jan(19, 10))  # 13 h 45 min

    # Money: a payment belongs to the day it was recorded, in its appointment's clinic's calendar.
    def paid(name, fee, gst, recorded_at):
        appointment = o.appointments[name]
        fee, gst = Decimal(fee), Decimal(gst)
        charge = ChargeFactory(appointment=appointment, fee=fee, gst=gst, total=fee + gst)
        recorded_at = recorded_at.replace(tzinfo=appointment.clinic.zone)
        return PaymentFactory(charge=charge, recorded_at=recorded_at)

    paid("a1", "800.00", "144.00", jan(6, 9, 50))
    p8 = paid("a8", "1000.00", "180.00", jan(7, 10, 30))
    paid("a11", "600.00", "108.00", jan(11, 23, 30))  # London; the 12th in Kolkata
    paid("a7", "333.33", "60.00", jan(17, 0, 20))  # Kolkata; the 16th in UTC
    paid("a14", "500.00", "90.00", jan(20, 0, 30))  # Kolkata; after the range
    PaymentFactory(
        charge=p8.charge,
        kind=Payment.Kind.REFUND,
        refund_of=p8,
        fee=Decimal("250.00"),
        gst=Decimal("45.00"),
        total=Decimal("295.00"),
        recorded_at=jan(14, 12).replace(tzinfo=LONDON),
    )
    return o


@pytest.fixture
def org(db):
    return build_organisation()


# Appointment trends ------------------------------------------------------------------------------

# Period, Booked, Checked in, Completed, Cancelled, No-show, Total
TRENDS_BY_DAY = [
    ["2025-01-06", "0", "0", "1", "1", "1", "3"],  # a1, a3, a2
    ["2025-01-07", "0", "0", "1", "0", "0", "1"],  # a8
    ["2025-01-08", "0", "0", "0", "0", "0", "0"],
    ["2025-01-09", "0", "0", "1", "0", "0", "1"],  # a10
    ["2025-01-10", "0", "0", "0", "0", "0", "0"],
    ["2025-01-11", "0", "0", "1", "1", "0", "2"],  # a11, a12
    ["2025-01-12", "0", "0", "0", "0", "0", "0"],
    ["2025-01-13", "1", "1", "0", "0", "0", "2"],  # a5, a6
    ["2025-01-14", "0", "0", "0", "0", "0", "0"],
    ["2025-01-15", "1", "0", "1", "0", "0", "2"],  # a13 (not the row it left), a4
    ["2025-01-16", "0", "0", "0", "0", "1", "1"],  # a9, 23:30 in London
    ["2025-01-17", "0", "0", "1", "0", "0", "1"],  # a7, 00:10 in Kolkata
    ["2025-01-18", "0", "0", "0", "0", "0", "0"],
    ["2025-01-19", "1", "0", "0", "0", "0", "1"],  # a16, 23:45 in London
]


@pytest.mark.parametrize("reader_zone", ["Asia/Kolkata", "America/Los_Angeles", "UTC"])
def test_trends_per_day_count_each_clinics_own_day_with_zeros(org, reader_zone):
    # Whatever zone the reader's request runs in, a day is the clinic's day.
    with timezone.override(ZoneInfo(reader_zone)):
        assert rows_of("trends", scope(), "day")["trends"] == TRENDS_BY_DAY


def test_trends_per_day_raw_figures(org):
    rows = reports.trends(scope(), grain="day")
    assert [row["period"] for row in rows] == [FIRST + dt.timedelta(days=n) for n in range(14)]
    assert rows[0] == {
        "period": dt.date(2025, 1, 6),
        "booked": 0,
        "checked_in": 0,
        "completed": 1,
        "cancelled": 1,
        "no_show": 1,
        "total": 3,
    }


def test_trends_per_week_start_on_monday(org):
    assert rows_of("trends", scope(), "week")["trends"] == [
        ["Week of 2025-01-06", "0", "0", "4", "2", "1", "7"],
        ["Week of 2025-01-13", "3", "1", "2", "0", "1", "7"],
    ]


def test_a_range_starting_midweek_is_labelled_by_its_mondays_and_counts_only_its_days(org):
    # Wednesday 8th to Tuesday 14th: a10, a11, a12 in the first week; a5, a6 in the second.
    assert rows_of("trends", scope(dt.date(2025, 1, 8), dt.date(2025, 1, 14)), "week")[
        "trends"
    ] == [
        ["Week of 2025-01-06", "0", "0", "2", "1", "0", "3"],
        ["Week of 2025-01-13", "1", "1", "0", "0", "0", "2"],
    ]


def test_trends_per_month_with_empty_months(org):
    # December and February have nothing; January adds a14 (20th) and a15 (5th in London).
    assert rows_of("trends", scope(dt.date(2024, 12, 1), dt.date(2025, 2, 28)), "month")[
        "trends"
    ] == [
        ["2024-12", "0", "0", "0", "0", "0", "0"],
        ["2025-01", "4", "1", "7", "2", "2", "16"],
        ["2025-02", "0", "0", "0", "0", "0", "0"],
    ]


def test_periods_of_a_range_across_a_year_end():
    the_scope = scope(dt.date(2024, 12, 31), dt.date(2025, 1, 2))
    assert reports.periods(the_scope, "day") == [
        dt.date(2024, 12, 31),
        dt.date(2025, 1, 1),
        dt.date(2025, 1, 2),
    ]
    assert reports.periods(the_scope, "week") == [dt.date(2024, 12, 30)]
    assert reports.periods(the_scope, "month") == [dt.date(2024, 12, 1), dt.date(2025, 1, 1)]


def test_trends_refuse_an_unknown_period(org):
    with pytest.raises(ValueError):
        reports.trends(scope(), grain="year")


def test_each_clinics_trends_add_up_to_all_clinics(org):
    def totals(**filters):
        return [int(row[-1]) for row in rows_of("trends", scope(**filters))["trends"]]

    lakeside, thames = totals(clinic=org.lakeside), totals(clinic=org.thames)
    assert sum(lakeside) == 8  # a1-a7, a13
    assert sum(thames) == 6  # a8-a12, a16
    assert [a + b for a, b in zip(lakeside, thames, strict=True)] == totals()


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"clinic": "lakeside"}, {"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a13"}),
        ({"clinic": "thames"}, {"a8", "a9", "a10", "a11", "a12", "a16"}),
        ({"department": "dermatology"}, {"a7", "a11", "a12", "a16"}),
        ({"doctor": "shaw"}, {"a8", "a9", "a10"}),
        ({"clinic": "thames", "department": "dermatology"}, {"a11", "a12", "a16"}),
        ({"clinic": "lakeside", "doctor": "shaw"}, set()),
    ],
)
def test_filters_narrow_the_appointments_counted(org, filters, expected):
    the_scope = scope(**{key: getattr(org, name) for key, name in filters.items()})
    assert sum(row["total"] for row in reports.trends(the_scope, grain="month")) == len(expected)
    assert set(the_scope.appointments().values_list("pk", flat=True)) == {
        org.appointments[name].pk for name in expected
    }
    lead_total = sum(row["count"] for row in reports.lead_times(the_scope))
    assert lead_total == len(expected)


# No-shows and cancellations ----------------------------------------------------------------------


def test_attendance_counts_and_rates(org):
    tables = rows_of("attendance", scope())
    # Appointments, Completed, No-shows, No-show rate (of completed + no-shows), Cancelled,
    # Cancellation rate (of all); the moved appointment's old row is no cancellation.
    assert tables["by_department"] == [
        ["Cardiology", "10", "4", "2", "33.3%", "1", "10.0%"],
        ["Dermatology", "4", "2", "0", "0.0%", "1", "25.0%"],
    ]
    assert tables["by_doctor"] == [
        ["Anil Menon", "Cardiology", "7", "2", "1", "33.3%", "1", "14.3%"],
        ["Beatrice Shaw", "Cardiology", "3", "2", "1", "33.3%", "0", "0.0%"],
        ["Chitra Rao", "Dermatology", "4", "2", "0", "0.0%", "1", "25.0%"],
    ]


def test_attendance_rates_without_a_denominator_are_none_and_shown_as_a_dash(org):
    # Sunday 19th: only a16, still booked: no appointment whose time came, nothing to divide by.
    the_scope = scope(LAST, LAST, doctor=org.rao)
    [row] = reports.attendance_by_doctor(the_scope)
    assert row["total"] == 1 and row["completed"] == 0 and row["no_show"] == 0
    assert row["no_show_rate"] is None
    assert row["cancellation_rate"] == 0
    assert rows_of("attendance", the_scope)["by_doctor"] == [
        ["Chitra Rao", "Dermatology", "1", "0", "0", "—", "0", "0.0%"]
    ]


def test_attendance_rates_are_exact_fractions(org):
    by_name = {row["name"]: row for row in reports.attendance_by_doctor(scope())}
    assert by_name["Anil Menon"]["no_show_rate"] == pytest.approx(1 / 3)
    assert by_name["Anil Menon"]["cancellation_rate"] == pytest.approx(1 / 7)


# Utilisation -------------------------------------------------------------------------------------


def test_utilisation_offered_time_leaves_out_holidays_and_time_off(org):
    by_name = {row["name"]: row for row in reports.utilisation(scope())}
    # Menon: Mondays 6th and 13th, 7 h each, less 2 h off on the 13th; Wednesday 8th is a
    # Lakeside holiday (the time off that day takes nothing more), Wednesday 15th 4 h: 16 h.
    # Booked: a1, a2, a4, a5, a6, a13 of 30 min (a3 cancelled, a13's old row cancelled).
    assert by_name["Anil Menon"]["offered_minutes"] == 16 * 60
    assert by_name["Anil Menon"]["booked_minutes"] == 6 * 30
    # Shaw: Tuesdays 3 h, Thursdays 4 h, twice each, less 1 h off on Tuesday 7th: 13 h.
    assert by_name["Beatrice Shaw"]["offered_minutes"] == 13 * 60
    assert by_name["Beatrice Shaw"]["booked_minutes"] == 3 * 20
    # Rao: Lakeside Fridays 4 h twice; Thames Saturdays 2 h, the 18th closed everywhere: 10 h.
    assert by_name["Chitra Rao"]["offered_minutes"] == 10 * 60
    assert by_name["Chitra Rao"]["booked_minutes"] == 3 * 15  # a7, a11, a16
    assert by_name["Anil Menon"]["utilisation"] == pytest.approx(180 / 960)


def test_utilisation_table(org):
    assert rows_of("utilisation", scope())["utilisation"] == [
        ["Anil Menon", "Cardiology", "16.0", "3.0", "18.8%"],
        ["Beatrice Shaw", "Cardiology", "13.0", "1.0", "7.7%"],
        ["Chitra Rao", "Dermatology", "10.0", "0.8", "7.5%"],
    ]


def test_utilisation_for_one_clinic_counts_only_its_hours_and_bookings(org):
    # At Lakeside Rao works Fridays only (2 x 4 h) and has a7 there; Shaw has nothing there.
    rows = {row["name"]: row for row in reports.utilisation(scope(clinic=org.lakeside))}
    assert set(rows) == {"Anil Menon", "Chitra Rao"}
    minutes = {name: (row["offered_minutes"], row["booked_minutes"]) for name, row in rows.items()}
    assert minutes == {"Anil Menon": (960, 180), "Chitra Rao": (480, 15)}


def test_utilisation_for_one_department_and_one_doctor(org):
    assert [row["name"] for row in reports.utilisation(scope(department=org.dermatology))] == [
        "Chitra Rao"
    ]
    [row] = reports.utilisation(scope(doctor=org.shaw))
    assert (row["offered_minutes"], row["booked_minutes"]) == (780, 60)


def test_utilisation_without_offered_time_is_none(org):
    # Sunday 19th: no working hours that day, yet a16 is booked.
    [row] = reports.utilisation(scope(LAST, LAST))
    assert (row["name"], row["offered_minutes"], row["booked_minutes"]) == ("Chitra Rao", 0, 15)
    assert row["utilisation"] is None
    assert rows_of("utilisation", scope(LAST, LAST))["utilisation"] == [
        ["Chitra Rao", "Dermatology", "0.0", "0.2", "—"]
    ]


# Lead time ---------------------------------------------------------------------------------------


def test_lead_time_bands_and_their_boundaries(org):
    # Under a day: a4 (1 d - 1 s), a7 (70 min), a8 (2 h), a16 (13 h 45). 1-2 days: a2 (exactly
    # 1 d), a12 (2 d). 3-7: a1 (5 d), a3 (exactly 3 d), a13 (5 d; its old row not counted),
    # a9 (exactly 7 d). 8-14: a10 (exactly 8 d). 15-30: a11 (exactly 15 d), a5 (exactly 30 d).
    # Over 30: a6 (exactly 31 d).
    assert rows_of("lead-times", scope())["lead_times"] == [
        ["Under a day", "4", "28.6%"],
        ["1–2 days", "2", "14.3%"],
        ["3–7 days", "4", "28.6%"],
        ["8–14 days", "1", "7.1%"],
        ["15–30 days", "2", "14.3%"],
        ["Over 30 days", "1", "7.1%"],
    ]
    assert [row["count"] for row in reports.lead_times(scope())] == [4, 2, 4, 1, 2, 1]


# Demographics ------------------------------------------------------------------------------------


def test_demographics_ages_on_the_last_day_once_per_department(org):
    # Completed: a1 and a4 (Priya, Cardiology: once), a11 (Priya, Dermatology), a10 (Rahul),
    # a8 (Walter), a7 (Vera). On Sunday 19th Priya turns 18, Rahul is a day short of it, Vera
    # turns 40 and Walter 75.
    assert rows_of("demographics", scope())["demographics"] == [
        ["Cardiology", "0–17", "Male", "1"],
        ["Cardiology", "18–39", "Female", "1"],
        ["Cardiology", "75+", "Male", "1"],
        ["Dermatology", "18–39", "Female", "1"],
        ["Dermatology", "40–59", "Female", "1"],
    ]


def test_demographics_a_day_earlier_everyone_is_a_year_younger(org):
    # The same visits up to Saturday 18th: the birthdays have not come yet.
    assert rows_of("demographics", scope(last=dt.date(2025, 1, 18)))["demographics"] == [
        ["Cardiology", "0–17", "Female", "1"],
        ["Cardiology", "0–17", "Male", "1"],
        ["Cardiology", "60–74", "Male", "1"],
        ["Dermatology", "0–17", "Female", "1"],
        ["Dermatology", "18–39", "Female", "1"],
    ]


@pytest.mark.parametrize(
    "last, band",
    [
        (dt.date(2026, 2, 28), "0–17"),  # no 29 February in 2026: still 17, as Patient.age_on says
        (dt.date(2026, 3, 1), "18–39"),
        (dt.date(2028, 2, 29), "18–39"),
    ],
)
def test_demographics_for_a_patient_born_on_29_february(last, band):
    born = dt.date(2008, 2, 29)
    patient = PatientFactory(date_of_birth=born, sex=Patient.Sex.OTHER)
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    appointment = AppointmentFactory(
        patient=patient, clinic=clinic, status=Status.COMPLETED, start=at(KOLKATA, 2026, 2, 1, 10)
    )
    [row] = reports.demographics(scope(dt.date(2026, 2, 1), last))
    age = patient.age_on(last)
    assert (row["age_band"], row["sex"], row["patients"]) == (band, "other", 1)
    assert row["department_name"] == appointment.doctor.department.name
    assert (age >= 18) == (band != "0–17")


def test_demographics_chart_adds_departments_per_band_and_sex(org):
    svg = chart_of(build_demographics(scope(), "day").chart)
    # Female: 18-39 (Priya in two departments: 2), 40-59 (Vera); Male: 0-17, 75+.
    assert sorted(bar.find(f"{SVG}title").text for bar in bars(svg)) == [
        "0–17, Male: 1",
        "18–39, Female: 2",
        "40–59, Female: 1",
        "75+, Male: 1",
    ]


# Revenue -----------------------------------------------------------------------------------------

ZERO_MONEY = ["0.00", "0.00", "0.00", "0.00", "0.00"]


def test_revenue_per_day_in_each_clinics_calendar(org):
    # Fees received, GST received, Total received, Refunded, Net
    rows = rows_of("revenue", scope(), "day")["by_period"]
    expected = {
        "2025-01-06": ["800.00", "144.00", "944.00", "0.00", "944.00"],
        "2025-01-07": ["1000.00", "180.00", "1180.00", "0.00", "1180.00"],
        # 23:30 in London on the 11th (05:00 on the 12th in Kolkata)
        "2025-01-11": ["600.00", "108.00", "708.00", "0.00", "708.00"],
        "2025-01-14": ["0.00", "0.00", "0.00", "295.00", "-295.00"],  # the partial refund
        # 00:20 in Kolkata on the 17th (the 16th in UTC)
        "2025-01-17": ["333.33", "60.00", "393.33", "0.00", "393.33"],
    }
    assert rows == [
        [day.isoformat(), *expected.get(day.isoformat(), ZERO_MONEY)]
        for day in (FIRST + dt.timedelta(days=n) for n in range(14))
    ]


def test_revenue_per_week_and_month(org):
    assert rows_of("revenue", scope(), "week")["by_period"] == [
        ["Week of 2025-01-06", "2400.00", "432.00", "2832.00", "0.00", "2832.00"],
        ["Week of 2025-01-13", "333.33", "60.00", "393.33", "295.00", "98.33"],
    ]
    # The month adds a14's payment (00:30 on the 20th in Kolkata).
    assert rows_of("revenue", scope(dt.date(2024, 12, 1), dt.date(2025, 2, 28)), "month")[
        "by_period"
    ] == [
        ["2024-12", *ZERO_MONEY],
        ["2025-01", "3233.33", "582.00", "3815.33", "295.00", "3520.33"],
        ["2025-02", *ZERO_MONEY],
    ]


def test_revenue_by_doctor_and_department(org):
    tables = rows_of("revenue", scope())
    assert tables["by_doctor"] == [
        ["Anil Menon", "Cardiology", "800.00", "144.00", "944.00", "0.00", "944.00"],
        ["Beatrice Shaw", "Cardiology", "1000.00", "180.00", "1180.00", "295.00", "885.00"],
        ["Chitra Rao", "Dermatology", "933.33", "168.00", "1101.33", "0.00", "1101.33"],
    ]
    assert tables["by_department"] == [
        ["Cardiology", "1800.00", "324.00", "2124.00", "295.00", "1829.00"],
        ["Dermatology", "933.33", "168.00", "1101.33", "0.00", "1101.33"],
    ]


def test_revenue_figures_are_exact_decimals(org):
    [cardiology, dermatology] = money.revenue_by_department(scope())
    assert cardiology["net"] == Decimal("1829.00")
    assert dermatology["received"] == Decimal("1101.33")
    assert all(isinstance(cardiology[key], Decimal) for key in ("fees", "gst", "refunded"))


@pytest.mark.parametrize(
    "filters, net",
    [
        ({"clinic": "lakeside"}, "1337.33"),  # a1 944.00 + a7 393.33
        ({"clinic": "thames"}, "1593.00"),  # a8 1180.00 - 295.00 + a11 708.00
        ({"department": "dermatology"}, "1101.33"),
        ({"doctor": "shaw"}, "885.00"),
    ],
)
def test_revenue_filters(org, filters, net):
    the_scope = scope(**{key: getattr(org, name) for key, name in filters.items()})
    rows = money.revenue_by_period(the_scope, grain="month")
    assert sum(row["net"] for row in rows) == Decimal(net)


# Empty ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_an_empty_range_gives_zero_rows(org, slug):
    quiet = scope(dt.date(2030, 3, 4), dt.date(2030, 3, 10))  # a Monday to a Sunday
    tables = rows_of(slug, quiet, "day")
    if slug == "trends":
        assert len(tables["trends"]) == 7
        assert all(cell == "0" for row in tables["trends"] for cell in row[1:])
    elif slug == "revenue":
        assert len(tables["by_period"]) == 7
        assert all(row[1:] == ZERO_MONEY for row in tables["by_period"])
        assert tables["by_doctor"] == tables["by_department"] == []
    elif slug == "lead-times":
        assert [row[1:] for row in tables["lead_times"]] == [["0", "—"]] * 6
    elif slug == "utilisation":
        # Working hours are offered still; nothing is booked.
        assert [row[3:] for row in tables["utilisation"]] == [["0.0", "0.0%"]] * 3
    else:
        assert all(rows == [] for rows in tables.values())


@pytest.mark.parametrize("slug", SLUGS)
def test_reports_without_any_clinic_at_all(db, slug):
    tables = rows_of(slug, scope(), "week")
    cells = {cell for rows in tables.values() for row in rows for cell in row[1:]}
    assert cells <= {"0", "0.00", "—"}


# The pages ---------------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"
MAIN_RANGE = {"start": FIRST.isoformat(), "end": LAST.isoformat()}


def report_url(slug):
    return reverse("admin:report", kwargs={"slug": slug})


PAGES = [reverse("admin:reports"), *(report_url(slug) for slug in SLUGS)]


def text_of(response):
    return unescape(response.content.decode())


def chart_of(markup):
    return ET.fromstring(markup)


def chart_on_page(response):
    """The report's chart (not the admin's icons) as an element tree."""
    markup = re.search(r'<svg [^>]*class="report-chart".*?</svg>', response.content.decode(), re.S)
    return chart_of(markup.group(0))


def bars(svg):
    return [rect for rect in svg.iter(f"{SVG}rect") if rect.get("class") == "bar"]


class _Tables(HTMLParser):
    """The report's tables (those in a div.report-table) as caption, header and rows of cell
    texts; the admin's own tables (the navigation) are left alone."""

    def __init__(self):
        super().__init__()
        self.tables = []
        self._wanted = self._in_table = self._in_caption = False
        self._cell = self._row = self._colspan = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "report-table" in (attrs.get("class") or "").split():
            self._wanted = True
        elif tag == "table" and self._wanted:
            self._in_table = True
            self.tables.append({"caption": "", "header": [], "rows": []})
        elif not self._in_table:
            return
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = ""
            self._colspan = attrs.get("colspan")

    def handle_endtag(self, tag):
        if not self._in_table:
            return
        if tag == "table":
            self._wanted = self._in_table = False
        elif tag == "caption":
            self._in_caption = False
        elif tag in ("th", "td"):
            self._row.append(None if self._colspan else self._cell.strip())
            self._cell = None
        elif tag == "tr":
            table = self.tables[-1]
            if None in self._row:  # the "Nothing in this range." row
                pass
            elif not table["header"]:
                table["header"] = self._row
            else:
                table["rows"].append(self._row)

    def handle_data(self, data):
        if self._in_caption:
            self.tables[-1]["caption"] += data
        elif self._in_table and self._cell is not None:
            self._cell += data


def html_tables(response):
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


@pytest.fixture
def as_clinic_admin(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    return client


@pytest.mark.parametrize("url", PAGES)
def test_clinic_admin_sees_every_report_page(as_clinic_admin, url):
    response = as_clinic_admin.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_front_desk_staff_are_refused(client, front_desk_user, url):
    client.force_login(front_desk_user)
    assert client.get(url).status_code == 403
    assert client.get(url, {"export": "csv"}).status_code == 403


@pytest.mark.parametrize("who", ["anonymous", "patient_user", "doctor_user"])
@pytest.mark.parametrize("url", PAGES)
def test_others_are_sent_to_the_admin_login(request, client, who, url):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get(url, {"export": "csv"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login") + "?next=")


@pytest.fixture
def staff_with_the_permission(db):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="bookings", codename="view_reports")
    )
    return user


@pytest.mark.parametrize("url", PAGES)
def test_staff_granted_the_permission_directly_get_in(client, staff_with_the_permission, url):
    client.force_login(staff_with_the_permission)
    assert client.get(url).status_code == 200


def test_admin_index_shows_the_reports_module_only_to_those_allowed(
    client, clinic_admin_user, front_desk_user, staff_with_the_permission
):
    for user, shown in [
        (clinic_admin_user, True),
        (staff_with_the_permission, True),
        (front_desk_user, False),
    ]:
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 200
        page = text_of(response)
        assert ('id="reports-module"' in page) is shown, user
        assert (reverse("admin:reports") in page) is shown, user
        for slug in SLUGS:
            assert (report_url(slug) in page) is shown, (user, slug)


def test_reports_index_links_every_report(as_clinic_admin):
    page = text_of(as_clinic_admin.get(reverse("admin:reports")))
    for report in REPORTS.values():
        assert f'<a href="{report_url(report.slug)}">{report.title}</a>' in page


def test_a_report_that_does_not_exist_is_not_found(as_clinic_admin):
    assert as_clinic_admin.get(report_url("nonsense")).status_code == 404


def test_the_default_page_shows_the_last_ninety_days(as_clinic_admin):
    response = as_clinic_admin.get(report_url("trends"))
    today = timezone.localdate()
    assert response.context["form"].cleaned_data["start"] == today - dt.timedelta(days=89)
    assert response.context["form"].cleaned_data["end"] == today
    assert len(html_tables(response)[0]["rows"]) in (13, 14)  # weeks touched by 90 days


def test_the_date_inputs_show_the_chosen_dates(as_clinic_admin):
    # <input type="date"> shows nothing for a value not in ISO form (en-gb writes 06/01/2025).
    page = as_clinic_admin.get(report_url("trends"), MAIN_RANGE).content.decode()
    inputs = re.findall(r"<input [^>]*>", page)
    start = next(tag for tag in inputs if 'name="start"' in tag)
    end = next(tag for tag in inputs if 'name="end"' in tag)
    assert 'type="date"' in start and 'value="2025-01-06"' in start
    assert 'type="date"' in end and 'value="2025-01-19"' in end


@pytest.mark.parametrize(
    "query, error",
    [
        ({"start": "2025-01-19", "end": "2025-01-06"}, "The end date must be on or after the"),
        ({"start": "2023-01-01", "end": "2025-01-01"}, "Choose a range of at most two years."),
        ({"start": "2025-02-30", "end": "2025-03-01"}, "Enter a valid date."),
        ({"start": "yesterday", "end": "2025-01-19"}, "Enter a valid date."),
        ({"start": "", "end": "2025-01-19"}, "This field is required."),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "Choose a date between the years 1900"),
        ({"start": "9999-12-30", "end": "9999-12-31"}, "Choose a date between the years 1900"),
        ({"clinic": "999999"}, "Select a valid choice."),
        ({"clinic": "abc"}, "Select a valid choice."),
        ({"department": "99999999999999999999"}, "Select a valid choice."),
        ({"doctor": "-1"}, "Select a valid choice."),
    ],
)
@pytest.mark.parametrize("slug", SLUGS)
def test_bad_filters_are_shown_on_the_page(as_clinic_admin, slug, query, error):
    for export in ({}, {"export": "csv"}):
        response = as_clinic_admin.get(report_url(slug), {**MAIN_RANGE, **query, **export})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert error in text_of(response)
        assert response.context["page"] is None


def test_two_years_to_the_day_are_allowed(as_clinic_admin):
    # 1 January 2023 to 31 December 2024 is 731 days, a leap year included.
    response = as_clinic_admin.get(
        report_url("trends"), {"start": "2023-01-01", "end": "2024-12-31", "grain": "month"}
    )
    assert response.status_code == 200
    assert len(html_tables(response)[0]["rows"]) == 24


def test_an_unknown_period_is_refused_where_it_is_chosen(as_clinic_admin):
    response = as_clinic_admin.get(report_url("trends"), {**MAIN_RANGE, "grain": "year"})
    assert "Select a valid choice." in text_of(response)
    assert response.context["page"] is None
    # A report without periods shows no period field, so ignores one.
    response = as_clinic_admin.get(report_url("attendance"), {**MAIN_RANGE, "grain": "year"})
    assert response.context["page"] is not None


def csv_rows(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


@pytest.mark.parametrize("grain", ["day", "week", "month"])
@pytest.mark.parametrize("slug", SLUGS)
def test_csv_export_equals_the_tables_cell_for_cell(org, as_clinic_admin, slug, grain):
    query = {**MAIN_RANGE, "grain": grain}
    page = as_clinic_admin.get(report_url(slug), query)
    exported = csv_rows(as_clinic_admin.get(report_url(slug), {**query, "export": "csv"}))
    tables = html_tables(page)
    assert tables and any(table["rows"] for table in tables)
    expected = []
    if len(tables) == 1:
        expected = [tables[0]["header"], *tables[0]["rows"]]
    else:
        for table in tables:
            expected.append(["Table", *table["header"]])
            expected += [[table["caption"], *row] for row in table["rows"]]
    assert exported == expected


def test_the_csv_link_on_the_page_exports_what_the_page_shows(org, as_clinic_admin):
    query = {**MAIN_RANGE, "grain": "week", "clinic": str(org.thames.pk)}
    page = as_clinic_admin.get(report_url("trends"), query)
    link = re.search(r'href="\?([^"]*export=csv[^"]*)"', page.content.decode()).group(1)
    exported = csv_rows(as_clinic_admin.get(report_url("trends") + "?" + unescape(link)))
    assert exported[1:] == html_tables(page)[0]["rows"]
    assert exported[1:] == [
        ["Week of 2025-01-06", "0", "0", "3", "1", "0", "4"],  # a8, a10, a11, a12
        ["Week of 2025-01-13", "1", "0", "0", "0", "1", "2"],  # a16, a9
    ]


def test_the_default_pages_csv_link_exports_the_default_range(as_clinic_admin):
    page = as_clinic_admin.get(report_url("trends"))
    exported = csv_rows(as_clinic_admin.get(report_url("trends"), {"export": "csv"}))
    assert exported[1:] == html_tables(page)[0]["rows"]


def test_cells_are_escaped_in_the_page(as_clinic_admin):
    clinic = ClinicFactory()
    doctor = DoctorFactory(full_name="<b>Bold</b> & Co", department=DepartmentFactory(name="A<i>"))
    AppointmentFactory(doctor=doctor, clinic=clinic, start=at(KOLKATA, 2025, 1, 6, 10))
    response = as_clinic_admin.get(report_url("attendance"), MAIN_RANGE)
    assert "<b>Bold</b>" not in response.content.decode()
    assert html_tables(response)[1]["rows"][0][:2] == ["<b>Bold</b> & Co", "A<i>"]


def non_zero_cells(rows, columns):
    """How many of these cells hold a number other than 0 (a "—" rate is drawn as 0)."""
    return sum(
        1
        for row in rows
        for index in columns
        if row[index] != "—" and float(row[index].rstrip("%")) != 0
    )


# For each report: the table and columns its chart draws (one bar per non-zero cell).
CHARTED = {
    "trends": (0, [1, 2, 3, 4, 5]),
    "attendance": (0, [4, 6]),
    "utilisation": (0, [4]),
    "lead-times": (0, [1]),
    "revenue": (0, [3, 4]),
}


@pytest.mark.parametrize("slug", SLUGS)
def test_each_chart_is_an_accessible_svg_with_a_bar_per_non_zero_value(org, as_clinic_admin, slug):
    response = as_clinic_admin.get(report_url(slug), {**MAIN_RANGE, "grain": "day"})
    svg = chart_on_page(response)
    assert svg.get("role") == "img"
    assert "report-chart" in svg.get("class").split()
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None and title.text
    assert desc is not None and desc.text
    # aria-labelledby names the two
    assert svg.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
    drawn = bars(svg)
    assert all(float(bar.get("height")) > 0 for bar in drawn)
    if slug == "demographics":
        assert len(drawn) == 4  # see test_demographics_chart_adds_departments_per_band_and_sex
    else:
        table, columns = CHARTED[slug]
        cells = html_tables(response)[table]["rows"]
        assert len(drawn) == non_zero_cells(cells, columns) > 0


def test_trends_chart_bars_name_their_period_status_and_count(org):
    page = REPORTS["trends"].build(scope(), "day")
    names = [bar.find(f"{SVG}title").text for bar in bars(chart_of(page.chart))]
    assert len(names) == 14
    assert names[:3] == [
        "2025-01-06, Completed: 1",
        "2025-01-06, Cancelled: 1",
        "2025-01-06, No-show: 1",
    ]


def test_an_empty_chart_has_no_bars_but_keeps_its_text_alternative(as_clinic_admin):
    response = as_clinic_admin.get(
        report_url("trends"), {"start": "2030-03-04", "end": "2030-03-10", "grain": "day"}
    )
    svg = chart_on_page(response)
    assert bars(svg) == []
    assert svg.find(f"{SVG}desc").text.startswith("0 appointments over 7 periods")


# Query counts ------------------------------------------------------------------------------------

# About 11-15 today: session, user, two-factor device, permissions (2), the clinics' time zones,
# the report's aggregates (1-5), the user's groups, and the filters' three lists.
MAX_QUERIES = 20


def page_queries(client, slug):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(report_url(slug), {**MAIN_RANGE, "grain": "week"})
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("slug", SLUGS)
def test_query_count_is_bounded_and_does_not_grow_with_the_data(
    as_clinic_admin, django_assert_max_num_queries, slug
):
    build_organisation()
    with django_assert_max_num_queries(MAX_QUERIES):
        as_clinic_admin.get(report_url(slug), {**MAIN_RANGE, "grain": "week"})
    once = page_queries(as_clinic_admin, slug)
    for copy in range(2, 6):  # five times the clinics, doctors, patients, visits and money
        build_organisation(tag=str(copy))
    assert Clinic.objects.count() == 10
    with django_assert_max_num_queries(MAX_QUERIES):
        response = as_clinic_admin.get(report_url(slug), {**MAIN_RANGE, "grain": "week"})
    assert response.status_code == 200
    assert page_queries(as_clinic_admin, slug) == once
    if slug == "trends":
        assert html_tables(response)[0]["rows"][0][-1] == "35"  # 5 x 7


def test_summer_time_midnight_belongs_to_the_clinics_day_and_month(db):
    # 00:30 on 1 July in London is 23:30 on 30 June in UTC (British Summer Time).
    thames = ClinicFactory(timezone="Europe/London")
    start = dt.datetime(2025, 7, 1, 0, 30, tzinfo=LONDON)
    appointment = AppointmentFactory(clinic=thames, start=start, status=Status.COMPLETED)
    PaymentFactory(charge=ChargeFactory(appointment=appointment), recorded_at=start)
    june_and_july = scope(dt.date(2025, 6, 30), dt.date(2025, 7, 1))
    assert [row["total"] for row in reports.trends(june_and_july, grain="day")] == [0, 1]
    assert [row["received"] for row in money.revenue_by_period(june_and_july, grain="month")] == [
        Decimal("0.00"),
        Decimal("590.00"),
    ]
    # 30 June alone, in London's calendar, has nothing.
    assert (
        reports.trends(scope(dt.date(2025, 6, 30), dt.date(2025, 6, 30)), grain="day")[0]["total"]
        == 0
    )
