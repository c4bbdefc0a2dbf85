"""The waitlist racing itself and the booking pages on PostgreSQL: real threads, each with its own
connection (clinic.tests.concurrency). A freed time is offered once however many workers run; an
offered time is the offered patient's; a time someone booked first is not offered; withdrawing
and booking an offer at once end one way or the other, never both and never in a deadlock.
Elsewhere than PostgreSQL these are skipped (CI, which runs PostgreSQL, fails on skips).
"""

import datetime as dt

import pytest

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, SlotHold, Status
from bookings.services import SlotHeld, SlotUnavailable, cancel_appointment
from bookings.tests.factories import AppointmentFactory
from clinic.tests.concurrency import postgresql_only, run_concurrently
from notifications.models import Notification
from waitlist.models import EntryState, FreedTime, OfferState, WaitlistEntry, WaitlistOffer
from waitlist.services import (
    WaitlistError,
    book_offer,
    offer_freed_times,
    withdraw_entry,
)
from waitlist.tests.conftest import MONDAY, NOW, TUESDAY_9, book
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROUNDS = 4


@pytest.fixture(autouse=True)
def on_postgresql():
    postgresql_only()


def waiting_for(doctor, joined=0):
    return WaitlistEntryFactory(
        doctor=doctor,
        earliest=MONDAY,
        latest=MONDAY + dt.timedelta(days=7),
        created_at=NOW - dt.timedelta(minutes=60 - joined),
    )


def free(doctor, clinic, start):
    appointment = AppointmentFactory(doctor=doctor, clinic=clinic, start=start)
    cancel_appointment(appointment=appointment, by=UserFactory(), now=NOW)


def take(offer, entry):
    return book_offer(
        offer=offer,
        patient=entry.patient,
        appointment_type="consultation",
        payment_mode="at_clinic",
        by=entry.patient.user,
        now=NOW,
    )


def test_two_workers_offer_a_freed_time_once(doctor, clinic):
    for round_ in range(ROUNDS):
        start = TUESDAY_9 + dt.timedelta(minutes=15 * round_)
        waiting_for(doctor, joined=round_ * 2)
        waiting_for(doctor, joined=round_ * 2 + 1)
        free(doctor, clinic, start)
        first = (
            WaitlistEntry.objects.filter(state=EntryState.WAITING).order_by("created_at").first()
        )

        outcomes = run_concurrently(lambda: offer_freed_times(NOW), lambda: offer_freed_times(NOW))

        assert not any(isinstance(outcome, BaseException) for outcome in outcomes), outcomes
        assert sum(outcome["offered"] for outcome in outcomes) == 1
        [offer] = WaitlistOffer.objects.filter(start=start)
        assert offer.entry == first
        assert SlotHold.objects.filter(start=start).count() == 1
        assert Notification.objects.filter(offer=offer).count() == 2  # email and text, once


def test_a_normal_booking_and_the_offer_of_a_freed_time_never_both_win(doctor, clinic):
    outcomes_seen = set()
    for round_ in range(ROUNDS):
        start = TUESDAY_9 + dt.timedelta(minutes=15 * round_)
        waiting_for(doctor, joined=round_)
        free(doctor, clinic, start)
        someone = PatientFactory(with_account=True)

        offered, booked = run_concurrently(
            lambda: offer_freed_times(NOW),
            lambda: book(someone, doctor, clinic, start),  # noqa: B023 (run at once, in the loop)
        )

        assert not isinstance(offered, BaseException), offered
        open_offers = WaitlistOffer.objects.filter(start=start, state=OfferState.OPEN).count()
        if isinstance(booked, Appointment):
            assert open_offers == 0
            assert FreedTime.objects.get(start=start).state == "closed"
            outcomes_seen.add("booked")
        else:
            assert isinstance(booked, SlotHeld), booked
            assert open_offers == 1
            outcomes_seen.add("offered")
        assert Appointment.objects.filter(start=start, status=Status.BOOKED).count() == (
            1 if isinstance(booked, Appointment) else 0
        )
    assert outcomes_seen  # at least one round ran to an end either way


def test_the_offered_patient_and_a_normal_booking_at_once_the_offered_patient_gets_it(
    doctor, clinic
):
    for round_ in range(ROUNDS):
        start = TUESDAY_9 + dt.timedelta(minutes=15 * round_)
        entry = waiting_for(doctor, joined=round_)
        free(doctor, clinic, start)
        offer_freed_times(NOW)
        offer = WaitlistOffer.objects.get(start=start)
        someone = PatientFactory(with_account=True)

        theirs, other = run_concurrently(
            lambda offer=offer, entry=entry: take(offer, entry),
            lambda someone=someone, start=start: book(someone, doctor, clinic, start),
        )

        assert isinstance(theirs, Appointment), theirs
        assert isinstance(other, SlotUnavailable), other  # held, or booked by then
        assert list(
            Appointment.objects.filter(start=start, status=Status.BOOKED).values_list(
                "patient", flat=True
            )
        ) == [entry.patient_id]
        entry.refresh_from_db()
        assert entry.state == EntryState.BOOKED


def test_withdrawing_and_booking_an_offer_at_once_end_one_way(doctor, clinic):
    for round_ in range(ROUNDS):
        start = TUESDAY_9 + dt.timedelta(minutes=15 * round_)
        entry = waiting_for(doctor, joined=round_)
        free(doctor, clinic, start)
        offer_freed_times(NOW)
        offer = WaitlistOffer.objects.get(entry=entry)  # an earlier round's time, maybe

        booked, withdrawn = run_concurrently(
            lambda offer=offer, entry=entry: take(offer, entry),
            lambda entry=entry: withdraw_entry(entry=entry, by=entry.patient.user, now=NOW),
        )

        entry = WaitlistEntry.objects.get(pk=entry.pk)
        offer.refresh_from_db()
        appointments = Appointment.objects.filter(start=offer.start, status=Status.BOOKED)
        if isinstance(booked, Appointment):
            # The booking came first; withdrawing then either found the entry booked (refused)
            # or withdrew an entry whose offer was taken already.
            assert offer.state == OfferState.TAKEN
            assert appointments.count() == 1
            assert isinstance(withdrawn, (WaitlistEntry, WaitlistError)), withdrawn
        else:
            assert isinstance(withdrawn, WaitlistEntry), withdrawn
            assert (entry.state, offer.state) == (EntryState.WITHDRAWN, OfferState.WITHDRAWN)
            assert not appointments.exists()
