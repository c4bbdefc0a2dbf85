"""Reads behind the booking pages: what they fetch, and how many queries it costs."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bookings.models import Status
from bookings.selectors import availability_for, open_slots, slot_is_open
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
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)  # a Tuesday
TODAY = NOW.date()


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=KOLKATA)


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(slot_minutes=30)
    for weekday in range(7):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
    # The selectors expect the department loaded, as the views load it.
    return Doctor.objects.select_related("department").get(pk=doctor.pk)


def fill_busy_month(doctor, clinic):
    for n in range(1, 29):
        day = TODAY + dt.timedelta(days=n)
        AppointmentFactory(doctor=doctor, clinic=clinic, start=local(day, 9))
        AppointmentFactory(
            doctor=doctor, clinic=clinic, start=local(day, 10), status=Status.CANCELLED
        )
        if n % 7 == 0:
            HolidayFactory(date=day, clinic=clinic)
    TimeOffFactory(doctor=doctor, starts_at=local(TODAY, 0), ends_at=local(TODAY, 23))


def test_availability_costs_four_queries_for_a_day_or_a_month(
    doctor, clinic, django_assert_num_queries
):
    fill_busy_month(doctor, clinic)
    last_day = TODAY + dt.timedelta(days=30)
    with django_assert_num_queries(4):
        availability_for(doctor=doctor, clinic=clinic, first_day=TODAY, last_day=TODAY)
    with django_assert_num_queries(4):
        month = availability_for(doctor=doctor, clinic=clinic, first_day=TODAY, last_day=last_day)
    assert len(month.closed_days) == 4
    assert len(month.busy) == 28 + 1  # cancelled appointments hold no time; the time off does


def test_open_slots_leave_out_booked_time_holidays_and_time_off(doctor, clinic):
    fill_busy_month(doctor, clinic)
    slots = open_slots(doctor=doctor, clinic=clinic, now=NOW)
    starts = {slot.start for slot in slots}

    tomorrow = TODAY + dt.timedelta(days=1)
    assert local(tomorrow, 9) not in starts  # booked
    assert local(tomorrow, 10) in starts  # its appointment was cancelled
    assert not any(slot.start.astimezone(KOLKATA).date() == TODAY for slot in slots)  # time off
    assert not any(
        slot.start.astimezone(KOLKATA).date() == TODAY + dt.timedelta(days=7) for slot in slots
    )  # a holiday


def test_an_appointment_at_another_clinic_makes_the_doctor_busy_here_too(doctor, clinic):
    tomorrow = TODAY + dt.timedelta(days=1)
    AppointmentFactory(doctor=doctor, clinic=ClinicFactory(), start=local(tomorrow, 9, 30))
    assert not slot_is_open(doctor=doctor, clinic=clinic, start=local(tomorrow, 9, 30), now=NOW)
    assert slot_is_open(doctor=doctor, clinic=clinic, start=local(tomorrow, 10), now=NOW)


def test_slot_is_open_can_ignore_the_appointment_being_moved(doctor, clinic):
    tomorrow = TODAY + dt.timedelta(days=1)
    moving = AppointmentFactory(doctor=doctor, clinic=clinic, start=local(tomorrow, 9))
    assert not slot_is_open(doctor=doctor, clinic=clinic, start=local(tomorrow, 9), now=NOW)
    assert slot_is_open(
        doctor=doctor, clinic=clinic, start=local(tomorrow, 9), now=NOW, ignoring=moving
    )


def test_slot_is_open_refuses_days_outside_the_window(doctor, clinic):
    assert not slot_is_open(
        doctor=doctor, clinic=clinic, start=local(TODAY + dt.timedelta(days=31), 9), now=NOW
    )
    assert slot_is_open(
        doctor=doctor, clinic=clinic, start=local(TODAY + dt.timedelta(days=30), 9), now=NOW
    )
