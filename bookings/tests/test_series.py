"""Recurring series (bookings.series): the rule's dates, the preview's free times, clashes and
suggestions, booking the chosen times through the booking service, and cancelling this and the
later ones.

Time is frozen at Monday 5 January 2026, 08:00 in Bengaluru; the booking window is 30 days.
"""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import (
    AppointmentSeries,
    AppointmentType,
    PaymentMode,
    SeriesLink,
    SeriesUnit,
    Status,
)
from bookings.scheduling import at
from bookings.series import (
    SeriesRule,
    SeriesTooLong,
    book_series,
    cancel_this_and_later,
    occurrence_days,
    occurrence_starts,
    plan_series,
    series_of,
)
from bookings.services import NotAllowed
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
MONDAY = dt.date(2026, 1, 5)
NOW = at(MONDAY, dt.time(8), KOLKATA)
WEEKLY = SeriesRule(every=1, unit=SeriesUnit.WEEKS, count=4)


@pytest.fixture(autouse=True)
def rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 12
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.BOOKING_SERIES_MAX_OCCURRENCES = 12


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(
        slot_minutes=30,
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )
    for weekday in range(7):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(11)
        )
    return doctor


@pytest.fixture
def patient():
    return PatientFactory()


def tuesday(weeks=0, hour=9, minute=0):
    return at(MONDAY + dt.timedelta(days=1 + 7 * weeks), dt.time(hour, minute), KOLKATA)


# The rule -----------------------------------------------------------------------------------------


def test_every_two_weeks_four_times():
    rule = SeriesRule(every=2, unit=SeriesUnit.WEEKS, count=4)
    assert occurrence_days(MONDAY, rule, limit=12) == [
        MONDAY + dt.timedelta(days=14 * n) for n in range(4)
    ]


def test_every_three_days_up_to_an_end_date_includes_it():
    rule = SeriesRule(every=3, unit=SeriesUnit.DAYS, until=MONDAY + dt.timedelta(days=9))
    assert occurrence_days(MONDAY, rule, limit=12) == [
        MONDAY + dt.timedelta(days=n) for n in (0, 3, 6, 9)
    ]


def test_an_end_date_before_the_first_gives_nothing():
    rule = SeriesRule(every=1, unit=SeriesUnit.DAYS, until=MONDAY - dt.timedelta(days=1))
    assert occurrence_days(MONDAY, rule, limit=12) == []


def test_more_than_the_limit_is_refused_whether_by_count_or_by_date():
    with pytest.raises(SeriesTooLong, match="at most 12"):
        occurrence_days(MONDAY, SeriesRule(every=1, unit=SeriesUnit.DAYS, count=13), limit=12)
    with pytest.raises(SeriesTooLong, match="would have 13"):
        occurrence_days(
            MONDAY,
            SeriesRule(every=1, unit=SeriesUnit.DAYS, until=MONDAY + dt.timedelta(days=12)),
            limit=12,
        )


def test_the_wall_clock_time_is_kept_across_a_daylight_saving_change():
    # London moves to summer time on Sunday 29 March 2026: 09:00 is 09:00 UTC, then 08:00 UTC.
    first = at(dt.date(2026, 3, 23), dt.time(9), LONDON)
    starts = occurrence_starts(first, LONDON, WEEKLY, limit=12)
    assert [start.astimezone(LONDON).time() for start in starts] == [dt.time(9)] * 4
    assert [start.astimezone(dt.UTC).hour for start in starts] == [9, 8, 8, 8]
    assert starts[1] - starts[0] == dt.timedelta(days=7, hours=-1)


def test_a_zone_without_daylight_saving_keeps_exact_weeks():
    starts = occurrence_starts(tuesday(), KOLKATA, WEEKLY, limit=12)
    assert {b - a for a, b in itertools.pairwise(starts)} == {dt.timedelta(days=7)}


# The preview --------------------------------------------------------------------------------------


def test_a_free_series_is_all_free(doctor, clinic, patient):
    plan = plan_series(
        doctor=doctor, clinic=clinic, first_start=tuesday(), rule=WEEKLY, patient=patient
    )
    assert [o.wanted for o in plan.occurrences] == [tuesday(n) for n in range(4)]
    assert all(o.free and o.suggestion is None for o in plan.occurrences)
    assert plan.free_count == 4
    assert plan.room == 12


def test_a_taken_time_clashes_and_gets_the_next_free_time_of_that_day(doctor, clinic, patient):
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(1))
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(1, 9, 30))
    plan = plan_series(
        doctor=doctor, clinic=clinic, first_start=tuesday(), rule=WEEKLY, patient=patient
    )
    second = plan.occurrences[1]
    assert not second.free
    assert second.suggestion == tuesday(1, 10)
    assert second.choices == [tuesday(1, 10)]
    assert plan.free_count == 3


def test_a_full_day_suggests_the_next_day(doctor, clinic, patient):
    for minute in range(0, 120, 30):
        AppointmentFactory(
            doctor=doctor, clinic=clinic, start=tuesday(1) + dt.timedelta(minutes=minute)
        )
    plan = plan_series(
        doctor=doctor, clinic=clinic, first_start=tuesday(), rule=WEEKLY, patient=patient
    )
    assert plan.occurrences[1].suggestion == tuesday(1) + dt.timedelta(days=1)


def test_a_suggestion_is_never_another_occurrences_time(doctor, clinic, patient):
    # Daily at 09:00 with Tuesday full: Wednesday 09:00 is the next free time, but the series'
    # own second occurrence, so Tuesday's suggestion is Wednesday 09:30.
    for minute in range(0, 120, 30):
        AppointmentFactory(
            doctor=doctor, clinic=clinic, start=tuesday() + dt.timedelta(minutes=minute)
        )
    rule = SeriesRule(every=1, unit=SeriesUnit.DAYS, count=2)
    plan = plan_series(
        doctor=doctor, clinic=clinic, first_start=tuesday(), rule=rule, patient=patient
    )
    first, second = plan.occurrences
    assert second.free and second.wanted == tuesday() + dt.timedelta(days=1)
    assert first.suggestion == tuesday(0, 9, 30) + dt.timedelta(days=1)


def test_times_beyond_the_window_are_marked_without_a_suggestion(doctor, clinic, patient):
    rule = SeriesRule(every=2, unit=SeriesUnit.WEEKS, count=4)
    plan = plan_series(
        doctor=doctor, clinic=clinic, first_start=tuesday(), rule=rule, patient=patient
    )
    assert [o.beyond_window for o in plan.occurrences] == [False, False, False, True]
    assert plan.occurrences[3].suggestion is None and not plan.occurrences[3].free


def test_the_room_under_the_cap_counts_upcoming_appointments(doctor, clinic, patient, settings):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=tuesday(0, 10))
    plan = plan_series(
        doctor=doctor, clinic=clinic, first_start=tuesday(), rule=WEEKLY, patient=patient
    )
    assert plan.room == 3


@pytest.mark.parametrize("count", [2, 12])
def test_the_preview_reads_a_fixed_number_of_queries(doctor, clinic, patient, count):
    rule = SeriesRule(every=1, unit=SeriesUnit.DAYS, count=count)
    with CaptureQueriesContext(connection) as queries:
        plan_series(doctor=doctor, clinic=clinic, first_start=tuesday(), rule=rule, patient=patient)
    assert len(queries) <= 6


# Booking ------------------------------------------------------------------------------------------


def _book(doctor, clinic, patient, starts, by=None, rule=WEEKLY):
    return book_series(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        starts=starts,
        rule=rule,
        appointment_type=AppointmentType.FOLLOW_UP,
        payment_mode=PaymentMode.AT_CLINIC,
        reason="Physiotherapy",
        by=by or UserFactory(),
    )


def test_the_chosen_times_are_booked_and_linked(doctor, clinic, patient):
    result = _book(doctor, clinic, patient, [tuesday(n) for n in range(4)])
    assert not result.refused
    assert [a.start for a in result.booked] == [tuesday(n) for n in range(4)]
    assert {a.status for a in result.booked} == {Status.BOOKED}
    series = result.series
    assert (series.every, series.unit, series.count, series.until) == (1, "weeks", 4, None)
    assert SeriesLink.objects.filter(series=series).count() == 4
    assert series_of(result.booked[2]) == series


def test_a_time_taken_meanwhile_is_refused_and_the_rest_booked(doctor, clinic, patient):
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(2))
    result = _book(doctor, clinic, patient, [tuesday(n) for n in range(4)])
    assert [a.start for a in result.booked] == [tuesday(0), tuesday(1), tuesday(3)]
    [(start, error)] = result.refused
    assert start == tuesday(2) and error.code == "slot_taken"


def test_nothing_booked_makes_no_series(doctor, clinic, patient):
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(1))
    result = _book(doctor, clinic, patient, [tuesday(1)])
    assert result.series is None and not result.booked
    assert not AppointmentSeries.objects.exists()


def test_more_than_the_room_under_the_cap_books_nothing(doctor, clinic, patient, settings):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 3
    with pytest.raises(NotAllowed, match="at most 3 more") as refused:
        _book(doctor, clinic, patient, [tuesday(n) for n in range(4)])
    assert refused.value.code == "cap_reached"
    assert not patient.appointments.exists()


def test_no_time_or_too_many_times_are_refused(doctor, clinic, patient, settings):
    with pytest.raises(NotAllowed, match="at least one"):
        _book(doctor, clinic, patient, [])
    settings.BOOKING_SERIES_MAX_OCCURRENCES = 2
    with pytest.raises(SeriesTooLong):
        _book(doctor, clinic, patient, [tuesday(n) for n in range(3)])
    assert not patient.appointments.exists()


def test_a_time_beyond_the_window_is_refused_by_the_booking_service(doctor, clinic, patient):
    result = _book(doctor, clinic, patient, [tuesday(0), tuesday(5)])
    assert [a.start for a in result.booked] == [tuesday(0)]
    assert result.refused[0][1].code == "outside_window"


# Cancelling ---------------------------------------------------------------------------------------


def test_cancelling_one_leaves_the_others(doctor, clinic, patient):
    from bookings.services import cancel_appointment

    booked = _book(doctor, clinic, patient, [tuesday(n) for n in range(4)]).booked
    cancel_appointment(appointment=booked[1], by=UserFactory())
    statuses = [a.status for a in patient.appointments.order_by("start")]
    assert statuses == ["booked", "cancelled", "booked", "booked"]


def test_cancelling_this_and_later_leaves_the_earlier(doctor, clinic, patient):
    booked = _book(doctor, clinic, patient, [tuesday(n) for n in range(4)]).booked
    cancelled, refused = cancel_this_and_later(
        appointment=booked[1], by=UserFactory(), reason="Moving"
    )
    assert [a.pk for a in cancelled] == [a.pk for a in booked[1:]]
    assert not refused
    statuses = [a.status for a in patient.appointments.order_by("start")]
    assert statuses == ["booked", "cancelled", "cancelled", "cancelled"]


def test_the_patients_cut_off_applies_to_each(doctor, clinic, settings):
    patient = PatientFactory(with_account=True)
    booked = _book(doctor, clinic, patient, [tuesday(n) for n in range(3)]).booked
    # A day and an hour ahead, then eight days and an hour, then fifteen: an eight-day cut-off
    # refuses the first only.
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 24 * 8
    cancelled, refused = cancel_this_and_later(appointment=booked[0], by=patient.user)
    assert [a.pk for a in cancelled] == [booked[1].pk, booked[2].pk]
    assert [(a.pk, e.code) for a, e in refused] == [(booked[0].pk, "past_cutoff")]


def test_an_appointment_in_no_series_is_cancelled_alone(doctor, clinic, patient):
    single = AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=tuesday())
    other = AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=tuesday(1))
    cancelled, _ = cancel_this_and_later(appointment=single, by=UserFactory())
    assert [a.pk for a in cancelled] == [single.pk]
    other.refresh_from_db()
    assert other.status == Status.BOOKED
    assert series_of(single) is None


def test_no_free_time_left_in_the_window_gives_no_suggestion(doctor, clinic, patient, settings):
    settings.BOOKING_WINDOW_DAYS = 8  # up to Tuesday 13 January, the second occurrence's day
    for minute in range(0, 120, 30):
        AppointmentFactory(
            doctor=doctor, clinic=clinic, start=tuesday(1) + dt.timedelta(minutes=minute)
        )
    rule = SeriesRule(every=1, unit=SeriesUnit.WEEKS, count=2)
    plan = plan_series(
        doctor=doctor, clinic=clinic, first_start=tuesday(), rule=rule, patient=patient
    )
    second = plan.occurrences[1]
    assert not second.free and not second.beyond_window and second.suggestion is None
    assert second.choices == []
