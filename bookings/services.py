"""State changes of appointments and slot holds. Each runs in one transaction and raises a
BookingError that views show as a message; none leaves anything half done."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.models import Patient
from bookings import signals
from bookings.models import Appointment, ContactChannel, HoldPurpose, SlotHold, Status
from bookings.rules import (
    booking_rules,
    max_open_appointments_per_patient,
    on_its_clinic_day,
    patient_cancellation_cutoff,
    slot_hold_duration,
)
from bookings.scheduling import bookable_range, is_free
from bookings.selectors import requested_slot
from doctors.models import Doctor, TimeOff


class BookingError(Exception):
    """A booking rule said no; the message is written for the person at the screen, in the
    language active when it is raised (the request's), and `code` names the rule for programs
    (the API's error codes, listed in api/errors.py)."""

    def __init__(self, message="", *, code="booking_refused"):
        super().__init__(message)
        self.code = code


class SlotUnavailable(BookingError):
    # The default messages are translated when raised, not at import: in the asker's language.
    def __init__(self, message=None):
        super().__init__(
            message or gettext("Sorry, that time was just taken. Please choose another time."),
            code="slot_taken",
        )


class SlotHeld(SlotUnavailable):
    """The time is kept for someone else by a live hold: taken for now (the same code), though
    it may come free again within minutes."""

    def __init__(self, message=None):
        super().__init__(
            message
            or gettext(
                "Sorry, someone else is booking that time right now. Please choose another "
                "time, or try this one again in a few minutes."
            )
        )


class NotAllowed(BookingError):
    pass


class HoldExpired(BookingError):
    """The hold presented with a booking no longer keeps its time: it expired, was used or was
    let go. Refused even where the time is still free: whoever presented it learns that it no
    longer held the time, and a booking sent twice with one hold cannot book twice."""

    def __init__(self, message=None):
        super().__init__(
            message
            or gettext(
                "That hold has expired, been used or been let go, so the time is no longer kept. "
                "Hold the time again, or book it if it is still free."
            ),
            code="hold_expired",
        )


def _acting_patient(appointment, by):
    """True when the patient themselves acts, whom the cancellation cut-off applies to: their own
    login, or nobody's (`by` None: the patient through a link in a message or a text reply)."""
    if by is None:
        return True
    return appointment.patient.user_id is not None and appointment.patient.user_id == by.pk


def _check_doctor_takes_bookings(doctor, clinic, start):
    day = start.astimezone(clinic.zone).date()
    if not doctor.is_active:
        raise NotAllowed(
            gettext("%(doctor)s is not taking appointments.") % {"doctor": doctor},
            code="doctor_inactive",
        )
    if not doctor.registration_valid_on(day):
        raise NotAllowed(
            gettext("%(doctor)s is not taking appointments on that date.") % {"doctor": doctor},
            code="registration_expired",
        )


def acting_as_patient(patient, by):
    """Whether the booking is the patient's own (`by` is their account, or nobody: a one-click
    link), rather than the front desk's on their behalf."""
    return by is None or (patient.user_id is not None and patient.user_id == by.pk)


def _check_visit_type(visit_type, *, doctor, patient, by):
    """A visit type must be one the doctor offers (theirs or their department's) and still
    active; a patient booking for themselves may choose only the types bookable online (the
    front desk may book any)."""
    if visit_type is None:
        return
    _check_type_offered(visit_type, doctor=doctor)
    if acting_as_patient(patient, by) and not visit_type.bookable_online:
        raise NotAllowed(
            gettext(
                "A %(visit_type)s can be booked through the clinic only. "
                "Please call the front desk, or choose another type of visit."
            )
            % {"visit_type": visit_type.name.lower()},
            code="visit_type_not_online",
        )


def _check_patient_may_change_type(appointment, *, patient, by):
    """A visit of a type booked through the clinic only (not bookable online) keeps its type
    when the patient moves it: the desk chose it, and the patient may not turn it into another
    type, nor into the doctor's plain slot."""
    current = appointment.visit_type
    if current is not None and not current.bookable_online and acting_as_patient(patient, by):
        raise NotAllowed(
            gettext(
                "This %(visit_type)s was arranged by the clinic, so its type cannot be changed "
                "online. Please call the front desk, or move it keeping its type."
            )
            % {"visit_type": current.name.lower()},
            code="visit_type_not_online",
        )


def _check_type_offered(visit_type, *, doctor):
    """NotAllowed unless `visit_type` is active and offered by `doctor` (theirs or their
    department's): what a hold checks too, whoever asks for it."""
    if not visit_type.is_active or not visit_type.offered_by(doctor):
        raise NotAllowed(
            gettext("%(doctor)s does not offer that type of visit. Please choose another.")
            % {"doctor": doctor},
            code="visit_type_not_offered",
        )


def _check_works_at(slot, doctor, clinic):
    if not slot.works_at_clinic:
        raise NotAllowed(
            gettext("%(doctor)s does not see patients at %(clinic)s.")
            % {"doctor": doctor, "clinic": clinic},
            code="wrong_clinic",
        )


def _check_start_is_bookable(start, clinic, now):
    # The numbers in these messages (and the cap's) are clinic settings, said in English as
    # plurals whatever their value; gettext, not ngettext, keeps that English as it was.
    rules = booking_rules()
    if start <= now:
        raise NotAllowed(
            gettext("That time has already passed. Please choose a time in the future."),
            code="in_the_past",
        )
    _, last_day = bookable_range(now, clinic.zone, rules)
    if start.astimezone(clinic.zone).date() > last_day:
        raise NotAllowed(
            gettext("Appointments can be booked up to %(days)s days ahead.")
            % {"days": rules.window_days},
            code="outside_window",
        )
    if start < now + rules.minimum_notice:
        minutes = int(rules.minimum_notice.total_seconds() // 60)
        raise NotAllowed(
            gettext("Appointments must be booked at least %(minutes)s minutes ahead.")
            % {"minutes": minutes},
            code="short_notice",
        )


def _secure_slot(slot, *, clinic, now):
    """Checks that the slot, as read under the doctor's row lock, is free; returns its end."""
    _check_start_is_bookable(slot.start, clinic, now)
    rules = booking_rules()
    if is_free(slot.availability, start=slot.start, now=now, rules=rules):
        return slot.end
    # "Taken" only when another appointment or someone else's hold is the reason: a time off the
    # grid, outside the hours or in the doctor's time off would not be free even with nobody
    # booked.
    if is_free(slot.availability_if_unbooked, start=slot.start, now=now, rules=rules):
        raise SlotHeld() if slot.held and not slot.booked else SlotUnavailable()
    raise NotAllowed(
        gettext(
            "That time is not one of the doctor's appointment times. Please pick one from the list."
        ),
        code="not_a_slot",
    )


def _lock(patient, doctor):
    """Locks in one order everywhere (patient, then doctor), so two bookings never deadlock.

    Only the rows of the patient and the doctor themselves: FOR UPDATE without `of` would also
    lock the joined department, queueing every booking in the department behind one another.
    The joined logins are read for the notices' addresses, so the outbox needs no reads of its own.
    """
    patient = (
        Patient.objects.select_for_update(of=("self",)).select_related("user").get(pk=patient.pk)
    )
    doctor = (
        Doctor.objects.select_for_update(of=("self",))
        .select_related("department", "user")
        .get(pk=doctor.pk)
    )
    return patient, doctor


def _lock_live_hold(hold, *, now):
    """The presented hold as it stands under the booking's locks, locked in turn (after the
    patient and the doctor, as everywhere) until the booking commits; HoldExpired if it is gone
    or expired at `now`.

    Read again here, not trusted from the caller's earlier read: a hold released or cleaned away
    since would otherwise still exempt its time by its id. Locked, so that a release or a
    clean-up waits for this booking (then finds the hold consumed) instead of deleting it under
    the booking's feet; the periodic clean-up skips locked holds rather than waiting.
    """
    if hold is None:
        return None
    current = SlotHold.objects.select_for_update().filter(pk=hold.pk).first()
    if current is None or not current.is_live(now):
        raise HoldExpired()
    return current


def _check_hold_fits(hold, *, doctor, clinic, start, patient):
    """A hold presented with a booking (live, _lock_live_hold) must be for that very time, and
    for that patient when it names one."""
    if hold is None:
        return
    if (hold.doctor_id, hold.clinic_id, hold.start) != (doctor.pk, clinic.pk, start):
        raise NotAllowed(
            gettext(
                "That hold is for another time. Book the time it holds, or hold this one first."
            ),
            code="not_allowed",
        )
    if hold.patient_id is not None and hold.patient_id != patient.pk:
        raise NotAllowed(
            gettext("That hold keeps the time for another patient."), code="not_allowed"
        )


def _consume_holds(slot, *, doctor, patient, hold):
    """Deletes the holds the booking of `slot` used up: its patient's over that time, and the one
    presented. Under the doctor's row lock, in the booking's transaction."""
    if not slot.own_hold:
        return
    used = Q(patient=patient) | Q(pk=hold.pk) if hold is not None else Q(patient=patient)
    SlotHold.objects.filter(doctor=doctor).overlapping(slot.start, slot.end).filter(used).delete()


def _create(**fields):
    # The database's guards are the last line of defence (the unique (doctor, start) index, and on
    # PostgreSQL the exclusion constraint on each doctor's overlapping visits,
    # bookings_no_overlapping_appointments): a lost race becomes a friendly message.
    # No savepoint: the callers' transactions are durable (never nested), and the refusal ends
    # them at once, so the whole booking rolls back with the failed insert.
    try:
        return Appointment.objects.create(**fields)
    except IntegrityError as exc:
        raise SlotUnavailable() from exc


def book_appointment(
    *,
    patient,
    doctor,
    clinic,
    start,
    appointment_type,
    payment_mode,
    reason="",
    by,
    hold=None,
    now=None,
    visit_type=None,
):
    """Books `start` for `patient`. A time someone holds can be booked only for the hold's
    patient or with the `hold` itself (the SlotHold a client's token names); the booking
    consumes it. A `hold` that has expired (at `now`), been used or been let go is refused
    (HoldExpired), even where the time is still free.

    With a `visit_type` (doctors.VisitType) the visit lasts the type's length and keeps its
    buffers free (_check_visit_type says which types may be chosen); without one it is the
    doctor's plain slot."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        patient, doctor = _lock(patient, doctor)
        hold = _lock_live_hold(hold, now=now)
        _check_doctor_takes_bookings(doctor, clinic, start)
        _check_visit_type(visit_type, doctor=doctor, patient=patient, by=by)
        _check_hold_fits(hold, doctor=doctor, clinic=clinic, start=start, patient=patient)
        # After the locks, in a statement of its own: a booking that held them before has
        # committed by now, and a new statement sees what it wrote.
        slot = requested_slot(
            doctor=doctor,
            clinic=clinic,
            start=start,
            now=now,
            patient=patient,
            held_for=patient,
            hold=hold,
            visit_type=visit_type,
        )
        _check_works_at(slot, doctor, clinic)
        cap = max_open_appointments_per_patient()
        if slot.open_appointments >= cap:
            raise NotAllowed(
                gettext(
                    "You already have %(cap)s upcoming appointments, the most the clinic allows. "
                    "Please cancel one before booking another."
                )
                % {"cap": cap},
                code="cap_reached",
            )
        end = _secure_slot(slot, clinic=clinic, now=now)
        appointment = _create(
            patient=patient,
            doctor=doctor,
            clinic=clinic,
            start=start,
            end=end,
            appointment_type=appointment_type,
            payment_mode=payment_mode,
            reason=reason,
            created_by=by,
            visit_type=visit_type,
        )
        _consume_holds(slot, doctor=doctor, patient=patient, hold=hold)
        signals.appointment_booked.send(sender=Appointment, appointment=appointment, by=by, now=now)
        return appointment


def _past_cutoff_message(action, hours):
    # A whole sentence for each action: another language cannot slot one verb into a shared frame.
    if action == "cancelled":
        message = gettext(
            "Appointments can be cancelled online up to %(hours)s hours before they start. "
            "Please call the clinic."
        )
    else:
        message = gettext(
            "Appointments can be moved online up to %(hours)s hours before they start. "
            "Please call the clinic."
        )
    return message % {"hours": hours}


def _check_patient_may_still_change(appointment, by, now, action):
    """`action`: "cancelled" or "moved"."""
    if _acting_patient(appointment, by) and appointment.start - now < patient_cancellation_cutoff():
        hours = int(patient_cancellation_cutoff().total_seconds() // 3600)
        raise NotAllowed(_past_cutoff_message(action, hours), code="past_cutoff")


# The ways a patient acts without a login of theirs in the request (cancel_appointment(by=None)).
PATIENT_CHANNELS_WITHOUT_LOGIN = (ContactChannel.LINK, ContactChannel.SMS)


def cancel_appointment(*, appointment, by, reason="", via="", now=None):
    """Cancels a booked appointment that has not started.

    `by` is the login acting: the patient's own (the cut-off applies), or staff's (it does not).
    `by=None` means the patient themselves without logging in, through `via`: a one-click link in
    a message (ContactChannel.LINK) or a reply to a text message (ContactChannel.SMS), and `via`
    is then required. Such a cancellation is the patient's: the patient's cancellation cut-off
    applies (NotAllowed, code past_cutoff), `cancelled_by` stays empty and `cancelled_via` records
    the channel. The appointment_cancelled signal is then sent with by=None, which receivers must
    accept. Whoever calls with by=None has established that the request comes from the patient
    (an unused link token, a reply from the patient's phone number).
    """
    if by is None and via not in PATIENT_CHANNELS_WITHOUT_LOGIN:
        raise ValueError("A cancellation without a login names the patient's channel (via).")
    if by is not None and via:
        raise ValueError("`via` is only for the patient's cancellations without a login.")
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # The appointment's row only: also locking the joined patient, after the appointment,
        # would take the two in the opposite order to a reschedule and could deadlock with it.
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("patient")
            .get(pk=appointment.pk)
        )
        if not appointment.can_become(Status.CANCELLED):
            raise NotAllowed(
                gettext("This appointment can no longer be cancelled."), code="invalid_status"
            )
        if appointment.start <= now:
            raise NotAllowed(
                gettext("This appointment has already started and can no longer be cancelled."),
                code="already_started",
            )
        _check_patient_may_still_change(appointment, by, now, "cancelled")
        appointment.status = Status.CANCELLED
        appointment.cancelled_at = now
        appointment.cancelled_by = by
        appointment.cancellation_reason = reason
        appointment.cancelled_via = via
        appointment.save(
            update_fields=[
                "status",
                "cancelled_at",
                "cancelled_by",
                "cancellation_reason",
                "cancelled_via",
                "updated_at",
            ]
        )
        signals.appointment_cancelled.send(
            sender=Appointment, appointment=appointment, by=by, now=now
        )
    return appointment


# reschedule_appointment's default: the appointment keeps its visit type.
KEEP_VISIT_TYPE = object()


def reschedule_appointment(
    *, appointment, start, by, hold=None, now=None, visit_type=KEEP_VISIT_TYPE
):
    """Moves an appointment to a new time of the same doctor at the same clinic, atomically:
    the old time is released only if the new one is secured. A held new time is taken as a
    booking would take it: for the hold's patient, or with the `hold`, which the move consumes
    (and which, gone or expired, is refused: HoldExpired).

    The moved appointment keeps its visit type, unless another `visit_type` (or None, the
    doctor's plain slot) is given: checked as a booking checks it, its length and buffers at
    the new time. Billing then prices the visit for its new type, or, once something has been
    paid, refuses a type at another price (NotAllowed `visit_type_paid`, from its receiver of
    appointment_rescheduled: billing.services.move_charge)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        patient, doctor = _lock(appointment.patient, appointment.doctor)
        hold = _lock_live_hold(hold, now=now)
        # Not the joined clinic's row: that would hold up every booking at the clinic, whose
        # inserts need a key-share lock on it.
        old = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("clinic", "visit_type")
            .get(pk=appointment.pk)
        )
        if old.status != Status.BOOKED:
            raise NotAllowed(
                gettext("Only a booked appointment can be moved."), code="invalid_status"
            )
        if old.start <= now:
            raise NotAllowed(
                gettext("This appointment has already started and can no longer be moved."),
                code="already_started",
            )
        _check_patient_may_still_change(old, by, now, "moved")
        if start == old.start:
            raise NotAllowed(
                gettext("That is the appointment's current time. Please choose another."),
                code="same_time",
            )
        _check_doctor_takes_bookings(doctor, old.clinic, start)
        if visit_type is KEEP_VISIT_TYPE:
            visit_type = old.visit_type
        elif (visit_type.pk if visit_type else None) != old.visit_type_id:
            _check_patient_may_change_type(old, patient=patient, by=by)
            _check_visit_type(visit_type, doctor=doctor, patient=patient, by=by)
        _check_hold_fits(hold, doctor=doctor, clinic=old.clinic, start=start, patient=patient)
        slot = requested_slot(
            doctor=doctor,
            clinic=old.clinic,
            start=start,
            now=now,
            ignoring=old,
            held_for=patient,
            hold=hold,
            visit_type=visit_type,
        )
        _check_works_at(slot, doctor, old.clinic)
        end = _secure_slot(slot, clinic=old.clinic, now=now)
        old.status = Status.CANCELLED
        old.cancelled_at = now
        old.cancelled_by = by
        old.cancellation_reason = "Moved to a new time"
        old.save(
            update_fields=[
                "status",
                "cancelled_at",
                "cancelled_by",
                "cancellation_reason",
                "updated_at",
            ]
        )
        new = _create(
            patient=patient,
            doctor=doctor,
            clinic=old.clinic,
            start=start,
            end=end,
            appointment_type=old.appointment_type,
            payment_mode=old.payment_mode,
            reason=old.reason,
            created_by=by,
            rescheduled_from=old,
            visit_type=visit_type,
        )
        _consume_holds(slot, doctor=doctor, patient=patient, hold=hold)
        signals.appointment_rescheduled.send(sender=Appointment, old=old, new=new, by=by, now=now)
        return new


def confirm_attendance(*, appointment, via, by=None, now=None):
    """Records that the patient said they will come to `appointment`: when (`now`) and how
    (`via`, a ContactChannel): a link in a message or a text reply (`by` None, the patient), or
    the front desk, who heard it by phone or in person (`by` the staff login, recorded).

    Only a booked appointment that has not started can be confirmed (NotAllowed otherwise). A
    confirmation already recorded stays as it was: confirming again changes nothing.
    """
    via = ContactChannel(via)
    if (via == ContactChannel.DESK) != (by is not None):
        raise ValueError("The desk's confirmations name who took them; the patient's do not.")
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        appointment = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
        if appointment.status != Status.BOOKED:
            raise NotAllowed(
                gettext("Only a booked appointment can be confirmed."), code="invalid_status"
            )
        if appointment.start <= now:
            raise NotAllowed(
                gettext("This appointment has already started."), code="already_started"
            )
        if appointment.attendance_confirmed_at is not None:
            return appointment
        appointment.attendance_confirmed_at = now
        appointment.attendance_confirmed_via = via
        appointment.attendance_confirmed_by = by
        appointment.save(
            update_fields=[
                "attendance_confirmed_at",
                "attendance_confirmed_via",
                "attendance_confirmed_by",
                "updated_at",
            ]
        )
    return appointment


# Slot holds --------------------------------------------------------------------------------------


def _lock_for_hold(patient, doctor):
    """The locks a booking of that patient and doctor takes, in the same order (see _lock).

    The patient's too: inserting a hold that names the patient takes a key-share lock on their
    row, which their booking in progress (holding its row lock, and deleting their earlier hold)
    would make it wait for while it waits for the hold: a deadlock. Locked first, the hold simply
    queues behind the booking. A hold for nobody in particular needs the doctor's row alone.
    """
    if patient is not None:
        return _lock(patient, doctor)
    return None, (
        Doctor.objects.select_for_update(of=("self",))
        .select_related("department")
        .get(pk=doctor.pk)
    )


def _deletable(holds):
    """The ids of `holds` that nobody else is deleting or consuming right now.

    Holds of a doctor whose row lock this transaction does not hold are deleted only this way:
    such a delete never waits, so it cannot deadlock with a booking or a hold that holds that
    doctor's lock and deletes the same rows (a hold another transaction has locked is on its way
    out anyway, or expires soon). SQLite ignores the row locks and runs one writer at a time.
    """
    return list(holds.select_for_update(skip_locked=True).values_list("pk", flat=True))


def _check_room_under_the_cap(slot, *, patient, doctor, start, now):
    """A patient's held times count against the cap on upcoming appointments, as the bookings
    they are on their way to be: nobody holds a time they could not book, and one login cannot
    keep a whole day of a doctor's times for one patient. Holding again a time the patient
    holds already takes no more room."""
    cap = max_open_appointments_per_patient()
    other_holds = (
        SlotHold.objects.live(now).filter(patient=patient).exclude(doctor=doctor, start=start)
    )
    if slot.open_appointments + other_holds.count() >= cap:
        raise NotAllowed(
            gettext(
                "You already have %(cap)s upcoming appointments or times kept for you, the most "
                "the clinic allows. Please book or let go of one before keeping another."
            )
            % {"cap": cap},
            code="cap_reached",
        )


def _held_again(held, *, purpose, until):
    """The patient's live hold of this very time, asked for again. Asked again for the same
    purpose it stays as it is (the booking page seen again keeps its expiry), and so does a
    waitlist offer's hold, which lasts as long as its offer. Asked for another purpose, it lasts
    at least as long as that asks, and a waitlist offer takes it over: the patient may have been
    looking at the freed time on the booking pages when it was offered to them, and that page's
    short hold, which looking at another time lets go, must not be what keeps the offer's time."""
    if held.purpose in (purpose, HoldPurpose.WAITLIST_OFFER):
        return held
    changed = []
    if until > held.expires_at:
        held.expires_at = until
        changed.append("expires_at")
    if purpose == HoldPurpose.WAITLIST_OFFER:
        held.purpose = purpose
        changed.append("purpose")
    if changed:
        held.save(update_fields=changed)
    return held


def _hold(*, doctor, clinic, start, by, patient, purpose, now, minutes, visit_type=None):
    """Holds the time (as long as a visit of `visit_type`, when given); `patient` and `doctor`
    are locked already (_lock_for_hold) by the caller's transaction."""
    # Exactly a booking's checks, under the same lock: a hold never keeps what a booking could
    # not take.
    _check_doctor_takes_bookings(doctor, clinic, start)
    if visit_type is not None:
        _check_type_offered(visit_type, doctor=doctor)
    slot = requested_slot(
        doctor=doctor,
        clinic=clinic,
        start=start,
        now=now,
        patient=patient,
        held_for=patient,
        visit_type=visit_type,
    )
    _check_works_at(slot, doctor, clinic)
    if patient is not None:
        _check_room_under_the_cap(slot, patient=patient, doctor=doctor, start=start, now=now)
    end = _secure_slot(slot, clinic=clinic, now=now)
    # The doctor's dead holds go first: the unique (doctor, start) index counts them too.
    SlotHold.objects.filter(doctor=doctor).expired(now).delete()
    duration = dt.timedelta(minutes=minutes) if minutes is not None else slot_hold_duration()
    if slot.own_hold:
        # The patient holds this time already (asked again, or by another way in): that hold.
        own = SlotHold.objects.filter(doctor=doctor, patient=patient).overlapping(start, end)
        same = [
            held for held in own.live(now) if (held.clinic_id, held.start) == (clinic.pk, start)
        ]
        if same:
            return _held_again(same[0], purpose=HoldPurpose(purpose), until=now + duration)
        own.delete()  # overlapping the time from another start: the new hold replaces it
    try:
        return SlotHold.objects.create(
            doctor=doctor,
            clinic=clinic,
            start=start,
            end=end,
            expires_at=now + duration,
            held_by=by,
            patient=patient,
            purpose=HoldPurpose(purpose),
            created_at=now,
        )
    except IntegrityError as exc:  # the unique (doctor, start): the last line of defence
        raise SlotHeld() from exc


def hold_slot(
    *, doctor, clinic, start, by, patient=None, purpose, now=None, minutes=None, visit_type=None
):
    """Keeps `start` with `doctor` at `clinic` for a few minutes (SLOT_HOLD_MINUTES, or
    `minutes`), so that nobody else can book it meanwhile; returns the SlotHold, whose `token`
    is the client's handle for booking (book_appointment(hold=...)) or releasing it.

    `by` is the login asking (None when the portal itself does, e.g. a waitlist offer);
    `patient`, whom the time is for, when known: then that patient may book it without the
    hold, and asking again for a time the patient holds returns that same hold. The time is
    checked exactly as a booking checks it (SlotUnavailable, SlotHeld, NotAllowed), as long as a
    visit of `visit_type` when one is given.
    """
    if minutes is not None and minutes <= 0:
        raise ValueError("A hold lasts a positive number of minutes.")
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        patient, doctor = _lock_for_hold(patient, doctor)
        return _hold(
            doctor=doctor,
            clinic=clinic,
            start=start,
            by=by,
            patient=patient,
            purpose=purpose,
            now=now,
            minutes=minutes,
            visit_type=visit_type,
        )


def hold_for_booking_page(*, doctor, clinic, start, by, patient, now=None, visit_type=None):
    """The booking pages' hold: `start` kept for `patient` while `by` (the patient, or the front
    desk for them) confirms (as long as a visit of `visit_type`, when one is chosen). `by`'s
    earlier booking-page hold of another time (or patient) is released: choosing another time
    lets the previous one go. Seeing the page again keeps the same hold, and the same expiry."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        patient, doctor = _lock_for_hold(patient, doctor)
        # Before the check, so that the desk's hold of this time for another patient does not
        # stand in its own way; if the new time is refused, the rollback keeps the earlier hold.
        earlier = SlotHold.objects.filter(held_by=by, purpose=HoldPurpose.BOOKING_PAGE).exclude(
            doctor=doctor, clinic=clinic, start=start, patient=patient
        )
        ids = _deletable(earlier)
        if ids:
            SlotHold.objects.filter(pk__in=ids).delete()
        return _hold(
            doctor=doctor,
            clinic=clinic,
            start=start,
            by=by,
            patient=patient,
            purpose=HoldPurpose.BOOKING_PAGE,
            now=now,
            minutes=None,
            visit_type=visit_type,
        )


def _may_release(hold, by):
    if by is None:
        return False
    if hold.held_by_id is not None and hold.held_by_id == by.pk:
        return True
    if by.has_perm("bookings.release_slothold"):  # the staff's (read once per login)
        return True
    return (
        hold.patient_id is not None
        and Patient.objects.filter(pk=hold.patient_id, user_id=by.pk).exists()
    )


def release_hold(*, hold, by):
    """Lets the time go before the hold expires: for whoever asked for it, its patient, and the
    front desk and clinic admins (bookings.release_slothold). Releasing a hold already gone
    (booked, expired and cleaned, released) does nothing."""
    if not _may_release(hold, by):
        raise NotAllowed(
            gettext("Only whoever asked for this hold can release it."), code="not_allowed"
        )
    with transaction.atomic(durable=True):
        SlotHold.objects.filter(pk=hold.pk).delete()


def delete_expired_holds(now=None):
    """Deletes every expired hold, for a periodic worker (the notifications worker's loop);
    returns how many. Holds being consumed or cleaned by another transaction are left to it."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        ids = _deletable(SlotHold.objects.expired(now).order_by("pk"))
        if not ids:
            return 0
        deleted, _ = SlotHold.objects.filter(pk__in=ids).delete()
    return deleted


# Visits on the day: check-in, completion, no-show ------------------------------------------------


def _transition(*, appointment, to, stamp_field, now, refusal, by):
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
        if not appointment.can_become(to):
            raise NotAllowed(refusal, code="invalid_status")
        appointment.status = to
        setattr(appointment, stamp_field, now)
        appointment.save(update_fields=["status", stamp_field, "updated_at"])
        signals.appointment_progressed.send(
            sender=Appointment, appointment=appointment, by=by, now=now
        )
    return appointment


def check_in_appointment(*, appointment, by, now=None):
    """The patient has arrived (front desk or the doctor marks it): on the appointment's own day,
    in its clinic's calendar, so nobody is marked as arrived days ahead or long after."""
    now = now or timezone.now()
    # A wrong status gets the status machine's own refusal below; a wrong day, this one.
    if appointment.status == Status.BOOKED and not on_its_clinic_day(appointment, now):
        raise NotAllowed(
            gettext("Patients can be checked in only on the day of their appointment."),
            code="not_today",
        )
    return _transition(
        appointment=appointment,
        to=Status.CHECKED_IN,
        stamp_field="checked_in_at",
        now=now,
        by=by,
        refusal=gettext("Only a booked appointment can be checked in."),
    )


def complete_appointment(*, appointment, by, now=None):
    return _transition(
        appointment=appointment,
        to=Status.COMPLETED,
        stamp_field="completed_at",
        now=now or timezone.now(),
        by=by,
        refusal=gettext(
            "Only a checked-in appointment can be completed. Check the patient in first."
        ),
    )


def mark_no_show(*, appointment, by, now=None):
    now = now or timezone.now()
    if appointment.start > now:
        raise NotAllowed(
            gettext("A no-show can be marked only after the appointment's start time."),
            code="too_early",
        )
    return _transition(
        appointment=appointment,
        to=Status.NO_SHOW,
        stamp_field="no_show_at",
        now=now,
        by=by,
        refusal=gettext(
            "Only a booked appointment that nobody checked in can be marked as a no-show."
        ),
    )


# A doctor's time off -----------------------------------------------------------------------------


class TimeOffClashes(NotAllowed):
    """Time off asked for over booked appointments; `appointments` lists them."""

    def __init__(self, appointments):
        self.appointments = appointments
        count = len(appointments)
        super().__init__(
            ngettext(
                "You have %(count)s appointment in that time. "
                "They must be moved or cancelled first.",
                "You have %(count)s appointments in that time. "
                "They must be moved or cancelled first.",
                count,
            )
            % {"count": count},
            code="time_off_clash",
        )


def add_time_off(*, doctor, starts_at, ends_at, reason="", by, now=None):
    """Records the doctor's absence, unless patients are booked in it (never orphans them).

    Under the doctor's row lock, so no booking can slip into the time while it is checked.
    """
    now = now or timezone.now()
    if ends_at <= starts_at:
        raise NotAllowed(gettext("The time off must end after it starts."), code="invalid_interval")
    if ends_at <= now:
        raise NotAllowed(
            gettext("This time off is already over. Enter future times."), code="in_the_past"
        )
    with transaction.atomic():
        Doctor.objects.select_for_update(of=("self",)).get(pk=doctor.pk)
        clashes = list(
            Appointment.objects.filter(doctor=doctor, status__in=[Status.BOOKED, Status.CHECKED_IN])
            .overlapping(starts_at, ends_at)
            .select_related("patient", "clinic")
            .order_by("start")
        )
        if clashes:
            raise TimeOffClashes(clashes)
        return TimeOff.objects.create(
            doctor=doctor, starts_at=starts_at, ends_at=ends_at, reason=reason
        )


def remove_time_off(*, time_off, by):
    time_off.delete()
