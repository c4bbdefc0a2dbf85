"""The waitlist: patients waiting for a time with a doctor (or any doctor of a department),
the times that came free, and the offers of those times to the patients in the order they joined.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from accounts.models import Patient
from bookings.models import Appointment, SlotHold
from doctors.models import Clinic, Department, Doctor


class EntryState(models.TextChoices):
    WAITING = "waiting", gettext_lazy("Waiting")
    OFFERED = "offered", gettext_lazy("Offered a time")
    BOOKED = "booked", gettext_lazy("Booked")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")
    LAPSED = "lapsed", gettext_lazy("Lapsed (its dates have passed)")


# The entries still on the list: a withdrawn, booked or lapsed one is history.
ACTIVE_ENTRY_STATES = (EntryState.WAITING, EntryState.OFFERED)


class WaitlistEntryQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state__in=ACTIVE_ENTRY_STATES)


class WaitlistEntry(models.Model):
    """A patient waiting for a time with one doctor, or with any doctor of one department,
    optionally at one clinic, on a day from `earliest` to `latest` (in the clinic's own calendar).
    Patients are offered freed times in the order they joined (`created_at`, then `pk`)."""

    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        related_name="waitlist_entries",
        verbose_name=gettext_lazy("patient"),
    )
    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        verbose_name=gettext_lazy("doctor"),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        verbose_name=gettext_lazy("department"),
    )
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        help_text=gettext_lazy("Empty: any clinic where the doctor sees patients."),
        verbose_name=gettext_lazy("clinic"),
    )
    earliest = models.DateField(
        gettext_lazy("from"), help_text=gettext_lazy("The first day the patient could come.")
    )
    latest = models.DateField(
        gettext_lazy("until"), help_text=gettext_lazy("The last day the patient could come.")
    )
    state = models.CharField(
        max_length=10,
        choices=EntryState.choices,
        default=EntryState.WAITING,
        verbose_name=gettext_lazy("state"),
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=gettext_lazy("The appointment the patient booked from an offer."),
        verbose_name=gettext_lazy("appointment"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=gettext_lazy("The patient, or the front desk for them."),
        verbose_name=gettext_lazy("created by"),
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"))
    state_changed_at = models.DateTimeField(verbose_name=gettext_lazy("state changed at"))

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("waitlist entry")
        verbose_name_plural = gettext_lazy("waitlist entries")
        ordering = ["created_at", "pk"]
        constraints = [
            # A doctor, or a department: exactly one of the two.
            models.CheckConstraint(
                condition=Q(doctor__isnull=False, department__isnull=True)
                | Q(doctor__isnull=True, department__isnull=False),
                name="waitlist_entry_doctor_or_department",
            ),
            models.CheckConstraint(
                condition=Q(latest__gte=F("earliest")), name="waitlist_entry_dates_in_order"
            ),
            models.CheckConstraint(
                condition=Q(state__in=EntryState.values), name="waitlist_entry_state_known"
            ),
        ]
        indexes = [
            # Offering a freed time walks the waiting entries in the order they joined.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(state="waiting"),
                name="waitlist_waiting_idx",
            ),
            models.Index(fields=["patient", "state"], name="waitlist_patient_idx"),
        ]

    def __str__(self):
        return f"Waitlist entry {self.pk} ({self.get_state_display()})"

    @property
    def is_active(self):
        return self.state in ACTIVE_ENTRY_STATES

    def wanted(self):
        """Whom the patient waits for, as the pages say it."""
        if self.doctor_id:
            return str(self.doctor)
        return gettext("Any doctor in %(department)s") % {"department": self.department}


class FreedTimeState(models.TextChoices):
    OPEN = "open", gettext_lazy("To offer")
    OFFERED = "offered", gettext_lazy("Offered")
    CLOSED = "closed", pgettext_lazy("state of a freed time", "Closed")


class FreedTime(models.Model):
    """A time a cancellation or a move gave back, to be offered to the waitlist. Written by the
    waitlist's receivers in the transaction of the cancellation; offered after it commits by
    services.offer_freed_times."""

    # No foreign key in the database: the row is inserted by the cancellation's transaction,
    # which locks only the appointment, and a key check would take a share lock on the doctor's
    # row that a move of the same appointment holds (for update) while it waits for the
    # appointment: a deadlock. Doctors are never deleted (their appointments protect them).
    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
        verbose_name=gettext_lazy("doctor"),
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("clinic")
    )
    start = models.DateTimeField(verbose_name=gettext_lazy("start"))
    end = models.DateTimeField(verbose_name=gettext_lazy("end"))
    freed_at = models.DateTimeField(verbose_name=gettext_lazy("freed at"))
    state = models.CharField(
        max_length=10,
        choices=FreedTimeState.choices,
        default=FreedTimeState.OPEN,
        verbose_name=gettext_lazy("state"),
    )
    # When a worker may look at it next: a worker claims it by moving this ahead (a lease), so
    # two workers never offer it at once; a time held by someone else waits for the hold's end.
    next_try_at = models.DateTimeField(verbose_name=gettext_lazy("next try at"))

    class Meta:
        verbose_name = gettext_lazy("freed time")
        verbose_name_plural = gettext_lazy("freed times")
        ordering = ["next_try_at", "pk"]
        constraints = [
            # One time is offered by one row at a time.
            models.UniqueConstraint(
                fields=["doctor", "start"],
                condition=Q(state__in=["open", "offered"]),
                name="waitlist_freed_time_once",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="waitlist_freed_time_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(state__in=FreedTimeState.values), name="waitlist_freed_state_known"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_try_at"], condition=Q(state="open"), name="waitlist_freed_due_idx"
            ),
        ]

    def __str__(self):
        start = self.start.astimezone(dt.UTC)
        return f"Freed time {self.pk} with {self.doctor} at {start:%Y-%m-%d %H:%M} UTC"


class OfferState(models.TextChoices):
    OPEN = "open", pgettext_lazy("state of a waitlist offer", "Open")
    TAKEN = "taken", gettext_lazy("Taken (booked)")
    DECLINED = "declined", gettext_lazy("Declined")
    LAPSED = "lapsed", gettext_lazy("Lapsed (not taken in time)")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn (the entry was withdrawn)")


class WaitlistOffer(models.Model):
    """A freed time held (SlotHold, purpose waitlist_offer) for one waiting patient until
    `expires_at`. The patient books it through a link (OfferLink) or declines it; otherwise it
    lapses and the next patient in line is offered the time."""

    entry = models.ForeignKey(
        WaitlistEntry,
        on_delete=models.CASCADE,
        related_name="offers",
        verbose_name=gettext_lazy("entry"),
    )
    freed_time = models.ForeignKey(
        FreedTime,
        on_delete=models.CASCADE,
        related_name="offers",
        verbose_name=gettext_lazy("freed time"),
    )
    # The hold keeping the time; gone once booked, released or cleaned away. No foreign key in
    # the database: bookings delete holds in one statement, without looking for offers (a
    # booking's hot path), so the id may name a hold that no longer exists.
    hold = models.OneToOneField(
        SlotHold,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("hold"),
    )
    doctor = models.ForeignKey(
        Doctor, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("doctor")
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("clinic")
    )
    start = models.DateTimeField(verbose_name=gettext_lazy("start"))
    end = models.DateTimeField(verbose_name=gettext_lazy("end"))
    made_at = models.DateTimeField(verbose_name=gettext_lazy("made at"))
    expires_at = models.DateTimeField(verbose_name=gettext_lazy("expires at"))
    state = models.CharField(
        max_length=10,
        choices=OfferState.choices,
        default=OfferState.OPEN,
        verbose_name=gettext_lazy("state"),
    )
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("closed at"))

    class Meta:
        verbose_name = gettext_lazy("waitlist offer")
        verbose_name_plural = gettext_lazy("waitlist offers")
        ordering = ["made_at", "pk"]
        constraints = [
            # Never two open offers of one time, whatever two workers do at once.
            models.UniqueConstraint(
                fields=["doctor", "start"],
                condition=Q(state="open"),
                name="waitlist_one_open_offer_per_time",
            ),
            # A patient is offered a freed time once.
            models.UniqueConstraint(
                fields=["freed_time", "entry"], name="waitlist_offer_once_per_entry"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("made_at")), name="waitlist_offer_expires_after"
            ),
            models.CheckConstraint(
                condition=Q(state__in=OfferState.values), name="waitlist_offer_state_known"
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(state="open"), name="waitlist_offer_open_idx"
            ),
        ]

    def __str__(self):
        return f"Waitlist offer {self.pk} ({self.get_state_display()})"

    def is_open(self, now):
        return self.state == OfferState.OPEN and self.expires_at > now


class OfferLink(models.Model):
    """The link to an offer in one message (email or text). Only a hash of its token is kept: the
    token itself is in the message alone. It works while its offer is open."""

    offer = models.ForeignKey(WaitlistOffer, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"Link {self.pk} to waitlist offer {self.offer_id}"
