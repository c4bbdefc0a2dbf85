import datetime as dt
import secrets

from django.conf import settings
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts.models import Patient
from bookings.constraints import PostgreSQLExclusionConstraint, TsTzRange
from doctors.models import Clinic, Doctor


class AppointmentType(models.TextChoices):
    CONSULTATION = "consultation", gettext_lazy("Consultation")
    FOLLOW_UP = "follow_up", gettext_lazy("Follow-up")
    HEALTH_CHECK = "health_check", gettext_lazy("Health check")
    REPORT_REVIEW = "report_review", gettext_lazy("Review of test results")


class PaymentMode(models.TextChoices):
    AT_CLINIC = "at_clinic", gettext_lazy("Pay at the clinic")
    ONLINE = "online", gettext_lazy("Pay online")


class Status(models.TextChoices):
    # In context: a status reads differently from the same word as a heading or a button.
    BOOKED = "booked", pgettext_lazy("appointment status", "Booked")
    CHECKED_IN = "checked_in", pgettext_lazy("appointment status", "Checked in")
    COMPLETED = "completed", pgettext_lazy("appointment status", "Completed")
    CANCELLED = "cancelled", pgettext_lazy("appointment status", "Cancelled")
    NO_SHOW = "no_show", pgettext_lazy("appointment status", "No-show")


class ContactChannel(models.TextChoices):
    """How a patient told the clinic something without using the portal's pages as a login:
    a one-click link in a message, a reply to a text message, or the front desk (who heard it by
    phone or in person and recorded it)."""

    LINK = "link", gettext_lazy("Link in a message")
    SMS = "sms", gettext_lazy("Reply to a text message")
    DESK = "desk", gettext_lazy("Front desk (by phone or in person)")


# booked -> checked_in -> completed; booked -> cancelled; booked -> no_show. Nothing else.
ALLOWED_TRANSITIONS = {
    Status.BOOKED: {Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW},
    Status.CHECKED_IN: {Status.COMPLETED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
    Status.NO_SHOW: set(),
}

# Every status but cancelled holds on to its time: only a cancellation frees a slot.
HOLDS_SLOT = ~Q(status=Status.CANCELLED)


def _upcoming(now):
    """Still ahead of the patient: not finished, not cancelled, not over."""
    return Q(end__gt=now, status__in=[Status.BOOKED, Status.CHECKED_IN])


class AppointmentQuerySet(models.QuerySet):
    def holding_slots(self):
        return self.filter(HOLDS_SLOT)

    def overlapping(self, start, end):
        return self.filter(start__lt=end, end__gt=start)

    def upcoming(self, now):
        return self.filter(_upcoming(now))

    def past(self, now):
        return self.exclude(_upcoming(now))


class Appointment(models.Model):
    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=gettext_lazy("patient"),
    )
    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=gettext_lazy("doctor"),
    )
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=gettext_lazy("clinic"),
    )
    start = models.DateTimeField(verbose_name=gettext_lazy("start"))
    end = models.DateTimeField(verbose_name=gettext_lazy("end"))
    appointment_type = models.CharField(
        gettext_lazy("type"),
        max_length=20,
        choices=AppointmentType.choices,
        default=AppointmentType.CONSULTATION,
    )
    payment_mode = models.CharField(
        max_length=20,
        choices=PaymentMode.choices,
        default=PaymentMode.AT_CLINIC,
        verbose_name=gettext_lazy("payment mode"),
    )
    reason = models.TextField(
        gettext_lazy("reason for the visit"),
        max_length=500,
        blank=True,
        help_text=gettext_lazy("Optional. Seen only by the clinic's staff and your doctor."),
    )
    visit_type = models.ForeignKey(
        "doctors.VisitType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
        help_text=gettext_lazy(
            "Empty: the doctor's plain slot (their slot length, no buffers, their fee)."
        ),
        verbose_name=gettext_lazy("visit type"),
    )
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.BOOKED,
        verbose_name=gettext_lazy("status"),
    )
    rescheduled_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rescheduled_to",
        help_text=gettext_lazy(
            "The appointment this one replaced when it was moved to a new time."
        ),
        verbose_name=gettext_lazy("rescheduled from"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=gettext_lazy("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))
    checked_in_at = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("checked in at")
    )
    completed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("completed at")
    )
    no_show_at = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("no show at")
    )
    cancelled_at = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("cancelled at")
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("cancelled by"),
    )
    cancellation_reason = models.CharField(
        max_length=200, blank=True, verbose_name=gettext_lazy("cancellation reason")
    )
    cancelled_via = models.CharField(
        max_length=10,
        choices=ContactChannel.choices,
        blank=True,
        help_text=gettext_lazy(
            "How the patient cancelled without logging in (cancelled_by is then empty)."
        ),
        verbose_name=gettext_lazy("cancelled via"),
    )
    attendance_confirmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("When the patient confirmed they will come."),
        verbose_name=gettext_lazy("attendance confirmed at"),
    )
    attendance_confirmed_via = models.CharField(
        max_length=10,
        choices=ContactChannel.choices,
        blank=True,
        verbose_name=gettext_lazy("attendance confirmed via"),
    )
    attendance_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=gettext_lazy(
            "The staff member who recorded the confirmation; empty when the patient did."
        ),
        verbose_name=gettext_lazy("attendance confirmed by"),
    )

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("appointment")
        verbose_name_plural = gettext_lazy("appointments")
        ordering = ["start", "pk"]
        permissions = [("view_reports", "Can view the clinic's reports")]
        constraints = [
            # The database itself refuses a second appointment at the same start.
            models.UniqueConstraint(
                fields=["doctor", "start"],
                condition=HOLDS_SLOT,
                name="bookings_one_active_appointment_per_doctor_start",
                violation_error_message=gettext_lazy("That time has just been taken."),
            ),
            # On PostgreSQL it refuses any overlap too, not only the same start: no two
            # appointments of one doctor that hold their time may share a moment (btree_gist,
            # migration 0013). Only the visit itself: the buffers of visit types are kept free by
            # the booking services, under the doctor's row lock (see README, Visit types). Other
            # databases skip it and rely on that check alone.
            PostgreSQLExclusionConstraint(
                name="bookings_no_overlapping_appointments",
                expressions=[
                    ("doctor", RangeOperators.EQUAL),
                    (TsTzRange("start", "end"), RangeOperators.OVERLAPS),
                ],
                condition=HOLDS_SLOT,
                violation_error_message=gettext_lazy("That time has just been taken."),
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="bookings_appointment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values),
                name="bookings_appointment_status_known",
            ),
            models.CheckConstraint(
                condition=Q(cancelled_via__in=["", *ContactChannel.values]),
                name="bookings_appointment_cancelled_via_known",
            ),
            # A confirmation is a moment and a channel together, or neither.
            models.CheckConstraint(
                condition=Q(attendance_confirmed_at__isnull=True, attendance_confirmed_via="")
                | Q(
                    attendance_confirmed_at__isnull=False,
                    attendance_confirmed_via__in=ContactChannel.values,
                ),
                name="bookings_appointment_confirmation_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["doctor", "start"], name="bookings_doctor_start_idx"),
            # Availability asks for a doctor's appointments ending after a range starts; without
            # this the (doctor, start) index walks the doctor's whole history (see bench/).
            models.Index(
                fields=["doctor", "end"],
                condition=HOLDS_SLOT,
                name="bookings_doctor_active_end_idx",
            ),
            models.Index(fields=["patient", "start"], name="bookings_patient_start_idx"),
            models.Index(fields=["clinic", "start"], name="bookings_clinic_start_idx"),
        ]

    def __str__(self):
        start = self.start.astimezone(dt.UTC)
        return f"Appointment {self.pk} with {self.doctor} at {start:%Y-%m-%d %H:%M} UTC"

    def can_become(self, status):
        return status in ALLOWED_TRANSITIONS[Status(self.status)]

    def is_open_for_changes(self, now):
        """Booked and not started yet: the only state that can still be cancelled or moved."""
        return self.status == Status.BOOKED and self.start > now

    @property
    def attendance_confirmed(self):
        return self.attendance_confirmed_at is not None

    @property
    def holds_slot(self):
        return self.status != Status.CANCELLED

    @property
    def was_rescheduled(self):
        return self.status == Status.CANCELLED and hasattr(self, "rescheduled_to")

    def local_start(self):
        return self.start.astimezone(self.clinic.zone)

    def local_end(self):
        return self.end.astimezone(self.clinic.zone)


# Slot holds --------------------------------------------------------------------------------------


class HoldPurpose(models.TextChoices):
    BOOKING_PAGE = "booking_page", gettext_lazy("Booking page")
    INTEGRATION = "integration", gettext_lazy("Integration (FHIR or API)")
    WAITLIST_OFFER = "waitlist_offer", gettext_lazy("Waitlist offer")


def new_hold_token():
    """The handle a client keeps for its hold: 256 random bits, so it cannot be guessed."""
    return secrets.token_urlsafe(32)


class SlotHoldQuerySet(models.QuerySet):
    def live(self, now):
        return self.filter(expires_at__gt=now)

    def expired(self, now):
        return self.filter(expires_at__lte=now)

    def overlapping(self, start, end):
        return self.filter(start__lt=end, end__gt=start)


class SlotHold(models.Model):
    """A time kept for a few minutes (settings.SLOT_HOLD_MINUTES) for one person while they book
    it: the booking pages' confirm step, an integration's FHIR $hold, a waitlist offer.

    Until `expires_at` the slot engine counts the time as busy for everyone but the hold's
    patient and whoever presents the hold; a booking of the time by them consumes (deletes) it.
    Made and consumed only by the services in bookings.services, under the doctor's row lock.
    """

    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.CASCADE,
        related_name="slot_holds",
        verbose_name=gettext_lazy("doctor"),
    )
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.CASCADE,
        related_name="slot_holds",
        verbose_name=gettext_lazy("clinic"),
    )
    start = models.DateTimeField(verbose_name=gettext_lazy("start"))
    end = models.DateTimeField(verbose_name=gettext_lazy("end"))
    expires_at = models.DateTimeField(verbose_name=gettext_lazy("expires at"))
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=gettext_lazy(
            "The login that asked for the hold; empty when the portal itself made it."
        ),
        verbose_name=gettext_lazy("held by"),
    )
    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="slot_holds",
        help_text=gettext_lazy("Whom the time is kept for, when known."),
        verbose_name=gettext_lazy("patient"),
    )
    purpose = models.CharField(
        max_length=20, choices=HoldPurpose.choices, verbose_name=gettext_lazy("purpose")
    )
    token = models.CharField(
        max_length=64,
        unique=True,
        default=new_hold_token,
        editable=False,
        verbose_name=gettext_lazy("token"),
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"))

    objects = SlotHoldQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("slot hold")
        verbose_name_plural = gettext_lazy("slot holds")
        ordering = ["start", "pk"]
        permissions = [("release_slothold", "Can release a slot hold")]
        constraints = [
            # A unique index cannot say "live" (expiry depends on the clock, and an index
            # condition must not), so it holds for every row: one hold per doctor and start, live
            # or expired. hold_slot deletes the doctor's expired holds before it inserts, and
            # overlapping holds of different starts are refused by its check under the doctor's
            # row lock, which no unique index can express either.
            models.UniqueConstraint(
                fields=["doctor", "start"],
                name="bookings_one_hold_per_doctor_start",
                violation_error_message=gettext_lazy("That time is already held."),
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="bookings_slothold_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="bookings_slothold_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=HoldPurpose.values),
                name="bookings_slothold_purpose_known",
            ),
        ]
        indexes = [
            # The cleaner deletes by expiry across all doctors.
            models.Index(fields=["expires_at"], name="bookings_slothold_expiry_idx"),
        ]

    def __str__(self):
        start = self.start.astimezone(dt.UTC)
        return f"Hold {self.pk} on {self.doctor} at {start:%Y-%m-%d %H:%M} UTC"

    def is_live(self, now):
        return self.expires_at > now

    def local_start(self):
        return self.start.astimezone(self.clinic.zone)

    def local_expires_at(self):
        return self.expires_at.astimezone(self.clinic.zone)


# One-click links in messages ---------------------------------------------------------------------


class LinkAction(models.TextChoices):
    CONFIRM = "confirm", gettext_lazy("Confirm attendance")
    CANCEL = "cancel", pgettext_lazy("what a link in a message does", "Cancel")
    RESCHEDULE = "reschedule", gettext_lazy("Move to another time")


# The actions that change the appointment: their links work once.
SINGLE_USE_ACTIONS = (LinkAction.CONFIRM, LinkAction.CANCEL)


class AppointmentLink(models.Model):
    """A link in a confirmation or reminder that lets its patient act on one appointment without
    logging in (bookings.links makes and reads them).

    Only a hash of the link's token is stored: the token itself (random, unguessable) exists in
    the message alone, so a copy of this table opens nothing. A link names one action, stops
    working at `expires_at` (at the latest the appointment's start), and a link that changes the
    appointment (confirm, cancel) works once: `used_at` says when it did.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="links")
    action = models.CharField(max_length=10, choices=LinkAction.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=LinkAction.values),
                name="bookings_appointmentlink_action_known",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="bookings_appointmentlink_expires_after_creation",
            ),
        ]
        indexes = [
            # Expired links are deleted by expiry across all appointments.
            models.Index(fields=["expires_at"], name="bookings_link_expiry_idx"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} link {self.pk} for appointment {self.appointment_id}"

    @property
    def single_use(self):
        return self.action in SINGLE_USE_ACTIONS


class SeriesUnit(models.TextChoices):
    DAYS = "days", gettext_lazy("Days")
    WEEKS = "weeks", gettext_lazy("Weeks")


class AppointmentSeries(models.Model):
    """Appointments booked together as one recurring series (bookings.series): every `every`
    days or weeks, `count` times or up to `until`. The rule is kept as it was asked for; the
    appointments booked (SeriesLink) are the series, each one an ordinary appointment."""

    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="appointment_series",
        verbose_name=gettext_lazy("patient"),
    )
    doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, related_name="+", verbose_name=gettext_lazy("doctor")
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="+", verbose_name=gettext_lazy("clinic")
    )
    every = models.PositiveSmallIntegerField(verbose_name=gettext_lazy("every"))
    unit = models.CharField(
        max_length=5, choices=SeriesUnit.choices, verbose_name=gettext_lazy("unit")
    )
    count = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("count")
    )
    until = models.DateField(null=True, blank=True, verbose_name=gettext_lazy("until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("created by"),
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("appointment series")
        verbose_name_plural = gettext_lazy("appointment series")
        constraints = [
            models.CheckConstraint(
                condition=Q(every__gte=1), name="bookings_appointmentseries_every_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit__in=SeriesUnit.values),
                name="bookings_appointmentseries_unit_known",
            ),
            # A count or an end date, never both nor neither.
            models.CheckConstraint(
                condition=Q(count__isnull=False, until__isnull=True)
                | Q(count__isnull=True, until__isnull=False),
                name="bookings_appointmentseries_count_or_until",
            ),
        ]

    def __str__(self):
        return f"Series {self.pk}: every {self.every} {self.get_unit_display().lower()}"


class SeriesLink(models.Model):
    """An appointment of a series; an appointment belongs to one series at most."""

    series = models.ForeignKey(
        AppointmentSeries, on_delete=models.CASCADE, related_name="series_links"
    )
    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="series_link"
    )

    def __str__(self):
        return f"Appointment {self.appointment_id} in series {self.series_id}"
