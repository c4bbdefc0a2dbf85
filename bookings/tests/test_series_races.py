"""A series booked while another patient books one of its times, on PostgreSQL: real threads,
each with its own connection. The occurrence lost to the other patient is reported; the rest are
booked and linked, and nobody is double-booked."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, AppointmentType, PaymentMode, SeriesUnit, Status
from bookings.scheduling import at
from bookings.series import SeriesRule, book_series, plan_series
from bookings.services import SlotUnavailable, book_appointment
from clinic.tests.concurrency import run_concurrently
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)
NOW = at(MONDAY, dt.time(8), KOLKATA)
WEEKLY = SeriesRule(every=1, unit=SeriesUnit.WEEKS, count=4)


@pytest.fixture(autouse=True)
def postgresql_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL (set DATABASE_URL)")
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 12
    settings.BOOKING_SERIES_MAX_OCCURRENCES = 12


def tuesday(weeks):
    return at(MONDAY + dt.timedelta(days=1 + 7 * weeks), dt.time(9), KOLKATA)


def test_another_patient_takes_one_occurrence_between_preview_and_booking():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(
        slot_minutes=30,
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )
    WorkingHoursFactory(
        doctor=doctor, clinic=clinic, weekday=1, starts_at=dt.time(9), ends_at=dt.time(11)
    )
    series_patient, other_patient = PatientFactory(), PatientFactory()
    plan = plan_series(
        doctor=doctor,
        clinic=clinic,
        first_start=tuesday(0),
        rule=WEEKLY,
        patient=series_patient,
        now=NOW,
    )
    assert plan.free_count == 4
    chosen = [occurrence.wanted for occurrence in plan.occurrences]
    fields = {
        "doctor": doctor,
        "clinic": clinic,
        "appointment_type": AppointmentType.FOLLOW_UP,
        "payment_mode": PaymentMode.AT_CLINIC,
        "now": NOW,
    }
    # The other patient's booking of week 3 and the series race; whichever wins week 3, each
    # time is booked once, and the series reports the one it lost.
    desk, other = UserFactory(), UserFactory()
    series_result, single = run_concurrently(
        lambda: book_series(patient=series_patient, starts=chosen, rule=WEEKLY, by=desk, **fields),
        lambda: book_appointment(patient=other_patient, start=tuesday(2), by=other, **fields),
    )
    assert not isinstance(series_result, BaseException), series_result
    booked_by_series = {a.start for a in series_result.booked}
    if isinstance(single, SlotUnavailable):
        assert booked_by_series == set(chosen) and not series_result.refused
    else:
        assert isinstance(single, Appointment), single
        assert booked_by_series == set(chosen) - {tuesday(2)}
        [(start, error)] = series_result.refused
        assert start == tuesday(2) and isinstance(error, SlotUnavailable)
    assert series_result.series.series_links.count() == len(booked_by_series)
    for start in chosen:
        assert (
            Appointment.objects.filter(doctor=doctor, start=start, status=Status.BOOKED).count()
            == 1
        )


def test_a_time_taken_after_the_preview_is_reported_and_the_rest_booked():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(
        slot_minutes=30,
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )
    WorkingHoursFactory(
        doctor=doctor, clinic=clinic, weekday=1, starts_at=dt.time(9), ends_at=dt.time(11)
    )
    series_patient = PatientFactory()
    fields = {
        "doctor": doctor,
        "clinic": clinic,
        "appointment_type": AppointmentType.FOLLOW_UP,
        "payment_mode": PaymentMode.AT_CLINIC,
        "now": NOW,
    }
    plan = plan_series(
        doctor=doctor,
        clinic=clinic,
        first_start=tuesday(0),
        rule=WEEKLY,
        patient=series_patient,
        now=NOW,
    )
    book_appointment(patient=PatientFactory(), start=tuesday(1), by=UserFactory(), **fields)
    result = book_series(
        patient=series_patient,
        starts=[o.wanted for o in plan.occurrences],
        rule=WEEKLY,
        by=UserFactory(),
        **fields,
    )
    assert [a.start for a in result.booked] == [tuesday(0), tuesday(2), tuesday(3)]
    assert [(start, error.code) for start, error in result.refused] == [(tuesday(1), "slot_taken")]
