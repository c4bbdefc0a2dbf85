"""An entry's days are counted in its clinic's time zone, the zone its freed times are matched
in, not the server's: joining for "today" and lapsing after the last day both follow the clinic's
own midnight. An entry for any clinic follows the earliest "today" of all of them."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts.tests.factories import PatientFactory
from bookings.scheduling import at
from doctors.tests.factories import ClinicFactory
from waitlist.models import EntryState, WaitlistEntry
from waitlist.services import WaitlistError, days_open_to_join, join_waitlist, lapse_past_entries
from waitlist.tests.conftest import MONDAY
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

# Monday 21:00 in London is already Tuesday 02:30 in Kolkata.
LATE_MONDAY_IN_LONDON = at(MONDAY, dt.time(21), ZoneInfo("Europe/London"))
TUESDAY = MONDAY + dt.timedelta(days=1)


@pytest.fixture
def london():
    return ClinicFactory(timezone="Europe/London")


@pytest.fixture
def kolkata():
    return ClinicFactory(timezone="Asia/Kolkata")


def join(doctor, clinic, earliest):
    patient = PatientFactory(with_account=True)
    return join_waitlist(
        patient=patient,
        by=patient.user,
        doctor=doctor,
        clinic=clinic,
        earliest=earliest,
        latest=earliest + dt.timedelta(days=3),
        now=LATE_MONDAY_IN_LONDON,
    )


def test_the_days_open_to_join_are_the_clinic_s_own(london, kolkata):
    assert days_open_to_join(clinic=london, now=LATE_MONDAY_IN_LONDON) == (
        MONDAY,
        MONDAY + dt.timedelta(days=30),
    )
    assert days_open_to_join(clinic=kolkata, now=LATE_MONDAY_IN_LONDON) == (
        TUESDAY,
        TUESDAY + dt.timedelta(days=30),
    )
    # Any clinic: from London's today to Kolkata's last day.
    assert days_open_to_join(now=LATE_MONDAY_IN_LONDON) == (
        MONDAY,
        TUESDAY + dt.timedelta(days=30),
    )


def test_a_london_patient_may_still_join_for_london_s_today(doctor, london, kolkata):
    joined = join(doctor, london, MONDAY)
    assert joined.earliest == MONDAY
    also_any_clinic = join(doctor, None, MONDAY)
    assert also_any_clinic.clinic is None


def test_the_same_day_is_past_at_a_clinic_where_it_has_ended(doctor, london, kolkata):
    with pytest.raises(WaitlistError) as refusal:
        join(doctor, kolkata, MONDAY)
    assert refusal.value.code == "in_the_past"
    assert not WaitlistEntry.objects.exists()


def test_the_last_day_is_counted_from_the_clinic_s_today(doctor, london, kolkata):
    patient = PatientFactory(with_account=True)
    with pytest.raises(WaitlistError) as refusal:
        join_waitlist(
            patient=patient,
            by=patient.user,
            doctor=doctor,
            clinic=london,
            earliest=TUESDAY,
            latest=TUESDAY + dt.timedelta(days=30),  # Kolkata's last day, one past London's
            now=LATE_MONDAY_IN_LONDON,
        )
    assert refusal.value.code == "outside_window"


def test_an_entry_lapses_at_its_own_clinic_s_midnight(doctor, london, kolkata):
    ends_monday = {"earliest": MONDAY - dt.timedelta(days=3), "latest": MONDAY}
    in_london = WaitlistEntryFactory(doctor=doctor, clinic=london, **ends_monday)
    in_kolkata = WaitlistEntryFactory(doctor=doctor, clinic=kolkata, **ends_monday)
    anywhere = WaitlistEntryFactory(doctor=doctor, clinic=None, **ends_monday)

    assert lapse_past_entries(LATE_MONDAY_IN_LONDON) == 1

    states = {entry.pk: entry.state for entry in WaitlistEntry.objects.all()}
    assert states == {
        in_london.pk: EntryState.WAITING,
        in_kolkata.pk: EntryState.LAPSED,
        anywhere.pk: EntryState.WAITING,  # still Monday in London
    }
    # After midnight in London, every one of them has passed.
    assert lapse_past_entries(LATE_MONDAY_IN_LONDON + dt.timedelta(hours=3)) == 2
    assert set(WaitlistEntry.objects.values_list("state", flat=True)) == {EntryState.LAPSED}
