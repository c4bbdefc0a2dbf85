"""The "first available" selector: the next free times across a department's doctors or one
doctor's clinics, what it leaves out, and how many queries it costs.

Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru (04:00 UTC); with an hour's notice
the first time offered today is 10:30, and the booking window runs to 31 December.
"""

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test.utils import override_settings

from bookings.bulk_slots import free_slots_of_pairs
from bookings.first_available import (
    all_pairs,
    department_pairs,
    doctor_pairs,
    first_available,
    first_available_by,
)
from bookings.models import Status
from bookings.selectors import open_slots
from bookings.tests.factories import AppointmentFactory, SlotHoldFactory
from doctors.models import Doctor, Holiday
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
UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)  # a Tuesday
TODAY = NOW.date()
TOMORROW = TODAY + dt.timedelta(days=1)
LAST_BOOKABLE_DAY = dt.date(2026, 12, 31)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def default_rules(settings):
    """The documented defaults, whatever the environment sets."""
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60


def local(day, hour, minute=0, zone=KOLKATA):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def london():
    return ClinicFactory(name="Riverside", timezone="Europe/London")


@pytest.fixture
def department():
    return DepartmentFactory(name="Cardiology", opens_at=dt.time(0), closes_at=dt.time(23, 59))


def make_doctor(department, clinic, name, *, weekdays=range(7), hours=(9, 13), **fields):
    """A doctor with 30-minute slots working `hours` on `weekdays` at `clinic`."""
    doctor = DoctorFactory(full_name=name, department=department, slot_minutes=30, **fields)
    add_hours(doctor, clinic, weekdays=weekdays, hours=hours)
    return doctor


def add_hours(doctor, clinic, *, weekdays=range(7), hours=(9, 13)):
    starts_at, ends_at = (dt.time(*h) if isinstance(h, tuple) else dt.time(h) for h in hours)
    for weekday in weekdays:
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=starts_at, ends_at=ends_at
        )


def loaded(doctor):
    return Doctor.objects.select_related("department").get(pk=doctor.pk)


def starts(times):
    return [time.start for time in times]


def of_department(department, **kwargs):
    return first_available(department_pairs(department, now=NOW), now=NOW, **kwargs)


# What is offered ---------------------------------------------------------------------------------


def test_first_times_follow_working_hours_after_the_minimum_notice(department, clinic):
    make_doctor(department, clinic, "Dr Asha Rao")

    times = of_department(department)

    assert starts(times) == [local(TODAY, 10, 30), local(TODAY, 11), local(TODAY, 11, 30),
                             local(TODAY, 12), local(TODAY, 12, 30)]  # fmt: skip
    assert {(time.doctor.full_name, time.clinic.name) for time in times} == {
        ("Dr Asha Rao", "Lakeview")
    }
    assert all(time.end - time.start == dt.timedelta(minutes=30) for time in times)


def test_times_across_doctors_are_in_time_order_ties_by_name(department, clinic):
    make_doctor(department, clinic, "Dr Zoya Khan", hours=(11, 13))
    make_doctor(department, clinic, "Dr Anil Menon", hours=(12, 13))

    times = of_department(department)

    assert [(time.start, time.doctor.full_name) for time in times] == [
        (local(TODAY, 11), "Dr Zoya Khan"),
        (local(TODAY, 11, 30), "Dr Zoya Khan"),
        (local(TODAY, 12), "Dr Anil Menon"),
        (local(TODAY, 12), "Dr Zoya Khan"),
        (local(TODAY, 12, 30), "Dr Anil Menon"),
    ]


def test_breaks_and_the_departments_opening_hours_are_respected(clinic):
    department = DepartmentFactory(opens_at=dt.time(10), closes_at=dt.time(12))
    doctor = make_doctor(department, clinic, "Dr Asha Rao", hours=(8, 11))
    add_hours(doctor, clinic, hours=((11, 30), (14, 0)))  # back from a break at 11:30

    times = of_department(department, count=4)

    # 10:30 (notice), then the break at 11:00-11:30, 11:30, then closing at 12:00; tomorrow 10:00.
    assert starts(times) == [local(TODAY, 10, 30), local(TODAY, 11, 30), local(TOMORROW, 10),
                             local(TOMORROW, 10, 30)]  # fmt: skip


def test_holidays_time_off_and_appointments_are_not_free(department, clinic, london):
    doctor = make_doctor(department, clinic, "Dr Asha Rao")
    TimeOffFactory(doctor=doctor, starts_at=local(TODAY, 0), ends_at=local(TODAY, 23))
    HolidayFactory(date=TOMORROW, clinic=clinic)
    HolidayFactory(date=TOMORROW + dt.timedelta(days=1), clinic=None)  # every clinic
    third = TOMORROW + dt.timedelta(days=2)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(third, 9))
    # An appointment at another clinic takes the doctor's time too; a cancelled one frees it.
    AppointmentFactory(doctor=doctor, clinic=london, start=local(third, 9, 30))
    AppointmentFactory(
        doctor=doctor, clinic=clinic, start=local(third, 10), status=Status.CANCELLED
    )

    times = of_department(department, count=3)

    assert starts(times) == [local(third, 10), local(third, 10, 30), local(third, 11)]


def test_times_another_patient_holds_are_not_free_but_ones_own_are(department, clinic):
    doctor = make_doctor(department, clinic, "Dr Asha Rao")
    mine = SlotHoldFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 10, 30))
    SlotHoldFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 11))
    # An expired hold keeps nothing.
    SlotHoldFactory(
        doctor=doctor,
        clinic=clinic,
        start=local(TODAY, 11, 30),
        created_at=NOW - dt.timedelta(minutes=30),
    )

    anyone = of_department(department, count=2)
    holder = of_department(department, count=2, held_for=mine.patient)

    assert starts(anyone) == [local(TODAY, 11, 30), local(TODAY, 12)]
    assert starts(holder) == [local(TODAY, 10, 30), local(TODAY, 11, 30)]


def test_the_last_day_of_the_window_is_searched_and_nothing_after_it(department, clinic):
    # Works Thursdays only; every Thursday but the last one of the window is time off.
    doctor = make_doctor(department, clinic, "Dr Asha Rao", weekdays=[3])
    for day in (3, 10, 17, 24):
        thursday = dt.date(2026, 12, day)
        TimeOffFactory(doctor=doctor, starts_at=local(thursday, 0), ends_at=local(thursday, 23))
    assert LAST_BOOKABLE_DAY.weekday() == 3

    times = of_department(department, count=10)

    assert starts(times) == [local(LAST_BOOKABLE_DAY, hour, minute)
                             for hour in (9, 10, 11, 12) for minute in (0, 30)]  # fmt: skip


def test_nothing_free_in_the_window_is_an_empty_list(department, clinic):
    doctor = make_doctor(department, clinic, "Dr Asha Rao")
    TimeOffFactory(
        doctor=doctor, starts_at=local(TODAY, 0), ends_at=local(TODAY + dt.timedelta(days=40), 0)
    )

    assert of_department(department) == []


def test_fewer_times_than_asked_are_all_returned(department, clinic):
    doctor = make_doctor(department, clinic, "Dr Asha Rao", weekdays=[3], hours=(9, 10))
    TimeOffFactory(doctor=doctor, starts_at=local(TODAY, 0), ends_at=local(LAST_BOOKABLE_DAY, 0))

    assert starts(of_department(department)) == [local(LAST_BOOKABLE_DAY, 9),
                                                 local(LAST_BOOKABLE_DAY, 9, 30)]  # fmt: skip


def test_no_times_after_the_doctors_registration_lapses(department, clinic):
    make_doctor(
        department,
        clinic,
        "Dr Asha Rao",
        hours=(9, 10),
        registration_expires_on=TOMORROW,
    )

    times = of_department(department, count=10)

    # Today's 09:00-10:00 is before the notice; tomorrow is the last valid day.
    assert starts(times) == [local(TOMORROW, 9), local(TOMORROW, 9, 30)]


def test_a_registration_valid_for_ever_limits_nothing(department, clinic):
    make_doctor(
        department, clinic, "Dr Asha Rao", weekdays=[3], registration_expires_on=dt.date.max
    )

    times = of_department(department, count=40)

    assert len(times) == 5 * 8  # every Thursday of the window, 09:00-13:00
    assert times[-1].start == local(LAST_BOOKABLE_DAY, 12, 30)


def test_only_doctors_taking_bookings_are_searched(department, clinic):
    make_doctor(department, clinic, "Dr Asha Rao", hours=(12, 13))
    make_doctor(department, clinic, "Dr Inactive", is_active=False)
    make_doctor(
        department, clinic, "Dr Lapsed", registration_expires_on=TODAY - dt.timedelta(days=1)
    )
    make_doctor(DepartmentFactory(), clinic, "Dr Elsewhere")

    names = {time.doctor.full_name for time in of_department(department, count=10)}

    assert names == {"Dr Asha Rao"}


def test_clinics_in_other_zones_are_ordered_by_the_instant(department, clinic, london):
    # Thursday 00:30 in Bengaluru is Wednesday 19:00 UTC; Wednesday 22:00 in London is 22:00
    # UTC. The first span of days, today and tomorrow (Wednesday), ends sooner in Bengaluru than
    # in London: the London time is found in it, the earlier Bengaluru one (on Thursday, local)
    # only in the next.
    early = make_doctor(department, clinic, "Dr Zoya Khan", weekdays=[3], hours=((0, 30), (1, 0)))
    make_doctor(department, london, "Dr Anil Menon", weekdays=[2], hours=(22, 23))

    times = of_department(department, count=2)

    assert [(time.start.astimezone(UTC), time.clinic.name) for time in times] == [
        (dt.datetime(2026, 12, 2, 19, tzinfo=UTC), "Lakeview"),
        (dt.datetime(2026, 12, 2, 22, tzinfo=UTC), "Riverside"),
    ]
    assert times[0].doctor == early


def test_a_doctors_first_times_across_their_clinics(department, clinic, london):
    doctor = make_doctor(department, clinic, "Dr Asha Rao", hours=(9, 10))
    add_hours(doctor, london, hours=(8, 9))  # 08:00 London is 13:30 Bengaluru in December
    make_doctor(department, clinic, "Dr Someone Else")

    times = first_available(doctor_pairs(loaded(doctor), now=NOW), now=NOW, count=4)

    assert [(time.start, time.clinic.name) for time in times] == [
        (local(TODAY, 8, zone=LONDON), "Riverside"),
        (local(TODAY, 8, 30, zone=LONDON), "Riverside"),
        (local(TOMORROW, 9), "Lakeview"),
        (local(TOMORROW, 9, 30), "Lakeview"),
    ]


def test_a_doctor_is_offered_where_the_registration_is_still_valid_on_the_clinics_date(
    department, london
):
    # 04:00 UTC on 1 December is still 30 November in New York: a registration that ran out on
    # 30 November lapsed in London's calendar, not yet in New York's.
    new_york = ClinicFactory(name="Midtown", timezone="America/New_York")
    doctor = make_doctor(
        department, london, "Dr Asha Rao", registration_expires_on=TODAY - dt.timedelta(days=1)
    )
    add_hours(doctor, new_york, hours=(14, 17))

    pairs = doctor_pairs(loaded(doctor), now=NOW)

    assert [pair.clinic.name for pair in pairs] == ["Midtown"]


def test_each_group_gets_its_own_first_times(clinic):
    cardiology = DepartmentFactory(name="Cardiology")
    skin = DepartmentFactory(name="Dermatology")
    make_doctor(cardiology, clinic, "Dr Asha Rao", hours=(9, 13))
    # Dermatology's only doctor works Saturdays only: its first times are days later.
    make_doctor(skin, clinic, "Dr Bela Das", weekdays=[5], hours=(9, 10))

    found = first_available_by(
        all_pairs(now=NOW), group=lambda pair: pair.doctor.department.name, now=NOW, count=2
    )

    assert {name: starts(times) for name, times in found.items()} == {
        "Cardiology": [local(TODAY, 10, 30), local(TODAY, 11)],
        "Dermatology": [local(dt.date(2026, 12, 5), 9), local(dt.date(2026, 12, 5), 9, 30)],
    }


def test_first_times_are_the_booking_pages_own(department, clinic, london):
    """Every time offered is one the date picker's reader offers that doctor at that clinic."""
    doctor = make_doctor(department, clinic, "Dr Asha Rao")
    add_hours(doctor, london, hours=(8, 11))
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 11))
    SlotHoldFactory(doctor=doctor, clinic=london, start=local(TODAY, 8, zone=LONDON))

    times = first_available(doctor_pairs(loaded(doctor), now=NOW), now=NOW, count=40)

    assert len(times) == 40
    for time in times:
        offered = open_slots(doctor=loaded(doctor), clinic=time.clinic, now=NOW)
        assert time.start in {slot.start for slot in offered}


# Queries -----------------------------------------------------------------------------------------


def busy_department(clinic, doctors):
    department = DepartmentFactory()
    for number in range(doctors):
        doctor = make_doctor(department, clinic, f"Dr Number {number}")
        AppointmentFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 11))
        TimeOffFactory(doctor=doctor, starts_at=local(TOMORROW, 9), ends_at=local(TOMORROW, 10))
        SlotHoldFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 12))
    Holiday.objects.get_or_create(date=TOMORROW, clinic=clinic)
    return department


@pytest.mark.parametrize("doctors", [1, 8])
def test_one_span_costs_six_queries_whatever_the_number_of_doctors(
    clinic, doctors, django_assert_num_queries
):
    department = busy_department(clinic, doctors)

    # The doctors, their hours and clinics; then holidays, time off, bookings and holds.
    with django_assert_num_queries(6):
        times = of_department(department, count=3)

    assert len(times) == 3


@pytest.mark.parametrize("doctors", [1, 8])
def test_searching_the_whole_window_costs_eighteen_queries_whatever_the_number_of_doctors(
    clinic, doctors, django_assert_num_queries
):
    department = busy_department(clinic, doctors)
    Doctor.objects.filter(department=department).update(registration_expires_on=TODAY)

    # The pairs (three queries), then three for each span: 2, 4, 8, 16 days and the last day.
    with django_assert_num_queries(18):
        times = of_department(department, count=200)

    assert len(times) == doctors * 3  # 10:30 and 12:30 (11:00 booked, 12:00 held), and 11:30


def test_a_department_page_s_groups_cost_no_more_queries_than_one(
    clinic, django_assert_num_queries
):
    for _ in range(4):
        busy_department(clinic, 3)

    with django_assert_num_queries(6):
        found = first_available_by(
            all_pairs(now=NOW), group=lambda pair: pair.doctor.department_id, now=NOW, count=2
        )

    assert len(found) == 4
    assert all(len(times) == 2 for times in found.values())


def test_free_slots_of_pairs_without_a_holder_offers_held_times_to_nobody(department, clinic):
    doctor = make_doctor(department, clinic, "Dr Asha Rao", hours=(10, 11))
    held = SlotHoldFactory(doctor=doctor, clinic=clinic, start=local(TOMORROW, 10))
    pairs = doctor_pairs(loaded(doctor), now=NOW)
    days = {clinic.pk: (TOMORROW, TOMORROW)}

    nobody = free_slots_of_pairs(pairs, days=days, now=NOW)
    holder = free_slots_of_pairs(pairs, days=days, now=NOW, held_for=held.patient)

    assert [slot.start for _, slot in nobody] == [local(TOMORROW, 10, 30)]
    assert [slot.start for _, slot in holder] == [local(TOMORROW, 10), local(TOMORROW, 10, 30)]


@override_settings(BOOKING_WINDOW_DAYS=1)
def test_a_short_window_ends_the_search_early(department, clinic, django_assert_num_queries):
    make_doctor(department, clinic, "Dr Asha Rao", hours=(9, 10))

    # Today and tomorrow are the whole window: five times are never found, and one span it is.
    with django_assert_num_queries(6):
        times = of_department(department)

    assert starts(times) == [local(TOMORROW, 9), local(TOMORROW, 9, 30)]


# Against the booking pages' own reader ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_first_times_are_the_earliest_of_every_pairs_open_slots(seed, clinic, london):
    """Random doctors at two clinics in different zones, with random hours, bookings, time off
    and holidays: the first times are exactly the earliest of what open_slots offers each pair
    over the whole window, however the spans of days fall."""
    rng = random.Random(seed)
    department = DepartmentFactory(opens_at=dt.time(0), closes_at=dt.time(23, 59))
    for number in range(4):
        doctor = DoctorFactory(
            full_name=f"Dr {rng.choice('ABC')} {number}",
            department=department,
            slot_minutes=rng.choice([15, 20, 30]),
        )
        for place in rng.sample([clinic, london], rng.randint(1, 2)):
            weekdays = rng.sample(range(7), rng.randint(1, 3))
            # Even hours in Bengaluru, odd ones in London: never two rows starting together.
            start = rng.randrange(0, 11) * 2 + (1 if place is london else 0)
            add_hours(doctor, place, weekdays=weekdays, hours=(start, start + 2))
        for _ in range(rng.randint(0, 3)):
            day = TODAY + dt.timedelta(days=rng.randint(0, 30))
            TimeOffFactory(
                doctor=doctor,
                starts_at=local(day, 0),
                ends_at=local(day, 0) + dt.timedelta(hours=rng.randint(6, 60)),
            )
    for _ in range(2):
        Holiday.objects.get_or_create(
            date=TODAY + dt.timedelta(days=rng.randint(0, 30)),
            clinic=rng.choice([clinic, london, None]),
        )
    count = rng.choice([1, 5, 12])

    pairs = department_pairs(department, now=NOW)
    times = first_available(pairs, now=NOW, count=count)

    offered = sorted(
        (slot.start, pair.doctor.full_name, pair.doctor.pk, pair.clinic.name)
        for pair in pairs
        for slot in open_slots(doctor=pair.doctor, clinic=pair.clinic, now=NOW)
    )
    assert offered  # something to find
    assert [
        (time.start, time.doctor.full_name, time.doctor.pk, time.clinic.name) for time in times
    ] == offered[:count]
