"""The booking's re-check runs a query built once (bookings.prepared_queries): it must compile
nothing per call, and each call must see its own values, never the ones it was built or last
run with."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import PatientFactory
from bookings.models import Status
from bookings.selectors import requested_slot
from bookings.tests.factories import AppointmentFactory
from doctors.models import Doctor
from doctors.tests.factories import (
    ClinicFactory,
    DoctorFactory,
    HolidayFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=KOLKATA)
THURSDAY = dt.date(2026, 12, 3)
FRIDAY = dt.date(2026, 12, 4)


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=KOLKATA)


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


def doctor_working(clinic, weekdays, starts_at=dt.time(9), ends_at=dt.time(13)):
    doctor = DoctorFactory(slot_minutes=15)
    for weekday in weekdays:
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=starts_at, ends_at=ends_at
        )
    # As the services pass it: with its department.
    return Doctor.objects.select_related("department").get(pk=doctor.pk)


def test_the_re_check_compiles_no_sql_once_its_query_is_prepared(clinic):
    doctor = doctor_working(clinic, range(7))
    patient = PatientFactory()
    requested_slot(doctor=doctor, clinic=clinic, start=at(THURSDAY, 10), now=NOW, patient=patient)
    compiled = []
    real_as_sql = SQLCompiler.as_sql

    def counting_as_sql(self, *args, **kwargs):
        compiled.append(self.query.model)
        return real_as_sql(self, *args, **kwargs)

    SQLCompiler.as_sql = counting_as_sql
    try:
        with CaptureQueriesContext(connection) as captured:
            slot = requested_slot(
                doctor=doctor, clinic=clinic, start=at(FRIDAY, 11), now=NOW, patient=patient
            )
    finally:
        SQLCompiler.as_sql = real_as_sql

    assert compiled == []
    assert len(captured) == 1
    assert slot.works_at_clinic and slot.open_appointments == 0


def test_each_call_reads_its_own_doctor_clinic_day_and_times(clinic):
    thursdays = doctor_working(clinic, [THURSDAY.weekday()], dt.time(9), dt.time(11))
    fridays = doctor_working(clinic, [FRIDAY.weekday()], dt.time(14), dt.time(18))
    elsewhere = ClinicFactory(timezone="Asia/Kolkata")
    HolidayFactory(clinic=clinic, date=FRIDAY)
    TimeOffFactory(doctor=thursdays, starts_at=at(THURSDAY, 10), ends_at=at(THURSDAY, 11))

    on_thursday = requested_slot(doctor=thursdays, clinic=clinic, start=at(THURSDAY, 9), now=NOW)
    in_time_off = requested_slot(doctor=thursdays, clinic=clinic, start=at(THURSDAY, 10), now=NOW)
    on_friday = requested_slot(doctor=fridays, clinic=clinic, start=at(FRIDAY, 14), now=NOW)
    not_there = requested_slot(doctor=fridays, clinic=elsewhere, start=at(FRIDAY, 14), now=NOW)

    assert [stretch.weekday for stretch in on_thursday.availability.weekly_hours] == [3]
    assert on_thursday.availability.weekly_hours[0].starts_at == dt.time(9)
    assert on_thursday.availability.busy == ()
    assert on_thursday.availability.closed_days == frozenset()
    assert in_time_off.availability_if_unbooked.busy != ()
    assert on_friday.availability.weekly_hours[0].starts_at == dt.time(14)
    assert on_friday.availability.closed_days == frozenset([FRIDAY])
    assert on_friday.works_at_clinic is True
    assert not_there.works_at_clinic is False
    assert not_there.availability.weekly_hours == ()
    # Whatever the backend hands back, the row comes converted as the queryset's would.
    assert isinstance(on_friday.works_at_clinic, bool)
    assert isinstance(on_friday.availability.weekly_hours[0].ends_at, dt.time)


def test_each_call_counts_its_own_patient_and_ignores_its_own_appointment(clinic):
    doctor = doctor_working(clinic, range(7))
    busy, free = PatientFactory(), PatientFactory()
    held = AppointmentFactory(doctor=doctor, clinic=clinic, patient=busy, start=at(THURSDAY, 10))
    AppointmentFactory(doctor=doctor, clinic=clinic, patient=busy, start=at(FRIDAY, 10))
    AppointmentFactory(
        doctor=doctor,
        clinic=clinic,
        patient=free,
        start=at(FRIDAY, 11),
        status=Status.CANCELLED,
    )

    def slot(**kwargs):
        return requested_slot(doctor=doctor, clinic=clinic, now=NOW, **kwargs)

    assert slot(start=at(THURSDAY, 12), patient=busy).open_appointments == 2
    assert slot(start=at(THURSDAY, 12), patient=free).open_appointments == 0
    # Later than one of them: `now` is bound afresh too.
    later = at(THURSDAY, 11)
    assert (
        requested_slot(
            doctor=doctor, clinic=clinic, start=at(FRIDAY, 12), now=later, patient=busy
        ).open_appointments
        == 1
    )
    assert slot(start=at(THURSDAY, 10)).availability.busy != ()
    assert slot(start=at(THURSDAY, 10), ignoring=held).availability.busy == ()
    other = AppointmentFactory(doctor=doctor, clinic=clinic, start=at(THURSDAY, 12))
    assert slot(start=at(THURSDAY, 10), ignoring=other).availability.busy != ()
