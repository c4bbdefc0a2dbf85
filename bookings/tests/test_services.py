"""Booking, cancelling and moving appointments: every rule, and nothing saved when one says no.

Times are built around a fixed "now" (NOW, a Monday morning in Kolkata) passed to the services, so
the tests do not depend on today's date or weekday.
"""

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.tests.factories import PatientFactory
from bookings import services
from bookings.models import Appointment, AppointmentType, PaymentMode, Status
from bookings.scheduling import at
from bookings.services import (
    BookingError,
    NotAllowed,
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from bookings.tests.factories import AppointmentFactory
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
MONDAY = dt.date(2030, 1, 7)


def local(days, hour, minute=0, second=0):
    """An instant `days` after MONDAY at a wall-clock time in Kolkata."""
    return at(MONDAY + dt.timedelta(days=days), dt.time(hour, minute, second), KOLKATA)


NOW = local(0, 8)  # Monday 08:00
TUESDAY_9 = local(1, 9)


@pytest.fixture(autouse=True)
def default_rules(settings):
    """The documented defaults, whatever the environment sets."""
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    return settings


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


def working_week(doctor, clinic):
    """Monday to Friday, 09:00-12:00 and 14:00-17:00: a lunch break from 12:00 to 14:00."""
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
        WorkingHoursFactory(
            doctor=doctor,
            clinic=clinic,
            weekday=weekday,
            starts_at=dt.time(14),
            ends_at=dt.time(17),
        )


def make_doctor(clinic, **fields):
    fields.setdefault("registration_expires_on", MONDAY + dt.timedelta(days=365))
    fields.setdefault("department", DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)))
    doctor = DoctorFactory(slot_minutes=fields.pop("slot_minutes", 15), **fields)
    working_week(doctor, clinic)
    return doctor


@pytest.fixture
def doctor(clinic):
    return make_doctor(clinic)


@pytest.fixture
def patient():
    return PatientFactory(with_account=True)


@pytest.fixture
def book(patient, doctor, clinic):
    """book(start) books as the patient themselves at NOW; keywords override any argument."""

    def book(start, **overrides):
        arguments = {
            "patient": patient,
            "doctor": doctor,
            "clinic": clinic,
            "start": start,
            "appointment_type": AppointmentType.CONSULTATION,
            "payment_mode": PaymentMode.AT_CLINIC,
            "reason": "Back pain",
            "by": patient.user,
            "now": NOW,
        }
        arguments.update(overrides)
        return book_appointment(**arguments)

    return book


def snapshot():
    return list(Appointment.objects.order_by("pk").values())


def refused(error, action, *, saying):
    """Runs `action`, checks it raised `error` with a message containing `saying`, and that no
    appointment was created or changed."""
    before = snapshot()
    with pytest.raises(error) as excinfo:
        action()
    assert isinstance(excinfo.value, BookingError)
    assert saying in str(excinfo.value)
    assert snapshot() == before
    return excinfo.value


def local_hhmm(instant):
    return instant.astimezone(KOLKATA).strftime("%a %H:%M")


# --- Booking ----------------------------------------------------------------------------------


def test_patient_books_a_free_slot_for_the_doctors_slot_length(book, patient, doctor, clinic):
    appointment = book(
        TUESDAY_9, appointment_type=AppointmentType.FOLLOW_UP, payment_mode=PaymentMode.ONLINE
    )
    appointment = Appointment.objects.get(pk=appointment.pk)
    assert appointment.patient == patient
    assert (appointment.doctor, appointment.clinic) == (doctor, clinic)
    assert appointment.start == TUESDAY_9
    assert appointment.end == local(1, 9, 15)
    assert appointment.status == Status.BOOKED
    assert appointment.appointment_type == AppointmentType.FOLLOW_UP
    assert appointment.payment_mode == PaymentMode.ONLINE
    assert appointment.reason == "Back pain"
    assert appointment.created_by == patient.user
    assert appointment.rescheduled_from is None


def test_staff_books_for_a_walk_in_patient(book, front_desk_user):
    walk_in = PatientFactory()
    appointment = book(TUESDAY_9, patient=walk_in, by=front_desk_user)
    assert appointment.patient == walk_in
    assert appointment.created_by == front_desk_user


def test_the_end_follows_the_doctors_current_slot_length(book, doctor):
    doctor.slot_minutes = 20
    doctor.save()
    appointment = book(local(1, 9, 20))
    assert appointment.end - appointment.start == dt.timedelta(minutes=20)


def test_booking_uses_the_current_time_when_none_is_given(book):
    with time_machine.travel(local(0, 8, 30), tick=False):
        refused(NotAllowed, lambda: book(local(0, 9), now=None), saying="at least 60 minutes")
        assert book(local(0, 9, 30), now=None).start == local(0, 9, 30)


def test_booking_is_open_up_to_30_days_ahead_by_default(book):
    assert book(local(30, 16, 45)).start == local(30, 16, 45)  # the last slot of the last day
    refused(NotAllowed, lambda: book(local(31, 9)), saying="up to 30 days ahead")


def test_the_booking_window_follows_the_setting(book, default_rules):
    default_rules.BOOKING_WINDOW_DAYS = 7
    refused(NotAllowed, lambda: book(local(8, 9)), saying="up to 7 days ahead")
    assert book(local(7, 9)).start == local(7, 9)


def test_booking_needs_the_minimum_notice(book):
    now = local(0, 8, 30)
    refused(NotAllowed, lambda: book(local(0, 9), now=now), saying="at least 60 minutes ahead")
    refused(NotAllowed, lambda: book(local(0, 9, 15), now=now), saying="at least 60 minutes")
    assert book(local(0, 9, 30), now=now).start == local(0, 9, 30)  # exactly the notice


def test_the_minimum_notice_follows_the_setting(book, default_rules):
    default_rules.BOOKING_MINIMUM_NOTICE_MINUTES = 120
    refused(NotAllowed, lambda: book(local(0, 9, 45)), saying="at least 120 minutes ahead")
    assert book(local(0, 10)).start == local(0, 10)


@pytest.mark.parametrize(
    "start",
    [local(1, 9), local(1, 11, 45), local(0, 9)],
    ids=["this-morning", "just-now", "yesterday"],
)
def test_a_time_in_the_past_cannot_be_booked(book, start):
    refused(NotAllowed, lambda: book(start, now=local(1, 11, 45)), saying="already passed")


@pytest.mark.parametrize(
    "start",
    [
        local(1, 9, 7),
        local(1, 9, 5),
        local(1, 9, 0, 30),
        local(1, 9) + dt.timedelta(microseconds=1),
    ],
    ids=["09:07", "09:05", "09:00:30", "a-microsecond-late"],
)
def test_a_time_off_the_slot_grid_cannot_be_booked(book, start):
    refused(NotAllowed, lambda: book(start), saying="not one of the doctor's appointment times")


@pytest.mark.parametrize(
    "start",
    [local(1, 8), local(1, 8, 45), local(1, 17), local(1, 18, 30), local(5, 10), local(6, 10)],
    ids=["before-hours", "just-before-hours", "end-of-hours", "evening", "saturday", "sunday"],
)
def test_a_time_outside_the_doctors_working_hours_cannot_be_booked(book, start):
    refused(NotAllowed, lambda: book(start), saying="not one of the doctor's appointment times")


@pytest.mark.parametrize(
    "start", [local(1, 12), local(1, 12, 30), local(1, 13, 45)], ids=["12:00", "12:30", "13:45"]
)
def test_a_time_in_the_doctors_break_cannot_be_booked(book, start):
    refused(NotAllowed, lambda: book(start), saying="not one of the doctor's appointment times")


def test_the_slots_either_side_of_the_break_can_be_booked(book):
    assert book(local(1, 11, 45)).end == local(1, 12)
    assert book(local(1, 14)).start == local(1, 14)


def test_a_time_outside_the_departments_operating_hours_cannot_be_booked(book, doctor):
    department = doctor.department
    department.opens_at, department.closes_at = dt.time(9, 30), dt.time(11)
    department.save()
    refused(NotAllowed, lambda: book(local(1, 9, 15)), saying="not one of the doctor's")
    refused(NotAllowed, lambda: book(local(1, 11)), saying="not one of the doctor's")
    refused(NotAllowed, lambda: book(local(1, 14)), saying="not one of the doctor's")
    assert book(local(1, 10, 45)).end == local(1, 11)


@pytest.mark.parametrize("whose", ["this-clinic", "all-clinics"])
def test_a_holiday_cannot_be_booked(book, clinic, whose):
    HolidayFactory(
        date=MONDAY + dt.timedelta(days=1), clinic=clinic if whose == "this-clinic" else None
    )
    refused(NotAllowed, lambda: book(TUESDAY_9), saying="not one of the doctor's appointment times")
    assert book(local(2, 9)).start == local(2, 9)  # the next day is open


def test_another_clinics_holiday_does_not_close_this_one(book):
    HolidayFactory(date=MONDAY + dt.timedelta(days=1), clinic=ClinicFactory())
    assert book(TUESDAY_9).start == TUESDAY_9


def test_a_time_during_the_doctors_time_off_cannot_be_booked(book, doctor):
    TimeOffFactory(doctor=doctor, starts_at=local(1, 9), ends_at=local(1, 10, 5))
    for start in (local(1, 9), local(1, 9, 45), local(1, 10)):  # the last one is partly off
        error = refused(
            NotAllowed, lambda start=start: book(start), saying="not one of the doctor's"
        )
        assert "taken" not in str(error)
    assert book(local(1, 10, 15)).start == local(1, 10, 15)


def test_a_time_off_the_grid_is_refused_as_such_even_next_to_an_appointment(book):
    """Only a real slot that someone else holds is "taken"; 09:07 was never on offer."""
    book(TUESDAY_9)
    error = refused(NotAllowed, lambda: book(local(1, 9, 7)), saying="not one of the doctor's")
    assert "taken" not in str(error)


def test_an_inactive_doctor_cannot_be_booked(book, doctor):
    doctor.is_active = False
    doctor.save()
    refused(NotAllowed, lambda: book(TUESDAY_9), saying="is not taking appointments")


def test_a_doctor_cannot_be_booked_after_their_registration_expires(book, doctor):
    doctor.registration_expires_on = MONDAY
    doctor.save()
    refused(NotAllowed, lambda: book(TUESDAY_9), saying="not taking appointments on that date")
    assert book(local(0, 16)).start == local(0, 16)  # still registered on the day itself


def test_a_doctor_cannot_be_booked_at_a_clinic_they_do_not_work_at(book):
    elsewhere = ClinicFactory(name="Elsewhere", timezone="Asia/Kolkata")
    refused(
        NotAllowed,
        lambda: book(TUESDAY_9, clinic=elsewhere),
        saying="does not see patients at Elsewhere",
    )


def test_a_patient_cannot_hold_more_open_appointments_than_the_cap(book, patient, doctor, clinic):
    for hour in (9, 10, 11):
        book(local(1, hour))
    book(local(2, 9), doctor=make_doctor(clinic))  # the cap counts every doctor
    error = refused(NotAllowed, lambda: book(local(3, 9)), saying="already have 4 upcoming")
    assert "cancel one" in str(error)
    other_patient = PatientFactory(with_account=True)
    assert book(local(3, 9), patient=other_patient, by=other_patient.user)


def test_cancelled_and_finished_appointments_do_not_count_towards_the_cap(
    book, patient, doctor, clinic, default_rules
):
    default_rules.BOOKING_MAX_OPEN_PER_PATIENT = 1
    AppointmentFactory(
        patient=patient, doctor=doctor, clinic=clinic, start=local(2, 9), status=Status.CANCELLED
    )
    AppointmentFactory(
        patient=patient, doctor=doctor, clinic=clinic, start=local(-1, 9), status=Status.COMPLETED
    )
    AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(0, 7, 45))
    first = book(TUESDAY_9)
    refused(NotAllowed, lambda: book(local(1, 10)), saying="already have 1 upcoming")
    cancel_appointment(appointment=first, by=patient.user, now=NOW)
    assert book(local(1, 10)).start == local(1, 10)


def test_a_checked_in_appointment_still_counts_towards_the_cap(
    book, patient, doctor, clinic, default_rules
):
    default_rules.BOOKING_MAX_OPEN_PER_PATIENT = 1
    AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=local(0, 7, 50),
        end=local(0, 8, 5),
        status=Status.CHECKED_IN,
    )
    refused(NotAllowed, lambda: book(TUESDAY_9), saying="already have 1 upcoming")


def test_a_taken_slot_cannot_be_booked_again(book):
    book(TUESDAY_9)
    someone_else = PatientFactory(with_account=True)
    refused(
        SlotUnavailable,
        lambda: book(TUESDAY_9, patient=someone_else, by=someone_else.user),
        saying="that time was just taken",
    )


def test_a_cancelled_appointment_does_not_block_its_slot(book, patient):
    cancel_appointment(appointment=book(TUESDAY_9), by=patient.user, now=NOW)
    someone_else = PatientFactory(with_account=True)
    assert book(TUESDAY_9, patient=someone_else, by=someone_else.user).start == TUESDAY_9


def test_a_30_minute_slot_that_would_overlap_another_appointment_is_refused(book, patient, clinic):
    doctor = make_doctor(clinic, slot_minutes=30)
    # Booked while the doctor's slots were 15 minutes long.
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(1, 9, 15), end=local(1, 9, 30))
    refused(SlotUnavailable, lambda: book(local(1, 9), doctor=doctor), saying="just taken")
    assert book(local(1, 9, 30), doctor=doctor).end == local(1, 10)


def test_the_doctors_appointment_at_another_clinic_blocks_the_time(book, doctor):
    AppointmentFactory(
        doctor=doctor, clinic=ClinicFactory(), start=local(1, 9, 10), end=local(1, 9, 25)
    )
    refused(SlotUnavailable, lambda: book(local(1, 9)), saying="just taken")
    refused(SlotUnavailable, lambda: book(local(1, 9, 15)), saying="just taken")
    assert book(local(1, 9, 30)).start == local(1, 9, 30)


def test_another_doctors_appointment_does_not_block_the_time(book, doctor, clinic):
    colleague = make_doctor(clinic)
    AppointmentFactory(doctor=colleague, clinic=clinic, start=TUESDAY_9)
    assert book(TUESDAY_9).doctor == doctor


def test_a_race_lost_at_the_database_is_a_friendly_slot_unavailable(book, monkeypatch):
    """As if another booking slipped in after the check: the unique constraint catches it."""
    book(TUESDAY_9)

    def blind_to_appointments(**kwargs):
        slot = real_requested_slot(**kwargs)
        return dataclasses.replace(slot, availability=slot.availability_if_unbooked)

    real_requested_slot = services.requested_slot
    monkeypatch.setattr(services, "requested_slot", blind_to_appointments)
    someone_else = PatientFactory(with_account=True)
    refused(
        SlotUnavailable,
        lambda: book(TUESDAY_9, patient=someone_else, by=someone_else.user),
        saying="just taken",
    )


# --- Cancelling -------------------------------------------------------------------------------


@pytest.fixture
def appointment(book):
    """The patient's appointment on Tuesday at 09:00, booked on Monday morning."""
    return book(TUESDAY_9)


def test_patient_cancels_their_appointment_ahead_of_the_cutoff(appointment, patient):
    cancelled = cancel_appointment(
        appointment=appointment, by=patient.user, reason="Feeling better", now=NOW
    )
    appointment.refresh_from_db()
    assert appointment.status == cancelled.status == Status.CANCELLED
    assert appointment.cancelled_at == NOW
    assert appointment.cancelled_by == patient.user
    assert appointment.cancellation_reason == "Feeling better"
    assert not appointment.was_rescheduled


def test_patient_cannot_cancel_inside_the_cutoff(appointment, patient):
    three_hours_59_before = local(1, 5, 1)
    refused(
        NotAllowed,
        lambda: cancel_appointment(
            appointment=appointment, by=patient.user, now=three_hours_59_before
        ),
        saying="up to 4 hours before",
    )
    assert Appointment.objects.get(pk=appointment.pk).status == Status.BOOKED


def test_patient_may_cancel_exactly_at_the_cutoff(appointment, patient):
    cancel_appointment(appointment=appointment, by=patient.user, now=local(1, 5))
    assert Appointment.objects.get(pk=appointment.pk).status == Status.CANCELLED


def test_the_cancellation_cutoff_follows_the_setting(appointment, patient, default_rules):
    default_rules.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 24
    refused(
        NotAllowed,
        lambda: cancel_appointment(appointment=appointment, by=patient.user, now=local(0, 10)),
        saying="up to 24 hours before",
    )


@pytest.mark.parametrize("staff", ["front_desk_user", "clinic_admin_user", "doctor_user"])
def test_staff_may_cancel_inside_the_cutoff(appointment, staff, request):
    user = request.getfixturevalue(staff)
    cancel_appointment(appointment=appointment, by=user, now=local(1, 8, 50))
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancelled_by == user


def test_staff_may_cancel_a_walk_in_patients_appointment_inside_the_cutoff(book, front_desk_user):
    appointment = book(TUESDAY_9, patient=PatientFactory(), by=front_desk_user)
    cancel_appointment(appointment=appointment, by=front_desk_user, now=local(1, 8))
    assert Appointment.objects.get(pk=appointment.pk).status == Status.CANCELLED


def test_cancelling_twice_is_refused_and_keeps_the_first_cancellation(
    appointment, patient, front_desk_user
):
    cancel_appointment(appointment=appointment, by=patient.user, reason="Travelling", now=NOW)
    # `appointment` is now stale (still "booked" in memory): the service must read it afresh.
    refused(
        NotAllowed,
        lambda: cancel_appointment(appointment=appointment, by=front_desk_user, now=local(0, 9)),
        saying="can no longer be cancelled",
    )
    appointment.refresh_from_db()
    assert (appointment.cancelled_by, appointment.cancelled_at) == (patient.user, NOW)
    assert appointment.cancellation_reason == "Travelling"


@pytest.mark.parametrize(
    "now", [TUESDAY_9, local(1, 9, 5), local(2, 9)], ids=["at-the-start", "during", "the-day-after"]
)
def test_an_appointment_that_has_started_cannot_be_cancelled_even_by_staff(
    appointment, now, front_desk_user
):
    refused(
        NotAllowed,
        lambda: cancel_appointment(appointment=appointment, by=front_desk_user, now=now),
        saying="already started",
    )


@pytest.mark.parametrize("status", [Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW])
def test_only_a_booked_appointment_can_be_cancelled(appointment, status, front_desk_user):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    refused(
        NotAllowed,
        lambda: cancel_appointment(appointment=appointment, by=front_desk_user, now=NOW),
        saying="can no longer be cancelled",
    )


def test_cancelling_uses_the_current_time_when_none_is_given(appointment, patient):
    with time_machine.travel(local(1, 6), tick=False):
        refused(
            NotAllowed,
            lambda: cancel_appointment(appointment=appointment, by=patient.user),
            saying="up to 4 hours before",
        )


# --- Rescheduling -----------------------------------------------------------------------------


def test_rescheduling_moves_the_appointment_and_links_the_new_one_to_the_old(
    book, patient, doctor, clinic
):
    old = book(
        TUESDAY_9,
        appointment_type=AppointmentType.REPORT_REVIEW,
        payment_mode=PaymentMode.ONLINE,
        reason="Blood test results",
    )
    new = reschedule_appointment(appointment=old, start=local(2, 14, 30), by=patient.user, now=NOW)

    new = Appointment.objects.get(pk=new.pk)
    old.refresh_from_db()
    assert (new.patient, new.doctor, new.clinic) == (patient, doctor, clinic)
    assert (new.start, new.end) == (local(2, 14, 30), local(2, 14, 45))
    assert new.status == Status.BOOKED
    assert new.appointment_type == AppointmentType.REPORT_REVIEW
    assert new.payment_mode == PaymentMode.ONLINE
    assert new.reason == "Blood test results"
    assert new.created_by == patient.user
    assert new.rescheduled_from == old
    assert old.status == Status.CANCELLED
    assert (old.cancelled_at, old.cancelled_by) == (NOW, patient.user)
    assert old.was_rescheduled and old.rescheduled_to == new


def test_the_old_time_is_free_again_after_a_move(book, appointment, patient):
    reschedule_appointment(appointment=appointment, start=local(1, 10), by=patient.user, now=NOW)
    someone_else = PatientFactory(with_account=True)
    assert book(TUESDAY_9, patient=someone_else, by=someone_else.user).start == TUESDAY_9


def test_if_the_new_time_is_taken_the_old_appointment_stays_booked_and_nothing_is_saved(
    book, appointment, patient
):
    someone_else = PatientFactory(with_account=True)
    book(local(1, 10), patient=someone_else, by=someone_else.user)
    refused(
        SlotUnavailable,
        lambda: reschedule_appointment(
            appointment=appointment, start=local(1, 10), by=patient.user, now=NOW
        ),
        saying="just taken",
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED
    assert appointment.cancelled_at is None


def test_a_move_lost_at_the_database_keeps_the_old_appointment_booked(
    book, appointment, patient, monkeypatch
):
    """The old appointment is cancelled before the new one is inserted; when the insert fails
    the cancellation must be rolled back with it."""
    someone_else = PatientFactory(with_account=True)
    book(local(1, 10), patient=someone_else, by=someone_else.user)
    real_requested_slot = services.requested_slot

    def blind_to_appointments(**kwargs):
        slot = real_requested_slot(**kwargs)
        return dataclasses.replace(slot, availability=slot.availability_if_unbooked)

    monkeypatch.setattr(services, "requested_slot", blind_to_appointments)
    refused(
        SlotUnavailable,
        lambda: reschedule_appointment(
            appointment=appointment, start=local(1, 10), by=patient.user, now=NOW
        ),
        saying="just taken",
    )
    assert Appointment.objects.get(pk=appointment.pk).status == Status.BOOKED


@pytest.mark.parametrize(
    ("start", "saying"),
    [
        (local(1, 9, 7), "not one of the doctor's appointment times"),
        (local(1, 12, 30), "not one of the doctor's appointment times"),
        (local(5, 10), "not one of the doctor's appointment times"),
        (local(0, 8, 30), "at least 60 minutes ahead"),
        (local(-1, 10), "already passed"),
        (local(31, 9), "up to 30 days ahead"),
    ],
    ids=[
        "off-grid",
        "in-the-break",
        "saturday",
        "within-the-notice",
        "in-the-past",
        "beyond-the-window",
    ],
)
def test_moving_to_a_time_that_cannot_be_booked_keeps_the_old_appointment(
    appointment, patient, start, saying
):
    refused(
        NotAllowed,
        lambda: reschedule_appointment(
            appointment=appointment, start=start, by=patient.user, now=NOW
        ),
        saying=saying,
    )
    assert Appointment.objects.get(pk=appointment.pk).status == Status.BOOKED


def test_moving_into_the_doctors_time_off_is_refused(appointment, patient, doctor):
    TimeOffFactory(doctor=doctor, starts_at=local(2, 0), ends_at=local(3, 0))
    refused(
        NotAllowed,
        lambda: reschedule_appointment(
            appointment=appointment, start=local(2, 9), by=patient.user, now=NOW
        ),
        saying="not one of the doctor's appointment times",
    )


def test_moving_to_the_current_time_is_refused(appointment, patient):
    refused(
        NotAllowed,
        lambda: reschedule_appointment(
            appointment=appointment, start=TUESDAY_9, by=patient.user, now=NOW
        ),
        saying="current time",
    )


def test_moving_to_a_slot_overlapping_its_own_old_time_is_allowed(book, patient, clinic):
    doctor = make_doctor(clinic, slot_minutes=30)
    old = book(TUESDAY_9, doctor=doctor)  # 09:00-09:30
    doctor.slot_minutes = 15
    doctor.save()
    # 09:15-09:30 lies inside the old appointment, which the move releases.
    new = reschedule_appointment(appointment=old, start=local(1, 9, 15), by=patient.user, now=NOW)
    assert (new.start, new.end) == (local(1, 9, 15), local(1, 9, 30))
    assert Appointment.objects.get(pk=old.pk).status == Status.CANCELLED


def test_another_patient_cannot_take_a_slot_overlapping_an_appointment(book, patient, clinic):
    """The counterpart of the test above: only the appointment being moved is ignored."""
    doctor = make_doctor(clinic, slot_minutes=30)
    book(TUESDAY_9, doctor=doctor)
    doctor.slot_minutes = 15
    doctor.save()
    someone_else = PatientFactory(with_account=True)
    refused(
        SlotUnavailable,
        lambda: book(local(1, 9, 15), doctor=doctor, patient=someone_else, by=someone_else.user),
        saying="just taken",
    )


def test_patient_cannot_move_inside_the_cutoff(appointment, patient):
    refused(
        NotAllowed,
        lambda: reschedule_appointment(
            appointment=appointment, start=local(1, 14), by=patient.user, now=local(1, 6)
        ),
        saying="can be moved online up to 4 hours before",
    )


def test_staff_may_move_inside_the_cutoff(appointment, front_desk_user):
    new = reschedule_appointment(
        appointment=appointment, start=local(1, 14), by=front_desk_user, now=local(1, 8)
    )
    assert new.created_by == front_desk_user
    assert Appointment.objects.get(pk=appointment.pk).cancelled_by == front_desk_user


def test_an_appointment_that_has_started_cannot_be_moved(appointment, front_desk_user):
    refused(
        NotAllowed,
        lambda: reschedule_appointment(
            appointment=appointment, start=local(1, 14), by=front_desk_user, now=local(1, 9, 5)
        ),
        saying="already started",
    )


@pytest.mark.parametrize(
    "status", [Status.CANCELLED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW]
)
def test_only_a_booked_appointment_can_be_moved(appointment, front_desk_user, status):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    refused(
        NotAllowed,
        lambda: reschedule_appointment(
            appointment=appointment, start=local(1, 14), by=front_desk_user, now=NOW
        ),
        saying="Only a booked appointment can be moved",
    )


def test_a_moved_appointment_cannot_be_moved_again_but_its_replacement_can(appointment, patient):
    first_move = reschedule_appointment(
        appointment=appointment, start=local(1, 10), by=patient.user, now=NOW
    )
    refused(
        NotAllowed,
        lambda: reschedule_appointment(
            appointment=appointment, start=local(1, 11), by=patient.user, now=NOW
        ),
        saying="Only a booked appointment can be moved",
    )
    second_move = reschedule_appointment(
        appointment=first_move, start=local(1, 11), by=patient.user, now=NOW
    )
    assert second_move.rescheduled_from == first_move
    assert Appointment.objects.holding_slots().get() == second_move


def test_moving_is_allowed_for_a_patient_at_the_cap(book, appointment, patient, default_rules):
    default_rules.BOOKING_MAX_OPEN_PER_PATIENT = 1
    new = reschedule_appointment(
        appointment=appointment, start=local(1, 10), by=patient.user, now=NOW
    )
    assert new.start == local(1, 10)


def test_an_appointment_cannot_be_moved_once_the_doctor_stops_taking_bookings(
    appointment, patient, doctor
):
    doctor.is_active = False
    doctor.save()
    refused(
        NotAllowed,
        lambda: reschedule_appointment(
            appointment=appointment, start=local(1, 10), by=patient.user, now=NOW
        ),
        saying="is not taking appointments",
    )
