"""The waitlist's state changes: joining and withdrawing, recording a freed time, offering freed
times to the waiting patients in the order they joined, booking or declining an offer, and
settling offers that lapsed.

Locks, always in this order, so that no two of these deadlock: the entry, the slot hold, the
offer, the freed time. An offer is made in three steps, none inside another's transaction (the
booking services' transactions are durable): a worker claims the freed time (a lease, FOR UPDATE
SKIP LOCKED), holds it for the first matching patient through bookings.services.hold_slot (the
booking rules and the double-booking guard: a time booked or held meanwhile is refused), then
records the offer, whose unique "one open offer per time" is the last line of defence.
"""

import datetime as dt
import logging
import zoneinfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from bookings import services as booking_services
from bookings.models import Appointment, HoldPurpose, SlotHold, Status
from bookings.rules import booking_rules
from bookings.scheduling import bookable_range
from doctors.models import Clinic
from waitlist import signals
from waitlist.models import (
    EntryState,
    FreedTime,
    FreedTimeState,
    OfferState,
    WaitlistEntry,
    WaitlistOffer,
)

logger = logging.getLogger(__name__)

# A patient keeps at most this many entries on the list at once.
MAX_ACTIVE_ENTRIES = 5
# How long a worker's claim on a freed time lasts: another worker may take it after that.
CLAIM_LEASE = dt.timedelta(minutes=2)
# How many waiting entries one try looks at (each refused one costs a hold's try).
CANDIDATES_PER_TRY = 20


class WaitlistError(Exception):
    """A waitlist rule said no; the message is written for the person at the screen."""

    def __init__(self, message="", *, code="waitlist_refused"):
        super().__init__(message)
        self.code = code


OFFER_GONE_MESSAGE = gettext_lazy("This offer is no longer open.")


class OfferGone(WaitlistError):
    def __init__(self, message=OFFER_GONE_MESSAGE, *, code="offer_gone"):
        super().__init__(message, code=code)


# The days an entry counts ------------------------------------------------------------------------


def _todays_by_zone(now):
    """Today's date in each clinic's time zone (the organisation's zone when there is no clinic)."""
    names = set(Clinic.objects.values_list("timezone", flat=True)) or {settings.TIME_ZONE}
    return {name: now.astimezone(zoneinfo.ZoneInfo(name)).date() for name in names}


def days_open_to_join(*, clinic=None, now=None):
    """The first and last day an entry may name, as the booking window counts them at `clinic`
    (its own zone), or, for any clinic, from the earliest "today" of any clinic to the latest
    window's end: a patient of the clinic furthest west may still ask for their today, which is
    already yesterday further east. The same days bookings.slot_pages.window opens there."""
    now = now or timezone.now()
    rules = booking_rules()
    if clinic is not None:
        return bookable_range(now, clinic.zone, rules)
    ranges = [bookable_range(now, zoneinfo.ZoneInfo(name), rules) for name in _todays_by_zone(now)]
    return min(first for first, _ in ranges), max(last for _, last in ranges)


# Joining and leaving ------------------------------------------------------------------------------


def join_waitlist(
    *, patient, by, earliest, latest, doctor=None, department=None, clinic=None, now=None
):
    """Puts `patient` on the waitlist for `doctor` (or any doctor of `department`), at `clinic`
    (or any), on a day from `earliest` to `latest`; returns the WaitlistEntry."""
    now = now or timezone.now()
    if (doctor is None) == (department is None):
        raise WaitlistError(
            gettext("Choose a doctor or a department."), code="doctor_or_department"
        )
    today, last_day = days_open_to_join(clinic=clinic, now=now)
    if earliest < today:
        raise WaitlistError(gettext("The first day cannot be in the past."), code="in_the_past")
    if latest < earliest:
        raise WaitlistError(
            gettext("The last day cannot be before the first."), code="dates_reversed"
        )
    if latest > last_day:
        raise WaitlistError(
            ngettext(
                "Appointments can be booked up to %(days)s day ahead; choose a last day "
                "within that.",
                "Appointments can be booked up to %(days)s days ahead; choose a last day "
                "within that.",
                booking_rules().window_days,
            )
            % {"days": booking_rules().window_days},
            code="outside_window",
        )
    with transaction.atomic():
        # The patient's row, so that two joins at once cannot both pass the checks below.
        type(patient).objects.select_for_update(of=("self",)).get(pk=patient.pk)
        active = WaitlistEntry.objects.active().filter(patient=patient)
        same = active.filter(doctor=doctor) if doctor else active.filter(department=department)
        if same.exists():
            raise WaitlistError(
                gettext(
                    "This patient is already on the waitlist for that. Withdraw that entry "
                    "first to change its dates."
                ),
                code="already_waiting",
            )
        if active.count() >= MAX_ACTIVE_ENTRIES:
            raise WaitlistError(
                gettext("A patient can be on the waitlist at most %(count)s times at once.")
                % {"count": MAX_ACTIVE_ENTRIES},
                code="too_many_entries",
            )
        return WaitlistEntry.objects.create(
            patient=patient,
            doctor=doctor,
            department=department if doctor is None else None,
            clinic=clinic,
            earliest=earliest,
            latest=latest,
            created_by=by,
            created_at=now,
            state_changed_at=now,
        )


def _close_offer(offer, *, entry, state, now):
    """Closes `offer` if it is still open (its `entry` locked by the caller) and lets its hold
    go; a time not taken goes back to the list for the next patient. Returns the offer as it
    was closed, or None if it was closed already."""
    # The hold before the offer (the order of the module's docstring); hold_id never changes.
    hold = SlotHold.objects.select_for_update().filter(pk=offer.hold_id).first()
    offer = WaitlistOffer.objects.select_for_update().get(pk=offer.pk)
    if offer.state != OfferState.OPEN:
        return None
    if state != OfferState.TAKEN and hold is None and _booked_appointment(offer, entry):
        # Booked a moment ago (the booking consumed the hold; its offer is being closed next).
        state = OfferState.TAKEN
    if hold is not None and hold.patient_id == entry.patient_id and hold.start == offer.start:
        hold.delete()
    offer.entry = entry
    offer.state = state
    offer.closed_at = now
    offer.save(update_fields=["state", "closed_at"])
    freed = FreedTime.objects.select_for_update().get(pk=offer.freed_time_id)
    if state == OfferState.TAKEN:
        freed.state = FreedTimeState.CLOSED
    else:
        freed.state = FreedTimeState.OPEN
        freed.next_try_at = now
    freed.save(update_fields=["state", "next_try_at"])
    return offer


def _set_entry_state(entry, state, now, **fields):
    entry.state = state
    entry.state_changed_at = now
    for name, value in fields.items():
        setattr(entry, name, value)
    entry.save(update_fields=["state", "state_changed_at", *fields])


def withdraw_entry(*, entry, by, now=None):
    """Takes the entry off the list (the patient, or the front desk for them). A time offered
    to it is let go, and offered to the next patient."""
    now = now or timezone.now()
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if not entry.is_active:
            raise WaitlistError(
                gettext("This entry is no longer on the waitlist."), code="not_waiting"
            )
        for offer in list(entry.offers.filter(state=OfferState.OPEN)):
            closed = _close_offer(offer, entry=entry, state=OfferState.WITHDRAWN, now=now)
            if closed is not None and closed.state == OfferState.TAKEN:
                # The patient booked the offered time just before: the entry is done, not
                # withdrawn.
                appointment = _booked_appointment(closed, entry)
                _set_entry_state(entry, EntryState.BOOKED, now, appointment=appointment)
                return entry
        _set_entry_state(entry, EntryState.WITHDRAWN, now)
    return entry


def lapse_past_entries(now=None):
    """Entries whose last day has passed leave the list; returns how many. The day passes at
    midnight in the entry's clinic's zone, the zone its freed times are matched in; an entry for
    any clinic stays until its last day has passed at every clinic."""
    now = now or timezone.now()
    todays = _todays_by_zone(now)
    passed = Q(clinic__isnull=True, latest__lt=min(todays.values()))
    for name, today in todays.items():
        passed |= Q(clinic__timezone=name, latest__lt=today)
    return (
        WaitlistEntry.objects.filter(state=EntryState.WAITING)
        .filter(passed)
        .update(state=EntryState.LAPSED, state_changed_at=now)
    )


# Freed times ------------------------------------------------------------------------------------


def record_freed_time(*, appointment, now):
    """Called in the transaction that cancelled or moved `appointment`: its time, if still
    ahead, is to be offered to the waitlist once that transaction commits."""
    if appointment.start <= now:
        return
    # ON CONFLICT DO NOTHING: a time already waiting to be offered stays one row.
    FreedTime.objects.bulk_create(
        [
            FreedTime(
                doctor_id=appointment.doctor_id,
                clinic_id=appointment.clinic_id,
                start=appointment.start,
                end=appointment.end,
                freed_at=now,
                next_try_at=now,
            )
        ],
        ignore_conflicts=True,
    )


def _claim_freed_time(now):
    with transaction.atomic():
        freed = (
            FreedTime.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=FreedTimeState.OPEN, next_try_at__lte=now)
            .select_related("doctor", "clinic")
            .order_by("next_try_at", "pk")
            .first()
        )
        if freed is not None:
            freed.next_try_at = now + CLAIM_LEASE
            freed.save(update_fields=["next_try_at"])
    return freed


def matching_entries(freed, *, now):
    """The waiting entries that `freed` suits, in the order their patients joined: its doctor
    or its doctor's department, its clinic or any, its day (in the clinic's calendar) in their
    dates. Left out: entries offered this time before, and patients who have an appointment at
    that time or have booked this doctor since they joined."""
    day = freed.start.astimezone(freed.clinic.zone).date()
    busy_then = Appointment.objects.filter(
        patient=OuterRef("patient"),
        status__in=[Status.BOOKED, Status.CHECKED_IN],
        start__lt=freed.end,
        end__gt=freed.start,
    )
    booked_since = Appointment.objects.filter(
        patient=OuterRef("patient"),
        doctor_id=freed.doctor_id,
        status=Status.BOOKED,
        start__gt=now,
        created_at__gte=OuterRef("created_at"),
    )
    return (
        WaitlistEntry.objects.filter(state=EntryState.WAITING, earliest__lte=day, latest__gte=day)
        .filter(
            Q(doctor_id=freed.doctor_id)
            | Q(doctor__isnull=True, department_id=freed.doctor.department_id)
        )
        .filter(Q(clinic__isnull=True) | Q(clinic_id=freed.clinic_id))
        .exclude(offers__freed_time=freed)
        .exclude(Exists(busy_then))
        .exclude(Exists(booked_since))
        .select_related("patient")
        .order_by("created_at", "pk")
    )


def _finish_freed_time(freed, *, state, next_try_at=None):
    with transaction.atomic():
        updated = FreedTime.objects.filter(pk=freed.pk, state=FreedTimeState.OPEN)
        updated.update(state=state, next_try_at=next_try_at or freed.next_try_at)


def _make_offer(freed, entry, hold, now):
    """Records the offer of `freed`, held by `hold`, to `entry`; OfferGone if the entry or the
    time changed meanwhile (then nothing is written)."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        current = FreedTime.objects.select_for_update().get(pk=freed.pk)
        if entry.state != EntryState.WAITING or current.state != FreedTimeState.OPEN:
            raise OfferGone()
        try:
            with transaction.atomic():
                offer = WaitlistOffer.objects.create(
                    entry=entry,
                    freed_time=current,
                    hold=hold,
                    doctor_id=current.doctor_id,
                    clinic_id=current.clinic_id,
                    start=current.start,
                    end=current.end,
                    made_at=now,
                    expires_at=hold.expires_at,
                )
        except IntegrityError as error:  # another worker's open offer of the time
            raise OfferGone() from error
        _set_entry_state(entry, EntryState.OFFERED, now)
        current.state = FreedTimeState.OFFERED
        current.save(update_fields=["state"])
        signals.offer_made.send(sender=WaitlistOffer, offer=offer, now=now)
    return offer


def _offer(freed, now):
    """Offers the claimed `freed` time to the first waiting patient who can take it; returns
    "offered", "closed" (taken, no longer bookable, or nobody waiting) or "later" (held by
    someone else for now)."""
    for entry in matching_entries(freed, now=now)[:CANDIDATES_PER_TRY]:
        try:
            hold = booking_services.hold_slot(
                doctor=freed.doctor,
                clinic=freed.clinic,
                start=freed.start,
                by=None,
                patient=entry.patient,
                purpose=HoldPurpose.WAITLIST_OFFER,
                minutes=settings.WAITLIST_OFFER_MINUTES,
                now=now,
            )
        except booking_services.SlotHeld:
            # Kept for someone on the booking pages (or an integration): it may come free when
            # that hold ends, and is looked at again then.
            held_until = (
                SlotHold.objects.filter(doctor_id=freed.doctor_id)
                .overlapping(freed.start, freed.end)
                .order_by("-expires_at")
                .values_list("expires_at", flat=True)
                .first()
            )
            _finish_freed_time(
                freed, state=FreedTimeState.OPEN, next_try_at=max(held_until or now, now)
            )
            return "later"
        except booking_services.SlotUnavailable:
            _finish_freed_time(freed, state=FreedTimeState.CLOSED)  # booked meanwhile
            return "closed"
        except booking_services.NotAllowed as refusal:
            if refusal.code == "cap_reached":
                continue  # this patient has as many upcoming visits as allowed: the next one
            _finish_freed_time(freed, state=FreedTimeState.CLOSED)  # passed, off the grid...
            return "closed"
        try:
            _make_offer(freed, entry, hold, now)
        except OfferGone:
            with transaction.atomic():
                SlotHold.objects.filter(pk=hold.pk, purpose=HoldPurpose.WAITLIST_OFFER).delete()
            continue
        return "offered"
    _finish_freed_time(freed, state=FreedTimeState.CLOSED)
    return "closed"


def offer_freed_times(now=None, *, batch=50):
    """One round of the waitlist's worker: settles the offers that lapsed or were booked, takes
    entries whose dates have passed off the list, then offers up to `batch` freed times.
    Returns {"offered": n, "closed": n, "later": n, "settled": n}. Any number of workers may
    run it at once (claims with FOR UPDATE SKIP LOCKED and a lease)."""
    now = now or timezone.now()
    counts = {"offered": 0, "closed": 0, "later": 0, "settled": settle_offers(now)}
    lapse_past_entries(now)
    for _ in range(batch):
        freed = _claim_freed_time(now)
        if freed is None:
            break
        counts[_offer(freed, now)] += 1
    return counts


# Offers -----------------------------------------------------------------------------------------


def _booked_appointment(offer, entry):
    return Appointment.objects.filter(
        patient_id=entry.patient_id,
        doctor_id=offer.doctor_id,
        start=offer.start,
        status__in=[Status.BOOKED, Status.CHECKED_IN],
    ).first()


def _settle(offer, now):
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update(skip_locked=True)
            .filter(pk=offer.entry_id)
            .first()
        )
        if entry is None:
            return False  # being withdrawn or booked right now: that settles the offer itself
        appointment = _booked_appointment(offer, entry)
        state = OfferState.TAKEN if appointment is not None else OfferState.LAPSED
        if _close_offer(offer, entry=entry, state=state, now=now) is None:
            return False
        if appointment is not None:
            _set_entry_state(entry, EntryState.BOOKED, now, appointment=appointment)
        elif entry.state == EntryState.OFFERED:
            _set_entry_state(entry, EntryState.WAITING, now)
    return True


def settle_offers(now=None):
    """Open offers whose time ran out, or whose hold is gone (booked through the normal pages,
    or let go in the admin): taken if the patient booked the time, lapsed otherwise, and a lapsed
    time is offered to the next patient. Returns how many were settled."""
    now = now or timezone.now()
    due = (
        WaitlistOffer.objects.filter(state=OfferState.OPEN)
        .filter(Q(expires_at__lte=now) | ~Exists(SlotHold.objects.filter(pk=OuterRef("hold_id"))))
        .order_by("pk")
    )
    return sum(_settle(offer, now) for offer in list(due))


def book_offer(*, offer, patient, appointment_type, payment_mode, reason="", by, now=None):
    """Books the offered time for its patient with the offer's hold (the booking services'
    rules and guard); returns the Appointment. OfferGone for an offer not open (or not the
    patient's), and the booking services' errors (HoldExpired...) as they come."""
    now = now or timezone.now()
    if offer.entry.patient_id != patient.pk or not offer.is_open(now):
        raise OfferGone()
    hold = SlotHold.objects.filter(pk=offer.hold_id).first()
    if hold is None:
        raise booking_services.HoldExpired()
    appointment = booking_services.book_appointment(
        patient=patient,
        doctor=offer.doctor,
        clinic=offer.clinic,
        start=offer.start,
        appointment_type=appointment_type,
        payment_mode=payment_mode,
        reason=reason,
        by=by,
        hold=hold,
        now=now,
    )
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=offer.entry_id)
        _close_offer(offer, entry=entry, state=OfferState.TAKEN, now=now)
        _set_entry_state(entry, EntryState.BOOKED, now, appointment=appointment)
    return appointment


def decline_offer(*, offer, patient, now=None):
    """The patient does not want the offered time: it goes to the next patient in line. Their
    entry stays on the list for other times."""
    now = now or timezone.now()
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=offer.entry_id)
        if entry.patient_id != patient.pk or not offer.is_open(now):
            raise OfferGone()
        closed = _close_offer(offer, entry=entry, state=OfferState.DECLINED, now=now)
        if closed is None or closed.state == OfferState.TAKEN:
            raise OfferGone()  # closed already, or booked: nothing to decline
        if entry.state == EntryState.OFFERED:
            _set_entry_state(entry, EntryState.WAITING, now)
    return offer
