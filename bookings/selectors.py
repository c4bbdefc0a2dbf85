"""Reads for booking pages: availability in a fixed number of queries, appointment lists."""

import datetime as dt
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings import bulk_slots
from bookings.models import Appointment, SlotHold, Status
from bookings.prepared_queries import Placeholder, PreparedQuery
from bookings.rules import booking_rules
from bookings.scheduling import (
    Availability,
    WeeklyStretch,
    at,
    bookable_range,
    free_slots,
    is_free,
)
from doctors.models import Clinic, Doctor, Holiday, TimeOff, WorkingHours


def availability_for(
    *,
    doctor,
    clinic,
    first_day,
    last_day,
    ignoring=None,
    appointments=True,
    held_for=None,
    hold=None,
    now=None,
    visit_type=None,
):
    """The slot engine's inputs for one doctor at one clinic: four queries, whatever the range
    (the doctor's hours there, then bookings.bulk_slots' reads for that one pair).

    `doctor` must come with its department loaded (select_related). `ignoring` is an appointment
    to treat as already released, for a reschedule. With `appointments=False` only time off
    counts as busy: what the doctor would offer if nobody had booked yet.

    Live holds (at `now`) count as busy like appointments, but for their own patient
    (`held_for`) or whoever presents the hold (`hold`): what the booking services accept.

    With a `visit_type` (doctors.VisitType), the input for that type's times: its length and
    buffers, on the doctor's grid (bookings.scheduling).
    """
    hours = tuple(
        WeeklyStretch(weekday, starts_at, ends_at)
        for weekday, starts_at, ends_at in WorkingHours.objects.filter(
            doctor=doctor, clinic=clinic
        ).values_list("weekday", "starts_at", "ends_at")
    )
    range_start, range_end = bulk_slots.instants(first_day, last_day, clinic.zone)
    busy = bulk_slots.busy_times(
        {doctor.pk},
        range_start,
        range_end,
        now or timezone.now(),
        appointments=appointments,
        ignoring=ignoring,
        held_for=held_for,
        hold=hold,
    )
    return bulk_slots.availability_of(
        bulk_slots.DoctorAtClinic(doctor, clinic, hours),
        bulk_slots.closed_days({clinic.pk}, first_day, last_day),
        busy,
        visit_type,
    )


@dataclass(frozen=True)
class RequestedSlot:
    """What decides whether one requested time can be booked, as read by `requested_slot`.

    `availability` is good for that one slot only: anything that overlaps it (with the buffers
    of the visit and of the appointments around it) stands in as a busy interval as long as the
    visit with its buffers, and other times of the day are not looked at.
    """

    start: dt.datetime
    end: dt.datetime
    works_at_clinic: bool
    open_appointments: int | None  # the patient's upcoming ones, when a patient was given
    availability: Availability
    availability_if_unbooked: Availability  # as if nobody had booked or held: only time off
    booked: bool  # an active appointment overlaps the slot
    held: bool  # a live hold overlaps it that is not `held_for`'s nor the `hold` presented
    own_hold: bool  # a hold of `held_for`'s (or the one presented) overlaps it, live or not


# Bound where no patient or hold is exempt: no row has this id (NULL would make `=` unknown,
# and NOT of unknown would exempt every hold).
NO_ROW = -1


def _buffer(minutes_field):
    """An appointment's buffer (its visit type's, none without one) as a duration."""
    return ExpressionWrapper(
        Coalesce(F(minutes_field), 0, output_field=IntegerField()) * Value(dt.timedelta(minutes=1)),
        output_field=DurationField(),
    )


def _requested_slot_query(*, for_patient, ignoring):
    """The re-check's query, with placeholders for the values (see bookings.prepared_queries)."""
    doctor, clinic = Placeholder("doctor", IntegerField()), Placeholder("clinic", IntegerField())
    start, end = Placeholder("start", DateTimeField()), Placeholder("end", DateTimeField())
    # The visit with its buffers, and that widened by the longest buffer another may have.
    blocked_start = Placeholder("blocked_start", DateTimeField())
    blocked_end = Placeholder("blocked_end", DateTimeField())
    reach_start = Placeholder("reach_start", DateTimeField())
    reach_end = Placeholder("reach_end", DateTimeField())
    now = Placeholder("now", DateTimeField())
    # Any clinic's appointments count: a doctor is in one place at a time. Theirs with their
    # buffers must not touch this visit with its own (the plain overlap with the reach first, for
    # the index on the doctor's appointments).
    booked = (
        Appointment.objects.holding_slots()
        .filter(doctor=doctor)
        .overlapping(reach_start, reach_end)
        .annotate(
            _blocked_start=F("start") - _buffer("visit_type__buffer_before_minutes"),
            _blocked_end=F("end") + _buffer("visit_type__buffer_after_minutes"),
        )
        .filter(_blocked_start__lt=blocked_end, _blocked_end__gt=blocked_start)
    )
    if ignoring:
        booked = booked.exclude(pk=Placeholder("ignoring", IntegerField()))
    holds = SlotHold.objects.filter(doctor=doctor).overlapping(start, end)
    holds_near = SlotHold.objects.filter(doctor=doctor).overlapping(blocked_start, blocked_end)
    exempt = Q(patient=Placeholder("held_for", IntegerField())) | Q(
        pk=Placeholder("hold", IntegerField())
    )
    # Underscored: the doctor has fields and relations by some of these names (time_off).
    annotations = {
        "_works_at_clinic": Exists(WorkingHours.objects.filter(doctor=doctor, clinic=clinic)),
        "_closed": Exists(
            Holiday.objects.filter(
                Q(clinic=clinic) | Q(clinic__isnull=True), date=Placeholder("day", DateField())
            )
        ),
        "_time_off": Exists(
            TimeOff.objects.filter(
                doctor=doctor, starts_at__lt=blocked_end, ends_at__gt=blocked_start
            )
        ),
        "_booked": Exists(booked),
        "_held": Exists(holds_near.live(now).exclude(exempt)),
        "_own_hold": Exists(holds.filter(exempt)),
        "_open_appointments": Value(None, output_field=IntegerField()),
    }
    if for_patient:
        upcoming = (
            Appointment.objects.filter(patient=Placeholder("patient", IntegerField()))
            .upcoming(now)
            .order_by()
            .values("patient")
            .annotate(count=Count("pk"))
            .values("count")
        )
        annotations["_open_appointments"] = Coalesce(Subquery(upcoming), 0)
    # The doctor's row left-joined to that weekday's hours: one row even when there are none.
    return (
        Doctor.objects.filter(pk=doctor)
        .annotate(
            hours=FilteredRelation(
                "working_hours",
                condition=Q(
                    working_hours__clinic=clinic,
                    working_hours__weekday=Placeholder("weekday", IntegerField()),
                ),
            ),
            **annotations,
        )
        .order_by()
        .values_list(
            "hours__starts_at",
            "hours__ends_at",
            "_works_at_clinic",
            "_closed",
            "_time_off",
            "_booked",
            "_held",
            "_own_hold",
            "_open_appointments",
        )
    )


# One per shape: with or without the patient's count, with or without an appointment ignored.
_REQUESTED_SLOT_QUERIES = {
    (for_patient, ignoring): PreparedQuery(
        partial(_requested_slot_query, for_patient=for_patient, ignoring=ignoring)
    )
    for for_patient in (False, True)
    for ignoring in (False, True)
}


def requested_slot(
    *,
    doctor,
    clinic,
    start,
    now,
    patient=None,
    ignoring=None,
    held_for=None,
    hold=None,
    visit_type=None,
):
    """One query for everything a booking re-checks under its locks: the doctor's hours at the
    clinic on that weekday, a holiday, time off, an active appointment or a live hold over the
    slot, and the patient's count of upcoming appointments (for the cap).

    Holds of `held_for` (a patient) and the `hold` presented do not count as busy; whether one
    overlaps the slot is `own_hold`, for the booking to consume it.

    The booking services call it after taking their row locks, so that it reads what any booking
    that held the locks before committed. `doctor` must come with its department loaded.

    With a `visit_type`, the visit lasts the type's length and its buffers, like those of the
    appointments around it, must touch nothing busy (bookings.scheduling).
    """
    zone = clinic.zone
    day = start.astimezone(zone).date()
    grid = dt.timedelta(minutes=doctor.slot_minutes)
    typed = {}
    if visit_type is None:
        end = start + grid
        blocked_start, blocked_end = start, end
    else:
        end = start + dt.timedelta(minutes=visit_type.minutes)
        typed = {
            "grid": grid,
            "buffer_before": dt.timedelta(minutes=visit_type.buffer_before_minutes),
            "buffer_after": dt.timedelta(minutes=visit_type.buffer_after_minutes),
        }
        blocked_start, blocked_end = start - typed["buffer_before"], end + typed["buffer_after"]
    query = _REQUESTED_SLOT_QUERIES[(patient is not None, ignoring is not None)]
    rows = query.rows(
        {
            "doctor": doctor.pk,
            "clinic": clinic.pk,
            "start": start,
            "end": end,
            "blocked_start": blocked_start,
            "blocked_end": blocked_end,
            "reach_start": blocked_start - bulk_slots.BUFFER_REACH,
            "reach_end": blocked_end + bulk_slots.BUFFER_REACH,
            "day": day,
            "weekday": day.weekday(),
            "patient": patient.pk if patient is not None else None,
            "now": now,
            "ignoring": ignoring.pk if ignoring is not None else None,
            "held_for": held_for.pk if held_for is not None else NO_ROW,
            "hold": hold.pk if hold is not None else NO_ROW,
        }
    )
    _, _, works_at_clinic, closed, time_off, taken, held, own_hold, open_appointments = rows[0]
    stand_in = ((blocked_start, blocked_end),)

    def availability(*, busy):
        return Availability(
            zone=zone,
            slot_length=end - start,
            weekly_hours=tuple(
                WeeklyStretch(day.weekday(), starts_at, ends_at)
                for starts_at, ends_at, *_ in rows
                if starts_at is not None
            ),
            opens_at=doctor.department.opens_at,
            closes_at=doctor.department.closes_at,
            closed_days=frozenset([day]) if closed else frozenset(),
            busy=stand_in if busy else (),
            **typed,
        )

    return RequestedSlot(
        start=start,
        end=end,
        works_at_clinic=works_at_clinic,
        open_appointments=open_appointments,
        availability=availability(busy=time_off or taken or held),
        availability_if_unbooked=availability(busy=time_off),
        booked=taken,
        held=held,
        own_hold=own_hold,
    )


def open_slots(
    *,
    doctor,
    clinic,
    now,
    first_day=None,
    last_day=None,
    ignoring=None,
    held_for=None,
    hold=None,
    visit_type=None,
):
    """Free slots over the booking window (or the part of it asked for), in time order; with a
    `visit_type`, the free times for that type.

    A time someone holds is not free, unless the hold is `held_for`'s (a patient) or `hold`."""
    rules = booking_rules()
    window_first, window_last = bookable_range(now, clinic.zone, rules)
    first_day = max(first_day or window_first, window_first)
    last_day = min(last_day or window_last, window_last)
    if first_day > last_day:
        return []
    availability = availability_for(
        doctor=doctor,
        clinic=clinic,
        first_day=first_day,
        last_day=last_day,
        ignoring=ignoring,
        held_for=held_for,
        hold=hold,
        now=now,
        visit_type=visit_type,
    )
    return free_slots(availability, first_day=first_day, last_day=last_day, now=now, rules=rules)


def live_hold(token, *, now):
    """The live hold a client's token names (its doctor, clinic and patient read with it), or
    None for a token that is unknown, used, released or expired."""
    if (
        not isinstance(token, str)
        or not 0 < len(token) <= SlotHold._meta.get_field("token").max_length
    ):
        return None
    return (
        SlotHold.objects.live(now)
        .select_related("doctor__department", "clinic", "patient")
        .filter(token=token)
        .first()
    )


def hold_kept_for(*, patient, doctor, start, now):
    """The live hold keeping `start` with `doctor` for `patient`, if there is one (for a page to
    say until when)."""
    return SlotHold.objects.live(now).filter(patient=patient, doctor=doctor, start=start).first()


def appointments_of_patient(patient):
    return (
        Appointment.objects.filter(patient=patient)
        .select_related("doctor__department", "clinic", "rescheduled_to", "visit_type")
        .order_by("start", "pk")
    )


def slot_is_open(*, doctor, clinic, start, now, ignoring=None, held_for=None, visit_type=None):
    """Whether `start` is one of the free times offered right now (for a confirm page), to
    `held_for` (whose own holds do not make a time busy), for `visit_type` when given."""
    rules = booking_rules()
    day = start.astimezone(clinic.zone).date()
    window_first, window_last = bookable_range(now, clinic.zone, rules)
    if not window_first <= day <= window_last:
        return False
    slot = requested_slot(
        doctor=doctor,
        clinic=clinic,
        start=start,
        now=now,
        ignoring=ignoring,
        held_for=held_for,
        visit_type=visit_type,
    )
    return is_free(slot.availability, start=start, now=now, rules=rules)


def _on_local_days(first_day, last_day):
    """Appointments starting on the local dates `first_day`..`last_day` of their own clinic.

    A day is a different span of absolute time in each clinic's zone, so there is one condition
    per zone in use (one query to list them; clinics are few).
    """
    condition = Q(pk__in=[])
    for name in Clinic.objects.values_list("timezone", flat=True).distinct():
        zone = ZoneInfo(name)
        condition |= Q(
            clinic__timezone=name,
            start__gte=at(first_day, dt.time.min, zone),
            start__lt=at(last_day + dt.timedelta(days=1), dt.time.min, zone),
        )
    return condition


def appointments_on_local_days(appointments, *, first_day=None, last_day=None):
    """`appointments` narrowed to those starting from `first_day` to `last_day` (either may be
    None: open) in their own clinic's calendar, as the schedules count days. One query to list
    the zones in use; none when no bound is given."""
    if first_day is None and last_day is None:
        return appointments
    condition = Q(pk__in=[])
    for name in Clinic.objects.values_list("timezone", flat=True).distinct():
        zone = ZoneInfo(name)
        bounds = Q(clinic__timezone=name)
        if first_day is not None:
            bounds &= Q(start__gte=at(first_day, dt.time.min, zone))
        if last_day is not None:
            bounds &= Q(start__lt=at(last_day + dt.timedelta(days=1), dt.time.min, zone))
        condition |= bounds
    return appointments.filter(condition)


def doctor_schedule(doctor, *, first_day, last_day):
    """The doctor's appointments on those local dates (cancelled ones too), in time order."""
    return (
        Appointment.objects.filter(doctor=doctor)
        .filter(_on_local_days(first_day, last_day))
        .select_related("patient", "clinic", "visit_type")
        .order_by("start", "pk")
    )


def doctor_appointment(doctor, pk):
    """One of the doctor's own appointments; Appointment.DoesNotExist for anyone else's."""
    return Appointment.objects.select_related(
        "patient",
        "clinic",
        "doctor__department",
        "rescheduled_from",
        "rescheduled_to",
        "visit_type",
    ).get(doctor=doctor, pk=pk)


def _on_local_today(now):
    """Appointments starting today in their own clinic's calendar (which may be another date
    than the server's: London's evening is Bengaluru's next morning)."""
    condition = Q(pk__in=[])
    for name in Clinic.objects.values_list("timezone", flat=True).distinct():
        zone = ZoneInfo(name)
        today = now.astimezone(zone).date()
        condition |= Q(
            clinic__timezone=name,
            start__gte=at(today, dt.time.min, zone),
            start__lt=at(today + dt.timedelta(days=1), dt.time.min, zone),
        )
    return condition


def arrivals_queue(*, now, clinic=None, department=None):
    """Today's appointments across doctors, for the front desk: still to arrive or in the
    building (booked or checked in), in time order; "today" in each clinic's own calendar."""
    appointments = (
        Appointment.objects.filter(status__in=[Status.BOOKED, Status.CHECKED_IN])
        .filter(_on_local_today(now))
        .select_related("patient", "clinic", "doctor__department", "visit_type")
        .order_by("start", "doctor__full_name", "pk")
    )
    if clinic is not None:
        appointments = appointments.filter(clinic=clinic)
    if department is not None:
        appointments = appointments.filter(doctor__department=department)
    return appointments
