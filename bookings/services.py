"""State changes of appointments. Each runs in one transaction and raises a BookingError that
views show as a message; none leaves anything half done."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Patient
from bookings import signals
from bookings.models import Appointment, Status
from bookings.rules import (
    booking_rules,
    max_open_appointments_per_patient,
    on_its_clinic_day,
    patient_cancellation_cutoff,
)
from bookings.scheduling import bookable_range, is_free
from bookings.selectors import requested_slot
from doctors.models import Doctor, TimeOff


class BookingError(Exception):
    """A booking rule said no; the message is written for the person at the screen, and `code`
    names the rule for programs (the API's error codes, listed in api/errors.py)."""

    def __init__(self, message="", *, code="booking_refused"):
        super().__init__(message)
        self.code = code


class SlotUnavailable(BookingError):
    def __init__(self, message="Sorry, that time was just taken. Please choose another time."):
        super().__init__(message, code="slot_taken")


class NotAllowed(BookingError):
    pass


def _acting_patient(appointment, by):
    """True when the patient themselves acts, whom the cancellation cut-off applies to."""
    return appointment.patient.user_id is not None and appointment.patient.user_id == by.pk


def _check_doctor_takes_bookings(doctor, clinic, start):
    day = start.astimezone(clinic.zone).date()
    if not doctor.is_active:
        raise NotAllowed(f"{doctor} is not taking appointments.", code="doctor_inactive")
    if not doctor.registration_valid_on(day):
        raise NotAllowed(
            f"{doctor} is not taking appointments on that date.", code="registration_expired"
        )


def _check_works_at(slot, doctor, clinic):
    if not slot.works_at_clinic:
        raise NotAllowed(f"{doctor} does not see patients at {clinic}.", code="wrong_clinic")


def _check_start_is_bookable(start, clinic, now):
    rules = booking_rules()
    if start <= now:
        raise NotAllowed(
            "That time has already passed. Please choose a time in the future.", code="in_the_past"
        )
    _, last_day = bookable_range(now, clinic.zone, rules)
    if start.astimezone(clinic.zone).date() > last_day:
        raise NotAllowed(
            f"Appointments can be booked up to {rules.window_days} days ahead.",
            code="outside_window",
        )
    if start < now + rules.minimum_notice:
        minutes = int(rules.minimum_notice.total_seconds() // 60)
        raise NotAllowed(
            f"Appointments must be booked at least {minutes} minutes ahead.",
            code="short_notice",
        )


def _secure_slot(slot, *, clinic, now):
    """Checks that the slot, as read under the doctor's row lock, is free; returns its end."""
    _check_start_is_bookable(slot.start, clinic, now)
    rules = booking_rules()
    if is_free(slot.availability, start=slot.start, now=now, rules=rules):
        return slot.end
    # "Taken" only when another appointment is the reason: a time off the grid, outside the hours
    # or in the doctor's time off would not be free even with nobody booked.
    if is_free(slot.availability_if_unbooked, start=slot.start, now=now, rules=rules):
        raise SlotUnavailable()
    raise NotAllowed(
        "That time is not one of the doctor's appointment times. Please pick one from the list.",
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


def _create(**fields):
    # The unique constraint is the last line of defence; a lost race becomes a friendly message.
    # No savepoint: the callers' transactions are durable (never nested), and the refusal ends
    # them at once, so the whole booking rolls back with the failed insert.
    try:
        return Appointment.objects.create(**fields)
    except IntegrityError as exc:
        raise SlotUnavailable() from exc


def book_appointment(
    *, patient, doctor, clinic, start, appointment_type, payment_mode, reason="", by, now=None
):
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        patient, doctor = _lock(patient, doctor)
        _check_doctor_takes_bookings(doctor, clinic, start)
        # After the locks, in a statement of its own: a booking that held them before has
        # committed by now, and a new statement sees what it wrote.
        slot = requested_slot(doctor=doctor, clinic=clinic, start=start, now=now, patient=patient)
        _check_works_at(slot, doctor, clinic)
        cap = max_open_appointments_per_patient()
        if slot.open_appointments >= cap:
            raise NotAllowed(
                f"You already have {cap} upcoming appointments, the most the clinic allows. "
                "Please cancel one before booking another.",
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
        )
        signals.appointment_booked.send(sender=Appointment, appointment=appointment, by=by, now=now)
        return appointment


def _check_patient_may_still_change(appointment, by, now, action):
    if _acting_patient(appointment, by) and appointment.start - now < patient_cancellation_cutoff():
        hours = int(patient_cancellation_cutoff().total_seconds() // 3600)
        raise NotAllowed(
            f"Appointments can be {action} online up to {hours} hours before they start. "
            "Please call the clinic.",
            code="past_cutoff",
        )


def cancel_appointment(*, appointment, by, reason="", now=None):
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
            raise NotAllowed("This appointment can no longer be cancelled.", code="invalid_status")
        if appointment.start <= now:
            raise NotAllowed(
                "This appointment has already started and can no longer be cancelled.",
                code="already_started",
            )
        _check_patient_may_still_change(appointment, by, now, "cancelled")
        appointment.status = Status.CANCELLED
        appointment.cancelled_at = now
        appointment.cancelled_by = by
        appointment.cancellation_reason = reason
        appointment.save(
            update_fields=[
                "status",
                "cancelled_at",
                "cancelled_by",
                "cancellation_reason",
                "updated_at",
            ]
        )
        signals.appointment_cancelled.send(
            sender=Appointment, appointment=appointment, by=by, now=now
        )
    return appointment


def reschedule_appointment(*, appointment, start, by, now=None):
    """Moves an appointment to a new time of the same doctor at the same clinic, atomically:
    the old time is released only if the new one is secured."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        patient, doctor = _lock(appointment.patient, appointment.doctor)
        # Not the joined clinic's row: that would hold up every booking at the clinic, whose
        # inserts need a key-share lock on it.
        old = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("clinic")
            .get(pk=appointment.pk)
        )
        if old.status != Status.BOOKED:
            raise NotAllowed("Only a booked appointment can be moved.", code="invalid_status")
        if old.start <= now:
            raise NotAllowed(
                "This appointment has already started and can no longer be moved.",
                code="already_started",
            )
        _check_patient_may_still_change(old, by, now, "moved")
        if start == old.start:
            raise NotAllowed(
                "That is the appointment's current time. Please choose another.",
                code="same_time",
            )
        _check_doctor_takes_bookings(doctor, old.clinic, start)
        slot = requested_slot(doctor=doctor, clinic=old.clinic, start=start, now=now, ignoring=old)
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
        )
        signals.appointment_rescheduled.send(sender=Appointment, old=old, new=new, by=by, now=now)
        return new


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
            "Patients can be checked in only on the day of their appointment.", code="not_today"
        )
    return _transition(
        appointment=appointment,
        to=Status.CHECKED_IN,
        stamp_field="checked_in_at",
        now=now,
        by=by,
        refusal="Only a booked appointment can be checked in.",
    )


def complete_appointment(*, appointment, by, now=None):
    return _transition(
        appointment=appointment,
        to=Status.COMPLETED,
        stamp_field="completed_at",
        now=now or timezone.now(),
        by=by,
        refusal="Only a checked-in appointment can be completed. Check the patient in first.",
    )


def mark_no_show(*, appointment, by, now=None):
    now = now or timezone.now()
    if appointment.start > now:
        raise NotAllowed(
            "A no-show can be marked only after the appointment's start time.", code="too_early"
        )
    return _transition(
        appointment=appointment,
        to=Status.NO_SHOW,
        stamp_field="no_show_at",
        now=now,
        by=by,
        refusal="Only a booked appointment that nobody checked in can be marked as a no-show.",
    )


# A doctor's time off -----------------------------------------------------------------------------


class TimeOffClashes(NotAllowed):
    """Time off asked for over booked appointments; `appointments` lists them."""

    def __init__(self, appointments):
        self.appointments = appointments
        count = len(appointments)
        super().__init__(
            f"You have {count} appointment{'s' if count != 1 else ''} in that time. "
            "They must be moved or cancelled first.",
            code="time_off_clash",
        )


def add_time_off(*, doctor, starts_at, ends_at, reason="", by, now=None):
    """Records the doctor's absence, unless patients are booked in it (never orphans them).

    Under the doctor's row lock, so no booking can slip into the time while it is checked.
    """
    now = now or timezone.now()
    if ends_at <= starts_at:
        raise NotAllowed("The time off must end after it starts.", code="invalid_interval")
    if ends_at <= now:
        raise NotAllowed("This time off is already over. Enter future times.", code="in_the_past")
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
