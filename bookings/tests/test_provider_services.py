"""The doctor's services: check-in, completion, no-show, time off, the calendar feed's secret.

Each is called with an explicit `now` (a Monday morning in Kolkata), so nothing depends on the
clock; the database is read back to see what was really saved.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts.tests.factories import PatientFactory, UserFactory
from bookings import selectors
from bookings.models import Appointment, Status
from bookings.scheduling import at
from bookings.services import (
    BookingError,
    NotAllowed,
    TimeOffClashes,
    add_time_off,
    check_in_appointment,
    complete_appointment,
    mark_no_show,
    remove_time_off,
)
from bookings.tests.factories import AppointmentFactory
from doctors import services as doctor_services
from doctors.models import Doctor, TimeOff
from doctors.tests.factories import ClinicFactory, DoctorFactory, TimeOffFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
MONDAY = dt.date(2030, 1, 7)


def local(days, hour, minute=0, zone=KOLKATA):
    """An instant `days` after MONDAY at a wall-clock time (Kolkata unless told)."""
    return at(MONDAY + dt.timedelta(days=days), dt.time(hour, minute), zone)


NOW = local(0, 10)  # Monday 10:00


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor():
    return DoctorFactory(slot_minutes=15)


@pytest.fixture
def staff():
    return UserFactory()


def visit(doctor, clinic, start, status=Status.BOOKED, name=None):
    patient = PatientFactory(full_name=name) if name else PatientFactory()
    return AppointmentFactory(
        doctor=doctor, clinic=clinic, start=start, status=status, patient=patient
    )


def saved(appointment):
    return Appointment.objects.get(pk=appointment.pk)


STAMPS = ("checked_in_at", "completed_at", "no_show_at", "cancelled_at")


def stamps(appointment):
    return {field: getattr(appointment, field) for field in STAMPS}


# --- Check-in, completion, no-show ---------------------------------------------------------------


def test_check_in_records_the_time(doctor, clinic, staff):
    appointment = visit(doctor, clinic, local(0, 10, 15))

    returned = check_in_appointment(appointment=appointment, by=staff, now=NOW)

    after = saved(appointment)
    assert after.status == returned.status == Status.CHECKED_IN
    assert after.checked_in_at == NOW
    assert after.completed_at is None and after.no_show_at is None


@pytest.mark.parametrize("days", [-1, 1, 7])
def test_check_in_is_refused_on_any_other_day(doctor, clinic, staff, days):
    appointment = visit(doctor, clinic, local(days, 10, 15))

    with pytest.raises(NotAllowed, match="only on the day of their appointment"):
        check_in_appointment(appointment=appointment, by=staff, now=NOW)

    assert saved(appointment).status == Status.BOOKED


def test_check_in_counts_the_day_in_the_clinics_calendar(doctor, staff):
    london = ClinicFactory(timezone="Europe/London")
    # 23:30 in London on the Monday is already Tuesday in Kolkata (the server's zone).
    appointment = visit(doctor, london, local(0, 23, 30, zone=ZoneInfo("Europe/London")))

    check_in_appointment(
        appointment=appointment, by=staff, now=local(0, 23, 0, zone=ZoneInfo("Europe/London"))
    )

    assert saved(appointment).status == Status.CHECKED_IN


def test_complete_records_the_time_after_a_check_in(doctor, clinic, staff):
    appointment = visit(doctor, clinic, local(0, 9, 30))
    check_in_appointment(appointment=appointment, by=staff, now=local(0, 9, 25))

    complete_appointment(appointment=appointment, by=staff, now=NOW)

    after = saved(appointment)
    assert after.status == Status.COMPLETED
    assert (after.checked_in_at, after.completed_at) == (local(0, 9, 25), NOW)


def test_no_show_is_recorded_once_the_start_has_passed(doctor, clinic, staff):
    appointment = visit(doctor, clinic, local(0, 9, 30))

    mark_no_show(appointment=appointment, by=staff, now=NOW)

    after = saved(appointment)
    assert after.status == Status.NO_SHOW
    assert after.no_show_at == NOW


def test_no_show_may_be_marked_from_the_start_time_itself(doctor, clinic, staff):
    appointment = visit(doctor, clinic, NOW)
    mark_no_show(appointment=appointment, by=staff, now=NOW)
    assert saved(appointment).status == Status.NO_SHOW


def test_no_show_before_the_start_is_refused(doctor, clinic, staff):
    appointment = visit(doctor, clinic, NOW + dt.timedelta(minutes=1))

    with pytest.raises(NotAllowed, match="only after the appointment's start time"):
        mark_no_show(appointment=appointment, by=staff, now=NOW)

    after = saved(appointment)
    assert after.status == Status.BOOKED and after.no_show_at is None


TRANSITIONS = {
    "check_in": check_in_appointment,
    "complete": complete_appointment,
    "no_show": mark_no_show,
}

# Everything the status machine forbids: booked -> checked_in -> completed, booked -> no_show.
ILLEGAL = [
    ("check_in", Status.CHECKED_IN),
    ("check_in", Status.COMPLETED),
    ("check_in", Status.CANCELLED),
    ("check_in", Status.NO_SHOW),
    ("complete", Status.BOOKED),
    ("complete", Status.COMPLETED),
    ("complete", Status.CANCELLED),
    ("complete", Status.NO_SHOW),
    ("no_show", Status.CHECKED_IN),
    ("no_show", Status.COMPLETED),
    ("no_show", Status.CANCELLED),
    ("no_show", Status.NO_SHOW),
]


@pytest.mark.parametrize(("change", "status"), ILLEGAL)
def test_the_status_machine_refuses_every_other_transition(doctor, clinic, staff, change, status):
    appointment = visit(doctor, clinic, local(0, 9), status=status)  # started an hour ago
    before = Appointment.objects.values().get(pk=appointment.pk)

    with pytest.raises(NotAllowed):
        TRANSITIONS[change](appointment=appointment, by=staff, now=NOW)

    assert Appointment.objects.values().get(pk=appointment.pk) == before


@pytest.mark.parametrize("change", ["check_in", "no_show"])
def test_a_stale_copy_cannot_revive_an_appointment_cancelled_meanwhile(
    doctor, clinic, staff, change
):
    appointment = visit(doctor, clinic, local(0, 9, 45))
    Appointment.objects.filter(pk=appointment.pk).update(
        status=Status.CANCELLED, cancelled_at=local(0, 9)
    )
    assert appointment.status == Status.BOOKED  # the caller's copy is out of date

    with pytest.raises(NotAllowed):
        TRANSITIONS[change](appointment=appointment, by=staff, now=NOW)

    assert saved(appointment).status == Status.CANCELLED


def test_transitions_touch_only_their_own_appointment(doctor, clinic, staff):
    appointment = visit(doctor, clinic, local(0, 10, 15))
    neighbour = visit(doctor, clinic, local(0, 10, 30))
    before = Appointment.objects.values().get(pk=neighbour.pk)

    check_in_appointment(appointment=appointment, by=staff, now=NOW)

    assert Appointment.objects.values().get(pk=neighbour.pk) == before


def test_refusals_are_booking_errors_with_a_message_for_the_screen(doctor, clinic, staff):
    appointment = visit(doctor, clinic, local(0, 10, 15))
    with pytest.raises(BookingError) as refused:
        complete_appointment(appointment=appointment, by=staff, now=NOW)
    assert str(refused.value) == (
        "Only a checked-in appointment can be completed. Check the patient in first."
    )


# --- Time off ------------------------------------------------------------------------------------


def test_add_time_off_saves_it(doctor, staff):
    entry = add_time_off(
        doctor=doctor,
        starts_at=local(1, 9),
        ends_at=local(1, 13),
        reason="Conference",
        by=staff,
        now=NOW,
    )

    stored = TimeOff.objects.get()
    assert stored == entry
    assert (stored.doctor, stored.starts_at, stored.ends_at, stored.reason) == (
        doctor,
        local(1, 9),
        local(1, 13),
        "Conference",
    )


def test_time_off_already_under_way_may_still_be_added(doctor, staff):
    add_time_off(doctor=doctor, starts_at=local(0, 9), ends_at=local(0, 18), by=staff, now=NOW)
    assert TimeOff.objects.count() == 1


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "message"),
    [
        (local(1, 13), local(1, 9), "must end after it starts"),
        (local(1, 9), local(1, 9), "must end after it starts"),
        (local(0, 8), local(0, 9), "already over"),
        (local(0, 8), NOW, "already over"),
    ],
    ids=["backwards", "empty", "over", "ends-now"],
)
def test_impossible_or_past_time_off_is_refused(doctor, staff, starts_at, ends_at, message):
    with pytest.raises(NotAllowed, match=message):
        add_time_off(doctor=doctor, starts_at=starts_at, ends_at=ends_at, by=staff, now=NOW)
    assert not TimeOff.objects.exists()


def test_time_off_over_active_appointments_lists_them_in_time_order(doctor, clinic, staff):
    later = visit(doctor, clinic, local(1, 11), name="Chitra")
    earlier = visit(doctor, clinic, local(1, 9, 15), name="Asha")
    arrived = visit(doctor, clinic, local(1, 10), status=Status.CHECKED_IN, name="Bala")

    with pytest.raises(TimeOffClashes) as refused:
        add_time_off(doctor=doctor, starts_at=local(1, 9), ends_at=local(1, 13), by=staff, now=NOW)

    assert refused.value.appointments == [earlier, arrived, later]
    assert [a.patient.full_name for a in refused.value.appointments] == ["Asha", "Bala", "Chitra"]
    assert str(refused.value).startswith("You have 3 appointments in that time.")
    assert isinstance(refused.value, NotAllowed)
    assert not TimeOff.objects.exists()


def test_one_clash_is_counted_in_the_singular(doctor, clinic, staff):
    visit(doctor, clinic, local(1, 9, 15))
    with pytest.raises(TimeOffClashes, match=r"^You have 1 appointment in that time"):
        add_time_off(doctor=doctor, starts_at=local(1, 9), ends_at=local(1, 13), by=staff, now=NOW)


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW])
def test_only_booked_and_checked_in_appointments_block_time_off(doctor, clinic, staff, status):
    visit(doctor, clinic, local(0, 10), status=status)

    add_time_off(doctor=doctor, starts_at=local(0, 9), ends_at=local(0, 13), by=staff, now=NOW)

    assert TimeOff.objects.count() == 1


def test_a_cancelled_appointment_does_not_block_but_one_booked_in_its_place_does(
    doctor, clinic, staff
):
    visit(doctor, clinic, local(1, 9, 15), status=Status.CANCELLED)
    rebooked = visit(doctor, clinic, local(1, 9, 15))

    with pytest.raises(TimeOffClashes) as refused:
        add_time_off(doctor=doctor, starts_at=local(1, 9), ends_at=local(1, 13), by=staff, now=NOW)

    assert refused.value.appointments == [rebooked]


def test_appointments_that_only_touch_the_time_off_do_not_clash(doctor, clinic, staff):
    visit(doctor, clinic, local(1, 8, 45))  # ends at 09:00
    visit(doctor, clinic, local(1, 13))  # starts at 13:00

    add_time_off(doctor=doctor, starts_at=local(1, 9), ends_at=local(1, 13), by=staff, now=NOW)

    assert TimeOff.objects.count() == 1


def test_an_appointment_straddling_either_edge_clashes(doctor, clinic, staff):
    doctor.slot_minutes = 30
    doctor.save()
    first = visit(doctor, clinic, local(1, 8, 45))  # 08:45-09:15
    last = visit(doctor, clinic, local(1, 12, 45))  # 12:45-13:15

    with pytest.raises(TimeOffClashes) as refused:
        add_time_off(doctor=doctor, starts_at=local(1, 9), ends_at=local(1, 13), by=staff, now=NOW)

    assert refused.value.appointments == [first, last]


def test_another_doctors_appointments_and_other_clinics_zones(doctor, clinic, staff):
    visit(DoctorFactory(), clinic, local(1, 10))  # someone else's patient
    london = ClinicFactory(timezone="Europe/London")
    # 09:00 in London is 14:30 in Kolkata: inside 14:00-15:00 Kolkata time off.
    abroad = visit(doctor, london, local(1, 9, zone=LONDON))

    with pytest.raises(TimeOffClashes) as refused:
        add_time_off(doctor=doctor, starts_at=local(1, 9), ends_at=local(1, 15), by=staff, now=NOW)

    assert refused.value.appointments == [abroad]


def test_remove_time_off_deletes_only_that_entry(doctor, staff):
    gone = TimeOffFactory(doctor=doctor, starts_at=local(1, 9), ends_at=local(1, 12))
    kept = TimeOffFactory(doctor=doctor, starts_at=local(2, 9), ends_at=local(2, 12))

    remove_time_off(time_off=gone, by=staff)

    assert list(TimeOff.objects.all()) == [kept]


# --- The calendar feed's secret (doctors/services.py) --------------------------------------------


def test_issuing_a_token_turns_the_feed_on_and_reissuing_replaces_it(doctor):
    first = doctor_services.issue_calendar_token(doctor=doctor).calendar_token
    second = doctor_services.issue_calendar_token(doctor=doctor).calendar_token

    assert first and second and first != second
    assert len(second) >= 43  # 32 random bytes
    assert Doctor.objects.get(pk=doctor.pk).calendar_token == second
    assert not Doctor.objects.filter(calendar_token=first).exists()


def test_each_doctor_gets_a_different_token(doctor):
    other = DoctorFactory()
    mine = doctor_services.issue_calendar_token(doctor=doctor).calendar_token
    theirs = doctor_services.issue_calendar_token(doctor=other).calendar_token
    assert mine != theirs


def test_revoking_turns_the_feed_off_for_that_doctor_only(doctor):
    other = doctor_services.issue_calendar_token(doctor=DoctorFactory())
    doctor_services.issue_calendar_token(doctor=doctor)

    returned = doctor_services.revoke_calendar_token(doctor=doctor)

    assert returned.calendar_token is None
    assert Doctor.objects.get(pk=doctor.pk).calendar_token is None
    assert Doctor.objects.get(pk=other.pk).calendar_token == other.calendar_token


def test_privacy_setting_is_saved(doctor):
    doctor_services.set_calendar_privacy(doctor=doctor, shows_patient_names=True)
    assert Doctor.objects.get(pk=doctor.pk).calendar_shows_patient_names is True
    doctor_services.set_calendar_privacy(doctor=doctor, shows_patient_names=False)
    assert Doctor.objects.get(pk=doctor.pk).calendar_shows_patient_names is False


# --- The doctor's selectors ----------------------------------------------------------------------


def test_doctor_schedule_counts_each_appointment_on_its_clinics_local_date(doctor, clinic):
    london = ClinicFactory(timezone="Europe/London")
    morning = visit(doctor, clinic, local(1, 9))
    cancelled = visit(doctor, clinic, local(1, 10), status=Status.CANCELLED)
    # Tuesday 23:00 in London is Wednesday 04:30 in Kolkata: still a Tuesday appointment.
    late = visit(doctor, london, local(1, 23, zone=LONDON))
    visit(doctor, clinic, local(2, 5))  # Wednesday in Kolkata, half an hour later
    visit(DoctorFactory(), clinic, local(1, 11))

    tuesday = MONDAY + dt.timedelta(days=1)
    schedule = list(selectors.doctor_schedule(doctor, first_day=tuesday, last_day=tuesday))

    assert schedule == [morning, cancelled, late]


def test_doctor_appointment_finds_only_the_doctors_own(doctor, clinic):
    mine = visit(doctor, clinic, local(1, 9))
    theirs = visit(DoctorFactory(), clinic, local(1, 9))
    assert selectors.doctor_appointment(doctor, mine.pk) == mine
    with pytest.raises(Appointment.DoesNotExist):
        selectors.doctor_appointment(doctor, theirs.pk)
