"""Slot holds in the booking services and the slot engine: a held time is busy for everyone but
its patient and whoever presents the hold, until it expires or is booked.

Times are built around a fixed "now" (NOW, a Monday morning in Kolkata) passed to the services, as
in test_services.py.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from bookings import selectors
from bookings.models import Appointment, AppointmentType, HoldPurpose, PaymentMode, SlotHold
from bookings.scheduling import at
from bookings.selectors import availability_for, live_hold, open_slots, requested_slot
from bookings.services import (
    HoldExpired,
    NotAllowed,
    SlotHeld,
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    delete_expired_holds,
    hold_for_booking_page,
    hold_slot,
    release_hold,
    reschedule_appointment,
)
from bookings.tests.factories import AppointmentFactory, SlotHoldFactory
from doctors.models import Doctor
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
TUESDAY = MONDAY + dt.timedelta(days=1)


def local(days, hour, minute=0):
    """An instant `days` after MONDAY at a wall-clock time in Kolkata."""
    return at(MONDAY + dt.timedelta(days=days), dt.time(hour, minute), KOLKATA)


NOW = local(0, 8)  # Monday 08:00
TUESDAY_9 = local(1, 9)
MINUTES = dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def default_rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.SLOT_HOLD_MINUTES = 10


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    """Monday to Friday, 09:00-12:00 at the clinic, in 15-minute slots."""
    doctor = DoctorFactory(
        slot_minutes=15,
        registration_expires_on=MONDAY + dt.timedelta(days=365),
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
    )
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
    return doctor


@pytest.fixture
def patient():
    return PatientFactory(with_account=True)


@pytest.fixture
def other_patient():
    return PatientFactory(with_account=True)


@pytest.fixture
def integration():
    """An integration's login (the Front desk role), as FHIR $hold would act."""
    return UserFactory(roles=[Role.FRONT_DESK])


def hold(doctor, clinic, start=TUESDAY_9, *, by, patient=None, now=NOW, **extra):
    return hold_slot(
        doctor=doctor,
        clinic=clinic,
        start=start,
        by=by,
        patient=patient,
        purpose=extra.pop("purpose", HoldPurpose.INTEGRATION),
        now=now,
        **extra,
    )


def book(patient, doctor, clinic, start=TUESDAY_9, *, now=NOW, by=None, **extra):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=by or patient.user,
        now=now,
        **extra,
    )


# Holding -------------------------------------------------------------------------------------


def test_a_hold_keeps_the_time_for_the_setting_s_minutes_with_an_unguessable_token(
    doctor, clinic, patient, integration, settings
):
    settings.SLOT_HOLD_MINUTES = 7

    held = hold(doctor, clinic, by=integration, patient=patient)

    stored = SlotHold.objects.get()
    assert stored.pk == held.pk
    assert (stored.doctor, stored.clinic, stored.patient, stored.held_by) == (
        doctor,
        clinic,
        patient,
        integration,
    )
    assert (stored.start, stored.end) == (TUESDAY_9, TUESDAY_9 + 15 * MINUTES)
    assert stored.created_at == NOW
    assert stored.expires_at == NOW + 7 * MINUTES
    assert stored.purpose == HoldPurpose.INTEGRATION
    assert len(stored.token) >= 40
    other = hold(doctor, clinic, local(1, 10), by=integration)
    assert other.token != held.token


def test_minutes_given_to_a_hold_override_the_setting(doctor, clinic, patient):
    held = hold(
        doctor, clinic, by=None, patient=patient, purpose=HoldPurpose.WAITLIST_OFFER, minutes=30
    )
    assert held.expires_at == NOW + 30 * MINUTES
    assert held.held_by is None  # the portal itself offered it


@pytest.mark.parametrize(
    ("start", "refusal", "code"),
    [
        (local(0, 7), NotAllowed, "in_the_past"),
        (local(0, 8, 30), NotAllowed, "short_notice"),
        (local(40, 9), NotAllowed, "outside_window"),
        (local(1, 9, 7), NotAllowed, "not_a_slot"),
        (local(1, 13), NotAllowed, "not_a_slot"),
        (local(5, 9), NotAllowed, "not_a_slot"),  # a Saturday
    ],
    ids=["past", "short-notice", "beyond-window", "off-grid", "after-hours", "day-off"],
)
def test_a_hold_is_refused_for_any_time_a_booking_would_refuse(
    doctor, clinic, patient, start, refusal, code
):
    with pytest.raises(refusal) as refused:
        hold(doctor, clinic, start, by=patient.user, patient=patient)
    assert refused.value.code == code
    assert not SlotHold.objects.exists()


def test_a_hold_is_refused_for_a_booked_time_holiday_time_off_or_wrong_clinic(
    doctor, clinic, patient
):
    AppointmentFactory(doctor=doctor, clinic=clinic, start=TUESDAY_9)
    HolidayFactory(clinic=clinic, date=MONDAY + dt.timedelta(days=2))
    TimeOffFactory(doctor=doctor, starts_at=local(3, 9), ends_at=local(3, 10))

    with pytest.raises(SlotUnavailable) as taken:
        hold(doctor, clinic, TUESDAY_9, by=patient.user, patient=patient)
    assert not isinstance(taken.value, SlotHeld)
    for start in (local(2, 9), local(3, 9)):
        with pytest.raises(NotAllowed):
            hold(doctor, clinic, start, by=patient.user, patient=patient)
    with pytest.raises(NotAllowed) as elsewhere:
        hold(doctor, ClinicFactory(), local(1, 10), by=patient.user, patient=patient)
    assert elsewhere.value.code == "wrong_clinic"
    assert not SlotHold.objects.exists()


def test_a_hold_is_refused_for_an_inactive_doctor(doctor, clinic, patient):
    Doctor.objects.filter(pk=doctor.pk).update(is_active=False)
    with pytest.raises(NotAllowed) as refused:
        hold(doctor, clinic, by=patient.user, patient=patient)
    assert refused.value.code == "doctor_inactive"


def test_a_time_held_for_someone_else_cannot_be_held_again(
    doctor, clinic, patient, other_patient, integration
):
    first = hold(doctor, clinic, by=integration, patient=patient)

    with pytest.raises(SlotHeld) as refused:
        hold(doctor, clinic, by=other_patient.user, patient=other_patient)
    with pytest.raises(SlotHeld):
        hold(doctor, clinic, by=integration)  # no patient: every hold is someone else's

    assert refused.value.code == "slot_taken"
    assert "someone else is booking that time" in str(refused.value)
    assert list(SlotHold.objects.all()) == [first]


def test_a_time_the_patient_holds_is_the_same_hold_when_asked_again(
    doctor, clinic, patient, integration
):
    first = hold(doctor, clinic, by=integration, patient=patient)

    again = hold(doctor, clinic, by=patient.user, patient=patient, now=NOW + 3 * MINUTES)

    assert again.pk == first.pk
    assert again.token == first.token
    assert again.expires_at == first.expires_at  # asking again does not stretch it
    assert SlotHold.objects.count() == 1


def test_a_hold_overlapping_from_another_start_is_refused(clinic, integration):
    """The races' Kathmandu case: 30-minute slots until 12:00 in Kolkata and from 12:00 in
    Kathmandu (UTC+05:45) overlap by a quarter of an hour with different starts, which the unique
    (doctor, start) index cannot see; the check under the doctor's lock does."""
    doctor = DoctorFactory(
        slot_minutes=30,
        registration_expires_on=MONDAY + dt.timedelta(days=365),
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
    )
    kathmandu = ClinicFactory(timezone="Asia/Kathmandu")
    for where, starts_at, ends_at in ((clinic, 9, 12), (kathmandu, 12, 15)):
        WorkingHoursFactory(
            doctor=doctor,
            clinic=where,
            weekday=TUESDAY.weekday(),
            starts_at=dt.time(starts_at),
            ends_at=dt.time(ends_at),
        )
    late_morning_here = local(1, 11, 30)
    noon_there = at(TUESDAY, dt.time(12), ZoneInfo("Asia/Kathmandu"))
    assert late_morning_here < noon_there < late_morning_here + 30 * MINUTES

    hold(doctor, clinic, late_morning_here, by=integration)
    with pytest.raises(SlotHeld):
        hold(doctor, kathmandu, noon_there, by=integration)
    with pytest.raises(SlotHeld):
        book(PatientFactory(with_account=True), doctor, kathmandu, noon_there)
    assert SlotHold.objects.count() == 1


def test_an_expired_hold_no_longer_keeps_the_time_and_is_cleared_by_the_next_hold(
    doctor, clinic, patient, other_patient, integration
):
    hold(doctor, clinic, by=integration, patient=patient)
    later = NOW + 11 * MINUTES

    taken_over = hold(doctor, clinic, by=other_patient.user, patient=other_patient, now=later)

    assert list(SlotHold.objects.all()) == [taken_over]
    assert taken_over.patient == other_patient


def test_a_hold_clears_only_its_own_doctors_expired_holds(doctor, clinic, patient, integration):
    elsewhere = SlotHoldFactory(created_at=NOW - 20 * MINUTES)
    mine = SlotHoldFactory(
        doctor=doctor, clinic=clinic, start=local(2, 9), created_at=NOW - 20 * MINUTES
    )

    hold(doctor, clinic, by=integration, patient=patient)

    assert not SlotHold.objects.filter(pk=mine.pk).exists()
    assert SlotHold.objects.filter(pk=elsewhere.pk).exists()


# The database's own guard ---------------------------------------------------------------------


def test_the_database_refuses_a_second_hold_row_at_a_doctors_start(doctor, clinic, patient):
    """Live or expired: an index cannot know the clock, so the services delete the expired one
    first (under the doctor's lock) and the index refuses anything else."""
    SlotHoldFactory(doctor=doctor, clinic=clinic, start=TUESDAY_9, created_at=NOW - 60 * MINUTES)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlotHoldFactory(doctor=doctor, clinic=clinic, start=TUESDAY_9, created_at=NOW)


def test_the_database_refuses_a_hold_that_ends_before_it_starts_or_expires_at_birth(doctor, clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        SlotHoldFactory(doctor=doctor, clinic=clinic, start=TUESDAY_9, end=TUESDAY_9)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlotHoldFactory(doctor=doctor, clinic=clinic, created_at=NOW, expires_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlotHoldFactory(doctor=doctor, clinic=clinic, purpose="a whim")


# Booking a held time -------------------------------------------------------------------------


def test_someone_else_cannot_book_a_held_time_and_is_told_why(
    doctor, clinic, patient, other_patient, integration
):
    hold(doctor, clinic, by=integration, patient=patient)

    with pytest.raises(SlotHeld) as refused:
        book(other_patient, doctor, clinic)

    assert refused.value.code == "slot_taken"
    assert "someone else is booking that time" in str(refused.value)
    assert not Appointment.objects.exists()
    assert SlotHold.objects.count() == 1


def test_the_hold_s_patient_books_it_without_the_hold_and_consumes_it(
    doctor, clinic, patient, integration
):
    hold(doctor, clinic, by=integration, patient=patient)

    appointment = book(patient, doctor, clinic)

    assert appointment.start == TUESDAY_9
    assert not SlotHold.objects.exists()


def test_whoever_presents_the_hold_books_it_for_any_patient_when_it_names_none(
    doctor, clinic, other_patient, integration
):
    held = hold(doctor, clinic, by=integration)  # an EHR's hold before it names the patient

    appointment = book(other_patient, doctor, clinic, by=integration, hold=held)

    assert appointment.patient == other_patient
    assert not SlotHold.objects.exists()


def test_booking_with_a_hold_consumes_that_hold_only(doctor, clinic, patient, integration):
    held = hold(doctor, clinic, by=integration, patient=patient)
    another = hold(doctor, clinic, local(1, 10), by=integration, patient=patient)

    book(patient, doctor, clinic, hold=held)

    assert list(SlotHold.objects.all()) == [another]


def test_a_hold_for_another_time_or_patient_is_refused_and_books_nothing(
    doctor, clinic, patient, other_patient, integration
):
    held = hold(doctor, clinic, by=integration, patient=patient)

    with pytest.raises(NotAllowed, match="for another time") as wrong_time:
        book(patient, doctor, clinic, local(1, 10), hold=held)
    with pytest.raises(NotAllowed, match="for another patient") as wrong_patient:
        book(other_patient, doctor, clinic, by=integration, hold=held)

    assert wrong_time.value.code == wrong_patient.value.code == "not_allowed"
    assert not Appointment.objects.exists()
    assert SlotHold.objects.count() == 1


def test_an_expired_hold_does_not_stop_anyone_booking(
    doctor, clinic, patient, other_patient, integration
):
    hold(doctor, clinic, by=integration, patient=patient)

    appointment = book(other_patient, doctor, clinic, now=NOW + 10 * MINUTES)

    assert appointment.patient == other_patient
    # The dead hold stays until a clean-up: it keeps nothing.
    assert SlotHold.objects.count() == 1


def gone(how, held, *, by):
    """Lets `held` go `how` (expired, released); returns an instant at which it is gone."""
    if how == "released":
        release_hold(hold=held, by=by)
        return NOW + MINUTES
    return held.expires_at  # its last instant has passed


@pytest.mark.parametrize("how", ["expired", "released"])
def test_a_hold_gone_is_refused_to_a_booking_even_where_the_time_is_still_free(
    doctor, clinic, patient, integration, how
):
    held = hold(doctor, clinic, by=integration, patient=patient)
    now = gone(how, held, by=integration)

    with pytest.raises(HoldExpired) as refused:
        book(patient, doctor, clinic, by=integration, hold=held, now=now)

    assert refused.value.code == "hold_expired"
    assert "Hold the time again" in str(refused.value)
    assert not Appointment.objects.exists()
    # The patient may still book the free time without the hold.
    assert book(patient, doctor, clinic, by=integration, now=now).start == TUESDAY_9


def test_a_hold_is_taken_until_its_last_instant(doctor, clinic, patient, integration):
    held = hold(doctor, clinic, by=integration, patient=patient)

    appointment = book(
        patient, doctor, clinic, hold=held, now=held.expires_at - dt.timedelta(microseconds=1)
    )

    assert appointment.start == TUESDAY_9
    assert not SlotHold.objects.exists()


def test_a_used_hold_presented_again_books_nothing_even_once_the_time_is_free_again(
    doctor, clinic, patient, integration
):
    held = hold(doctor, clinic, by=integration)
    first = book(patient, doctor, clinic, by=integration, hold=held)
    cancel_appointment(appointment=first, by=integration, now=NOW)

    with pytest.raises(HoldExpired):
        book(patient, doctor, clinic, by=integration, hold=held)

    assert not Appointment.objects.filter(status="booked").exists()


def test_a_hold_does_not_lift_any_other_rule(doctor, clinic, patient, integration, settings):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 1
    held = hold(doctor, clinic, by=integration, patient=patient)
    # Booked since by another way in (the factory checks nothing): the cap is reached.
    AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(2, 9))

    with pytest.raises(NotAllowed) as refused:
        book(patient, doctor, clinic, hold=held)

    assert refused.value.code == "cap_reached"
    assert SlotHold.objects.filter(pk=held.pk).exists()  # the refusal rolled the consumption back


# Moving onto a held time ---------------------------------------------------------------------


def test_an_appointment_cannot_be_moved_onto_someone_else_s_held_time(
    doctor, clinic, patient, other_patient, integration
):
    appointment = book(patient, doctor, clinic, local(1, 11))
    hold(doctor, clinic, by=integration, patient=other_patient)

    with pytest.raises(SlotHeld):
        reschedule_appointment(appointment=appointment, start=TUESDAY_9, by=patient.user, now=NOW)

    appointment.refresh_from_db()
    assert appointment.start == local(1, 11)
    assert appointment.status == "booked"


def test_an_appointment_moves_onto_its_own_patient_s_held_time_and_consumes_the_hold(
    doctor, clinic, patient, integration
):
    appointment = book(patient, doctor, clinic, local(1, 11))
    hold(doctor, clinic, by=integration, patient=patient)

    moved = reschedule_appointment(
        appointment=appointment, start=TUESDAY_9, by=patient.user, now=NOW
    )

    assert moved.start == TUESDAY_9
    assert not SlotHold.objects.exists()


def test_a_move_with_the_hold_presented_takes_a_patientless_hold(
    doctor, clinic, patient, integration
):
    appointment = book(patient, doctor, clinic, local(1, 11))
    held = hold(doctor, clinic, by=integration)

    moved = reschedule_appointment(
        appointment=appointment, start=TUESDAY_9, by=integration, hold=held, now=NOW
    )

    assert moved.start == TUESDAY_9
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize("how", ["expired", "released"])
def test_a_hold_gone_is_refused_to_a_move_which_leaves_the_appointment_where_it_was(
    doctor, clinic, patient, integration, how
):
    appointment = book(patient, doctor, clinic, local(1, 11))
    held = hold(doctor, clinic, by=integration)
    now = gone(how, held, by=integration)

    with pytest.raises(HoldExpired) as refused:
        reschedule_appointment(
            appointment=appointment, start=TUESDAY_9, by=integration, hold=held, now=now
        )

    assert refused.value.code == "hold_expired"
    appointment.refresh_from_db()
    assert (appointment.start, appointment.status) == (local(1, 11), "booked")
    assert Appointment.objects.count() == 1


# The booking pages' hold ---------------------------------------------------------------------


def page_hold(doctor, clinic, start, *, by, patient, now=NOW):
    return hold_for_booking_page(
        doctor=doctor, clinic=clinic, start=start, by=by, patient=patient, now=now
    )


def test_choosing_another_time_releases_the_previous_booking_page_hold(
    doctor, clinic, patient, integration
):
    first = page_hold(doctor, clinic, TUESDAY_9, by=patient.user, patient=patient)
    elsewhere = hold(doctor, clinic, local(2, 9), by=integration, patient=patient)

    second = page_hold(doctor, clinic, local(1, 10), by=patient.user, patient=patient)

    assert second.purpose == HoldPurpose.BOOKING_PAGE
    assert set(SlotHold.objects.all()) == {second, elsewhere}  # not the integration's
    assert not SlotHold.objects.filter(pk=first.pk).exists()


def test_seeing_the_confirm_step_again_keeps_the_same_hold(doctor, clinic, patient):
    first = page_hold(doctor, clinic, TUESDAY_9, by=patient.user, patient=patient)
    again = page_hold(
        doctor, clinic, TUESDAY_9, by=patient.user, patient=patient, now=NOW + 4 * MINUTES
    )
    assert (again.pk, again.expires_at) == (first.pk, first.expires_at)


def test_the_desk_moving_to_another_patient_at_the_same_time_is_not_refused_by_itself(
    doctor, clinic, patient, other_patient
):
    desk = UserFactory(roles=[Role.FRONT_DESK])
    page_hold(doctor, clinic, TUESDAY_9, by=desk, patient=patient)

    second = page_hold(doctor, clinic, TUESDAY_9, by=desk, patient=other_patient)

    assert list(SlotHold.objects.all()) == [second]
    assert second.patient == other_patient


def test_a_refused_new_time_keeps_the_previous_hold(doctor, clinic, patient, other_patient):
    first = page_hold(doctor, clinic, TUESDAY_9, by=patient.user, patient=patient)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(1, 10), patient=other_patient)

    with pytest.raises(SlotUnavailable):
        page_hold(doctor, clinic, local(1, 10), by=patient.user, patient=patient)

    assert list(SlotHold.objects.all()) == [first]


# Releasing and cleaning ----------------------------------------------------------------------


def test_the_holder_its_patient_and_the_staff_release_a_hold_nobody_else_does(
    doctor, clinic, patient, other_patient, integration, clinic_admin_user
):
    for releaser in (integration, patient.user, clinic_admin_user):
        held = hold(doctor, clinic, by=integration, patient=patient)
        release_hold(hold=held, by=releaser)
        assert not SlotHold.objects.exists(), releaser

    held = hold(doctor, clinic, by=patient.user, patient=patient)
    for stranger in (other_patient.user, DoctorFactory(with_account=True).user, None):
        with pytest.raises(NotAllowed) as refused:
            release_hold(hold=held, by=stranger)
        assert refused.value.code == "not_allowed"
    assert SlotHold.objects.filter(pk=held.pk).exists()


def test_releasing_a_hold_already_gone_does_nothing(doctor, clinic, patient):
    held = hold(doctor, clinic, by=patient.user, patient=patient)
    book(patient, doctor, clinic)
    release_hold(hold=held, by=patient.user)
    assert Appointment.objects.count() == 1


def test_a_released_time_can_be_held_and_booked_by_anyone(doctor, clinic, patient, other_patient):
    held = hold(doctor, clinic, by=patient.user, patient=patient)
    release_hold(hold=held, by=patient.user)
    assert book(other_patient, doctor, clinic).start == TUESDAY_9


def test_delete_expired_holds_deletes_every_doctor_s_expired_holds_only(doctor, clinic):
    expired = [SlotHoldFactory(created_at=NOW - 30 * MINUTES) for _ in range(3)]
    live = SlotHoldFactory(created_at=NOW - 5 * MINUTES)
    just_expired = SlotHoldFactory(created_at=NOW - 10 * MINUTES)  # expires_at == NOW

    assert delete_expired_holds(NOW) == 4

    assert list(SlotHold.objects.all()) == [live]
    assert not SlotHold.objects.filter(pk__in=[h.pk for h in [*expired, just_expired]]).exists()
    assert delete_expired_holds(NOW) == 0


# Finding a hold by its token -----------------------------------------------------------------


def test_a_live_hold_is_found_by_its_token_and_nothing_else_is(
    doctor, clinic, patient, integration
):
    held = hold(doctor, clinic, by=integration, patient=patient)

    assert live_hold(held.token, now=NOW) == held
    assert live_hold(held.token, now=NOW + 10 * MINUTES) is None
    for junk in ("", "x", held.token + "x", held.token.upper(), "é" * 65, None, 42):
        assert live_hold(junk, now=NOW) is None


# The slot engine -----------------------------------------------------------------------------


def starts(slots):
    return [slot.start for slot in slots]


def tuesday_slots(doctor, clinic, now=NOW, **who):
    return starts(open_slots(doctor=doctor, clinic=clinic, now=now, **who, first_day=TUESDAY))


def test_a_held_time_is_not_offered_to_others_and_is_offered_to_its_holder(
    doctor, clinic, patient, other_patient, integration
):
    held = hold(doctor, clinic, by=integration, patient=patient)

    assert TUESDAY_9 not in tuesday_slots(doctor, clinic)
    assert TUESDAY_9 not in tuesday_slots(doctor, clinic, held_for=other_patient)
    assert TUESDAY_9 in tuesday_slots(doctor, clinic, held_for=patient)
    assert TUESDAY_9 in tuesday_slots(doctor, clinic, hold=held)
    # Only that time: the rest of the day is offered as before.
    assert len(tuesday_slots(doctor, clinic)) == len(tuesday_slots(doctor, clinic, hold=held)) - 1


def test_a_held_time_is_offered_again_once_the_hold_expires_or_is_released(
    doctor, clinic, patient, integration
):
    held = hold(doctor, clinic, by=integration, patient=patient)

    assert TUESDAY_9 not in tuesday_slots(doctor, clinic, now=NOW + 9 * MINUTES)
    assert TUESDAY_9 in tuesday_slots(doctor, clinic, now=NOW + 10 * MINUTES)
    release_hold(hold=held, by=integration)
    assert TUESDAY_9 in tuesday_slots(doctor, clinic)


def test_a_booked_hold_is_busy_for_everyone_as_an_appointment(doctor, clinic, patient, integration):
    hold(doctor, clinic, by=integration, patient=patient)
    book(patient, doctor, clinic)
    assert TUESDAY_9 not in tuesday_slots(doctor, clinic, held_for=patient)


def test_the_confirm_pages_check_agrees_with_the_offer(
    doctor, clinic, patient, other_patient, integration
):
    hold(doctor, clinic, by=integration, patient=patient)
    loaded = Doctor.objects.select_related("department").get(pk=doctor.pk)

    def is_open(**who):
        return selectors.slot_is_open(doctor=loaded, clinic=clinic, start=TUESDAY_9, now=NOW, **who)

    assert not is_open()
    assert not is_open(held_for=other_patient)
    assert is_open(held_for=patient)


def test_availability_with_holds_still_costs_four_queries(
    doctor, clinic, patient, django_assert_num_queries
):
    for day in range(1, 5):
        SlotHoldFactory(doctor=doctor, clinic=clinic, start=local(day, 10), created_at=NOW)
    loaded = Doctor.objects.select_related("department").get(pk=doctor.pk)

    with django_assert_num_queries(4):
        month = availability_for(
            doctor=loaded,
            clinic=clinic,
            first_day=MONDAY,
            last_day=MONDAY + dt.timedelta(days=30),
            now=NOW,
        )

    assert sorted(start for start, _ in month.busy) == [local(day, 10) for day in range(1, 5)]


def test_the_prepared_re_check_binds_each_call_s_holder_and_hold(
    doctor, clinic, patient, other_patient, integration
):
    loaded = Doctor.objects.select_related("department").get(pk=doctor.pk)
    held = hold(doctor, clinic, by=integration, patient=patient)

    def slot(**who):
        return requested_slot(doctor=loaded, clinic=clinic, start=TUESDAY_9, now=NOW, **who)

    anyone = slot()
    assert (anyone.held, anyone.own_hold, anyone.booked) == (True, False, False)
    assert anyone.availability.busy != ()
    assert anyone.availability_if_unbooked.busy == ()
    for mine in (slot(held_for=patient), slot(hold=held), slot(patient=patient, held_for=patient)):
        assert (mine.held, mine.own_hold) == (False, True)
        assert mine.availability.busy == ()
    theirs = slot(held_for=other_patient)
    assert (theirs.held, theirs.own_hold) == (True, False)
    expired = requested_slot(doctor=loaded, clinic=clinic, start=TUESDAY_9, now=NOW + 10 * MINUTES)
    assert (expired.held, expired.own_hold) == (False, False)


@pytest.mark.parametrize("minutes", [0, -5])
def test_a_hold_of_no_time_is_a_programming_error_and_holds_nothing(
    doctor, clinic, patient, minutes
):
    with pytest.raises(ValueError):
        hold(doctor, clinic, by=patient.user, patient=patient, minutes=minutes)
    assert not SlotHold.objects.exists()


def test_a_patient_at_the_cap_cannot_hold_a_time(doctor, clinic, patient, integration, settings):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 1
    AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(2, 9))

    with pytest.raises(NotAllowed) as refused:
        hold(doctor, clinic, by=integration, patient=patient)

    assert refused.value.code == "cap_reached"
    assert not SlotHold.objects.exists()


def test_held_times_count_against_the_cap_but_holding_the_same_time_again_does_not(
    doctor, clinic, patient, other_patient, integration, settings
):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 2
    first = hold(doctor, clinic, by=integration, patient=patient)
    AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(2, 9))

    assert hold(doctor, clinic, by=integration, patient=patient).pk == first.pk
    with pytest.raises(NotAllowed) as refused:
        hold(doctor, clinic, local(1, 10), by=integration, patient=patient)
    assert refused.value.code == "cap_reached"
    # Someone else's holds and appointments are theirs: the other patient still holds.
    assert hold(doctor, clinic, local(1, 10), by=integration, patient=other_patient)
    # An expired hold takes no room.
    later = NOW + dt.timedelta(minutes=11)
    assert hold(doctor, clinic, local(1, 11), by=integration, patient=patient, now=later)
