"""The waitlist's engine: freed times recorded with the cancellation, offered in the order patients
joined to the first one they suit, held through the booking services, and passed on when an offer
lapses, is declined or its entry is withdrawn."""

import datetime as dt

import pytest

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, HoldPurpose, SlotHold, Status
from bookings.services import (
    HoldExpired,
    SlotHeld,
    cancel_appointment,
    hold_for_booking_page,
    reschedule_appointment,
)
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory
from notifications.models import Notification
from waitlist import services
from waitlist.models import (
    EntryState,
    FreedTime,
    FreedTimeState,
    OfferState,
    WaitlistEntry,
    WaitlistOffer,
)
from waitlist.services import (
    OfferGone,
    WaitlistError,
    book_offer,
    decline_offer,
    join_waitlist,
    offer_freed_times,
    withdraw_entry,
)
from waitlist.tests.conftest import MONDAY, NOW, TUESDAY_9, book, local, working_doctor
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

OFFER_LAPSED = NOW + dt.timedelta(minutes=31)


def entry(doctor=None, *, joined=0, **fields):
    """An entry waiting from MONDAY for two weeks, joined `joined` minutes before NOW."""
    fields.setdefault("earliest", MONDAY)
    fields.setdefault("latest", MONDAY + dt.timedelta(days=14))
    fields["doctor"] = doctor
    return WaitlistEntryFactory(created_at=NOW - dt.timedelta(minutes=60 - joined), **fields)


@pytest.fixture
def freed(doctor, clinic):
    """Tuesday 09:00 with the doctor, booked and then cancelled by its patient at NOW."""
    appointment = AppointmentFactory(
        doctor=doctor, clinic=clinic, start=TUESDAY_9, patient=PatientFactory(with_account=True)
    )
    cancel_appointment(appointment=appointment, by=appointment.patient.user, now=NOW)
    return FreedTime.objects.get()


def the_offer():
    return WaitlistOffer.objects.select_related("entry", "hold").get(state=OfferState.OPEN)


# Recording freed times ---------------------------------------------------------------------------


def test_a_cancellation_records_its_time_as_freed(freed, doctor, clinic):
    assert (freed.doctor, freed.clinic, freed.start) == (doctor, clinic, TUESDAY_9)
    assert freed.end == TUESDAY_9 + dt.timedelta(minutes=15)
    assert freed.state == FreedTimeState.OPEN
    assert freed.next_try_at == NOW


def test_a_move_records_the_old_time_as_freed(doctor, clinic):
    appointment = AppointmentFactory(
        doctor=doctor, clinic=clinic, start=TUESDAY_9, patient=PatientFactory(with_account=True)
    )
    reschedule_appointment(
        appointment=appointment,
        start=TUESDAY_9 + dt.timedelta(hours=1),
        by=appointment.patient.user,
        now=NOW,
    )
    assert list(FreedTime.objects.values_list("start", flat=True)) == [TUESDAY_9]


def test_a_time_freed_twice_before_it_is_offered_is_one_row(freed, doctor, clinic):
    again = AppointmentFactory(doctor=doctor, clinic=clinic, start=TUESDAY_9)
    cancel_appointment(appointment=again, by=UserFactory(), now=NOW)
    assert FreedTime.objects.count() == 1


def test_a_past_appointment_frees_nothing(doctor, clinic):
    appointment = AppointmentFactory(
        doctor=doctor, clinic=clinic, start=NOW - dt.timedelta(hours=1)
    )
    services.record_freed_time(appointment=appointment, now=NOW)
    assert not FreedTime.objects.exists()


# Offering ---------------------------------------------------------------------------------------


def test_the_first_patient_to_join_is_offered_the_time_and_it_is_held_for_them(freed, doctor):
    second = entry(doctor, joined=10)
    first = entry(doctor, joined=5)

    counts = offer_freed_times(NOW)

    assert counts == {"offered": 1, "closed": 0, "later": 0, "settled": 0}
    offer = the_offer()
    assert offer.entry == first
    assert (offer.doctor, offer.start, offer.freed_time) == (doctor, TUESDAY_9, freed)
    assert offer.expires_at == NOW + dt.timedelta(minutes=30)
    hold = offer.hold
    assert hold.purpose == HoldPurpose.WAITLIST_OFFER
    assert (hold.patient, hold.start, hold.expires_at) == (
        first.patient,
        TUESDAY_9,
        offer.expires_at,
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (EntryState.OFFERED, EntryState.WAITING)
    freed.refresh_from_db()
    assert freed.state == FreedTimeState.OFFERED


def test_an_offer_takes_over_the_patient_s_own_booking_page_hold_of_the_time(freed, doctor, clinic):
    """The patient was looking at the freed time on the booking page when it was offered: the
    offer keeps that hold for its whole 30 minutes, and looking at another time afterwards (which
    lets the page's hold go) does not take the offer's time away."""
    waiting = entry(doctor)
    looking = hold_for_booking_page(
        doctor=doctor,
        clinic=clinic,
        start=TUESDAY_9,
        by=waiting.patient.user,
        patient=waiting.patient,
        now=NOW - dt.timedelta(minutes=1),
    )

    offer_freed_times(NOW)

    offer = the_offer()
    assert offer.hold.pk == looking.pk
    assert offer.hold.purpose == HoldPurpose.WAITLIST_OFFER
    assert offer.hold.expires_at == offer.expires_at == NOW + dt.timedelta(minutes=30)
    hold_for_booking_page(
        doctor=doctor,
        clinic=clinic,
        start=TUESDAY_9 + dt.timedelta(minutes=30),
        by=waiting.patient.user,
        patient=waiting.patient,
        now=NOW + dt.timedelta(minutes=2),
    )
    assert SlotHold.objects.filter(pk=offer.hold.pk, start=TUESDAY_9).exists()


def test_seeing_the_booking_page_again_keeps_the_offer_s_hold_as_it_is(freed, doctor, clinic):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    offer = the_offer()

    again = hold_for_booking_page(
        doctor=doctor,
        clinic=clinic,
        start=TUESDAY_9,
        by=waiting.patient.user,
        patient=waiting.patient,
        now=NOW + dt.timedelta(minutes=25),
    )

    assert again.pk == offer.hold.pk
    again.refresh_from_db()
    assert (again.purpose, again.expires_at) == (HoldPurpose.WAITLIST_OFFER, offer.expires_at)


def test_the_offer_is_announced_once_by_each_channel_of_the_patient(freed, doctor):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    offer_freed_times(NOW)

    notices = Notification.objects.filter(offer__isnull=False)
    assert sorted(notices.values_list("channel", "address")) == [
        ("email", waiting.patient.email),
        ("sms", waiting.patient.phone),
    ]
    assert {n.kind for n in notices} == {Notification.Kind.WAITLIST_OFFER}
    assert all(n.appointment_id is None for n in notices)


def test_a_department_entry_is_offered_any_of_its_doctors_times(freed, department, doctor):
    waiting = entry(department=department, doctor=None)
    offer_freed_times(NOW)
    assert the_offer().entry == waiting


def test_entries_for_another_doctor_clinic_or_dates_are_passed_over(
    freed, clinic, department, doctor
):
    other_doctor = working_doctor(clinic, department)
    entry(other_doctor, joined=1)
    entry(doctor, clinic=ClinicFactory(), joined=2)
    entry(doctor, earliest=MONDAY + dt.timedelta(days=2), joined=3)
    entry(doctor, earliest=MONDAY - dt.timedelta(days=5), latest=MONDAY, joined=4)
    at_the_clinic = entry(doctor, clinic=clinic, joined=5)

    offer_freed_times(NOW)

    assert the_offer().entry == at_the_clinic


def test_withdrawn_entries_are_skipped(freed, doctor):
    entry(doctor, joined=1, state=EntryState.WITHDRAWN)
    waiting = entry(doctor, joined=2)
    offer_freed_times(NOW)
    assert the_offer().entry == waiting


def test_a_patient_booked_at_that_time_or_with_the_doctor_since_joining_is_skipped(
    freed, clinic, department, doctor
):
    busy = entry(doctor, joined=1)
    elsewhere = working_doctor(clinic, department)
    AppointmentFactory(patient=busy.patient, doctor=elsewhere, clinic=clinic, start=TUESDAY_9)
    booked_since = entry(doctor, joined=2)
    since = AppointmentFactory(
        patient=booked_since.patient, doctor=doctor, clinic=clinic, start=local(2, 10)
    )
    Appointment.objects.filter(pk=since.pk).update(created_at=NOW)
    waiting = entry(doctor, joined=3)

    offer_freed_times(NOW)

    assert the_offer().entry == waiting


def test_a_patient_at_the_cap_is_skipped_for_the_next(freed, settings, doctor):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 1
    full = entry(doctor, joined=1)
    AppointmentFactory(patient=full.patient, start=TUESDAY_9 + dt.timedelta(days=2))
    waiting = entry(doctor, joined=2)

    offer_freed_times(NOW)

    assert the_offer().entry == waiting
    full.refresh_from_db()
    assert full.state == EntryState.WAITING


def test_a_time_nobody_waits_for_is_closed(freed):
    assert offer_freed_times(NOW)["closed"] == 1
    freed.refresh_from_db()
    assert freed.state == FreedTimeState.CLOSED
    assert not SlotHold.objects.exists()


def test_a_time_booked_before_it_is_offered_is_simply_not_offered(freed, doctor, clinic):
    entry(doctor)
    booked = book(PatientFactory(with_account=True), doctor, clinic)

    assert offer_freed_times(NOW)["closed"] == 1

    assert not WaitlistOffer.objects.exists()
    assert Appointment.objects.get(start=TUESDAY_9, status=Status.BOOKED) == booked


def test_a_time_held_on_a_booking_page_is_looked_at_again_when_the_hold_ends(freed, doctor, clinic):
    entry(doctor)
    someone = PatientFactory(with_account=True)
    held = hold_for_booking_page(
        doctor=doctor, clinic=clinic, start=TUESDAY_9, by=someone.user, patient=someone, now=NOW
    )

    assert offer_freed_times(NOW)["later"] == 1

    freed.refresh_from_db()
    assert (freed.state, freed.next_try_at) == (FreedTimeState.OPEN, held.expires_at)
    assert offer_freed_times(NOW + dt.timedelta(minutes=5))["offered"] == 0
    assert offer_freed_times(held.expires_at)["offered"] == 1


def test_a_time_no_longer_bookable_is_closed(freed, doctor):
    entry(doctor)
    too_late = TUESDAY_9 - dt.timedelta(minutes=30)  # inside the minimum notice
    FreedTime.objects.update(next_try_at=too_late)
    assert offer_freed_times(too_late)["closed"] == 1
    assert not WaitlistOffer.objects.exists()


def test_a_claimed_time_is_not_taken_by_another_worker_until_the_lease_ends(freed, doctor):
    entry(doctor)
    claimed = services._claim_freed_time(NOW)
    assert claimed == freed
    assert services._claim_freed_time(NOW) is None
    assert services._claim_freed_time(NOW + services.CLAIM_LEASE) == freed


def test_an_offer_to_an_entry_withdrawn_meanwhile_lets_the_hold_go_and_tries_the_next(
    freed, doctor, monkeypatch
):
    first = entry(doctor, joined=1)
    second = entry(doctor, joined=2)
    real = services._make_offer

    def withdrawn_first(freed, waiting, hold, now):
        if waiting == first:
            WaitlistEntry.objects.filter(pk=first.pk).update(state=EntryState.WITHDRAWN)
        return real(freed, waiting, hold, now)

    monkeypatch.setattr(services, "_make_offer", withdrawn_first)
    offer_freed_times(NOW)

    offer = the_offer()
    assert offer.entry == second
    assert list(SlotHold.objects.all()) == [offer.hold]


def test_a_second_open_offer_of_one_time_is_refused_by_the_database(freed, doctor):
    first = entry(doctor, joined=1)
    second = entry(doctor, joined=2)
    offer_freed_times(NOW)
    FreedTime.objects.update(state=FreedTimeState.OPEN)
    hold = SlotHold.objects.get()
    with pytest.raises(OfferGone):
        services._make_offer(freed, second, hold, NOW)
    assert list(WaitlistOffer.objects.values_list("entry", flat=True)) == [first.pk]


# Expiry, declining, withdrawing -----------------------------------------------------------------


def test_an_offer_not_taken_in_time_lapses_and_the_next_patient_is_offered_it(freed, doctor):
    first = entry(doctor, joined=1)
    second = entry(doctor, joined=2)
    offer_freed_times(NOW)

    counts = offer_freed_times(OFFER_LAPSED)

    assert counts["settled"] == 1 and counts["offered"] == 1
    lapsed = WaitlistOffer.objects.get(entry=first)
    assert (lapsed.state, lapsed.closed_at) == (OfferState.LAPSED, OFFER_LAPSED)
    offer = the_offer()
    assert offer.entry == second
    assert offer.hold.patient == second.patient
    first.refresh_from_db()
    assert first.state == EntryState.WAITING  # still waiting for another time


def test_a_lapsed_offer_is_not_made_to_the_same_patient_again(freed, doctor):
    only = entry(doctor)
    offer_freed_times(NOW)
    offer_freed_times(OFFER_LAPSED)
    assert WaitlistOffer.objects.filter(entry=only).count() == 1
    freed.refresh_from_db()
    assert freed.state == FreedTimeState.CLOSED


def test_the_offered_patient_cannot_book_with_a_lapsed_offer(freed, doctor):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    offer = the_offer()
    with pytest.raises(OfferGone):
        book_offer(
            offer=offer,
            patient=waiting.patient,
            appointment_type="consultation",
            payment_mode="at_clinic",
            by=waiting.patient.user,
            now=OFFER_LAPSED,
        )
    assert not Appointment.objects.filter(status=Status.BOOKED).exists()


def test_declining_passes_the_time_to_the_next_patient(freed, doctor):
    first = entry(doctor, joined=1)
    second = entry(doctor, joined=2)
    offer_freed_times(NOW)

    decline_offer(offer=the_offer(), patient=first.patient, now=NOW)

    declined = WaitlistOffer.objects.get(entry=first)
    assert declined.state == OfferState.DECLINED
    assert not SlotHold.objects.exists()
    first.refresh_from_db()
    assert first.state == EntryState.WAITING
    offer_freed_times(NOW)
    assert the_offer().entry == second


def test_another_patient_cannot_decline_an_offer(freed, doctor):
    entry(doctor)
    offer_freed_times(NOW)
    with pytest.raises(OfferGone):
        decline_offer(offer=the_offer(), patient=PatientFactory(), now=NOW)
    assert the_offer().state == OfferState.OPEN


def test_declining_twice_is_refused(freed, doctor):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    offer = the_offer()
    decline_offer(offer=offer, patient=waiting.patient, now=NOW)
    offer.refresh_from_db()
    with pytest.raises(OfferGone):
        decline_offer(offer=offer, patient=waiting.patient, now=NOW)


def test_a_patient_who_withdraws_their_entry_lets_the_offered_time_go_to_the_next(freed, doctor):
    first = entry(doctor, joined=1)
    second = entry(doctor, joined=2)
    offer_freed_times(NOW)

    withdraw_entry(entry=first, by=first.patient.user, now=NOW)

    first.refresh_from_db()
    assert first.state == EntryState.WITHDRAWN
    assert WaitlistOffer.objects.get(entry=first).state == OfferState.WITHDRAWN
    assert not SlotHold.objects.exists()
    offer_freed_times(NOW)
    assert the_offer().entry == second


def test_withdrawing_an_entry_no_longer_on_the_list_is_refused(doctor):
    gone = entry(doctor, state=EntryState.WITHDRAWN)
    with pytest.raises(WaitlistError):
        withdraw_entry(entry=gone, by=None, now=NOW)


def test_entries_whose_last_day_has_passed_lapse(doctor):
    old = entry(
        doctor, earliest=MONDAY - dt.timedelta(days=9), latest=MONDAY - dt.timedelta(days=1)
    )
    current = entry(doctor)
    offer_freed_times(NOW)
    old.refresh_from_db()
    current.refresh_from_db()
    assert (old.state, current.state) == (EntryState.LAPSED, EntryState.WAITING)


# Booking an offer -------------------------------------------------------------------------------


def test_the_offered_patient_books_the_time_with_the_offer(freed, doctor):
    waiting = entry(doctor)
    offer_freed_times(NOW)

    appointment = book_offer(
        offer=the_offer(),
        patient=waiting.patient,
        appointment_type="follow_up",
        payment_mode="at_clinic",
        reason="",
        by=waiting.patient.user,
        now=NOW,
    )

    assert (appointment.patient, appointment.start) == (waiting.patient, TUESDAY_9)
    assert appointment.appointment_type == "follow_up"
    offer = WaitlistOffer.objects.get()
    assert offer.state == OfferState.TAKEN
    waiting.refresh_from_db()
    assert (waiting.state, waiting.appointment) == (EntryState.BOOKED, appointment)
    freed.refresh_from_db()
    assert freed.state == FreedTimeState.CLOSED
    assert not SlotHold.objects.exists()


def test_another_patient_cannot_book_an_offered_time(freed, doctor, clinic):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    other = PatientFactory(with_account=True)
    with pytest.raises(SlotHeld):
        book(other, doctor, clinic)
    with pytest.raises(OfferGone):
        book_offer(
            offer=the_offer(),
            patient=other,
            appointment_type="consultation",
            payment_mode="at_clinic",
            by=other.user,
            now=NOW,
        )
    assert the_offer().entry == waiting


def test_an_offer_whose_hold_was_let_go_cannot_be_booked(freed, doctor):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    SlotHold.objects.all().delete()
    with pytest.raises(HoldExpired):
        book_offer(
            offer=the_offer(),
            patient=waiting.patient,
            appointment_type="consultation",
            payment_mode="at_clinic",
            by=waiting.patient.user,
            now=NOW,
        )


def test_an_offered_time_booked_through_the_normal_pages_settles_as_taken(freed, doctor, clinic):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    appointment = book(waiting.patient, doctor, clinic)  # their own hold lets them

    assert offer_freed_times(NOW)["settled"] == 1

    assert WaitlistOffer.objects.get().state == OfferState.TAKEN
    waiting.refresh_from_db()
    assert (waiting.state, waiting.appointment) == (EntryState.BOOKED, appointment)


def test_withdrawing_after_booking_the_offered_time_leaves_the_entry_booked(freed, doctor, clinic):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    appointment = book(waiting.patient, doctor, clinic)

    withdraw_entry(entry=waiting, by=waiting.patient.user, now=NOW)

    waiting.refresh_from_db()
    assert (waiting.state, waiting.appointment) == (EntryState.BOOKED, appointment)
    assert WaitlistOffer.objects.get().state == OfferState.TAKEN
    freed.refresh_from_db()
    assert freed.state == FreedTimeState.CLOSED


def test_declining_a_time_already_booked_is_refused(freed, doctor, clinic):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    book(waiting.patient, doctor, clinic)
    with pytest.raises(OfferGone):
        decline_offer(offer=the_offer(), patient=waiting.patient, now=NOW)
    assert the_offer().state == OfferState.OPEN  # settled as taken by the next round
    offer_freed_times(NOW)
    assert WaitlistOffer.objects.get().state == OfferState.TAKEN


def test_settling_skips_an_entry_being_changed_elsewhere(freed, doctor, monkeypatch):
    entry(doctor)
    offer_freed_times(NOW)
    offer = the_offer()
    monkeypatch.setattr(
        WaitlistEntry.objects, "select_for_update", lambda **kw: WaitlistEntry.objects.none()
    )
    assert services._settle(offer, OFFER_LAPSED) is False
    assert the_offer() == offer


def test_settling_an_offer_closed_meanwhile_changes_nothing(freed, doctor):
    waiting = entry(doctor)
    offer_freed_times(NOW)
    offer = the_offer()
    decline_offer(offer=offer, patient=waiting.patient, now=NOW)
    assert services._settle(offer, OFFER_LAPSED) is False
    assert WaitlistOffer.objects.get().state == OfferState.DECLINED


# Joining ----------------------------------------------------------------------------------------


def join(patient, **fields):
    fields.setdefault("earliest", MONDAY)
    fields.setdefault("latest", MONDAY + dt.timedelta(days=7))
    return join_waitlist(patient=patient, by=patient.user, now=NOW, **fields)


def test_a_patient_joins_the_waitlist_for_a_doctor(doctor, clinic):
    patient = PatientFactory(with_account=True)
    joined = join(patient, doctor=doctor, clinic=clinic)
    assert (joined.doctor, joined.department, joined.clinic) == (doctor, None, clinic)
    assert (joined.state, joined.created_at, joined.created_by) == (
        EntryState.WAITING,
        NOW,
        patient.user,
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "doctor_or_department"),
        ({"both": True}, "doctor_or_department"),
        ({"earliest": MONDAY - dt.timedelta(days=1)}, "in_the_past"),
        ({"latest": MONDAY - dt.timedelta(days=1), "earliest": MONDAY}, "dates_reversed"),
        ({"latest": MONDAY + dt.timedelta(days=31)}, "outside_window"),
    ],
)
def test_joining_with_bad_choices_is_refused(doctor, department, fields, code):
    patient = PatientFactory(with_account=True)
    if fields.pop("both", False):
        fields.update(doctor=doctor, department=department)
    elif fields:
        fields["doctor"] = doctor
    with pytest.raises(WaitlistError) as refusal:
        join(patient, **fields)
    assert refusal.value.code == code
    assert not WaitlistEntry.objects.exists()


def test_joining_twice_for_the_same_doctor_is_refused(doctor):
    patient = PatientFactory(with_account=True)
    join(patient, doctor=doctor)
    with pytest.raises(WaitlistError) as refusal:
        join(patient, doctor=doctor)
    assert refusal.value.code == "already_waiting"


def test_a_patient_waits_on_at_most_five_lists(clinic, department):
    patient = PatientFactory(with_account=True)
    for _ in range(services.MAX_ACTIVE_ENTRIES):
        join(patient, doctor=working_doctor(clinic, department))
    with pytest.raises(WaitlistError) as refusal:
        join(patient, department=department)
    assert refusal.value.code == "too_many_entries"
