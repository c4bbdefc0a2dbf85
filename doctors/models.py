import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.phone import E164_HELP, validate_e164


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            gettext("Choose a time zone from the list (an IANA name such as Asia/Kolkata)."),
            code="invalid_timezone",
        )


def timezone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Department(models.Model):
    """A speciality with its operating hours; slots are never offered outside them."""

    name = models.CharField(max_length=100, unique=True, verbose_name=gettext_lazy("name"))
    description = models.TextField(blank=True, verbose_name=gettext_lazy("description"))
    opens_at = models.TimeField(
        help_text=gettext_lazy("Opening time, 24-hour HH:MM."),
        verbose_name=gettext_lazy("opens at"),
    )
    closes_at = models.TimeField(
        help_text=gettext_lazy("Closing time, 24-hour HH:MM; after the opening time."),
        verbose_name=gettext_lazy("closes at"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("department")
        verbose_name_plural = gettext_lazy("departments")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")),
                name="doctors_department_closes_after_opens",
                violation_error_message=gettext_lazy(
                    "The closing time must be after the opening time."
                ),
            ),
            models.UniqueConstraint(
                Lower("name"),
                name="doctors_department_name_ci_unique",
                violation_error_message=gettext_lazy("A department with this name already exists."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError(
                {"closes_at": gettext("The closing time must be after the opening time.")},
                code="closes_before_opens",
            )


class Clinic(models.Model):
    """A location. Its time zone is the one patients and doctors see its times in."""

    name = models.CharField(max_length=100, unique=True, verbose_name=gettext_lazy("name"))
    address = models.TextField(verbose_name=gettext_lazy("address"))
    phone = models.CharField(
        max_length=16,
        blank=True,
        validators=[validate_e164],
        help_text=E164_HELP,
        verbose_name=gettext_lazy("phone"),
    )
    email = models.EmailField(blank=True, verbose_name=gettext_lazy("email"))
    # No model-level choices: the zone list comes from the machine's tz database, and would
    # make migrations differ between machines. The admin form offers the list instead.
    timezone = models.CharField(
        max_length=64,
        validators=[validate_timezone],
        help_text=gettext_lazy("IANA time zone, for example Asia/Kolkata or Europe/London."),
        verbose_name=gettext_lazy("timezone"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("clinic")
        verbose_name_plural = gettext_lazy("clinics")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.timezone)


class DoctorQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def bookable_on(self, day):
        """Doctors who may take new bookings: active, with a registration valid that day."""
        return self.active().filter(registration_expires_on__gte=day)


class Doctor(models.Model):
    full_name = models.CharField(max_length=150, verbose_name=gettext_lazy("full name"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="doctor",
        help_text=gettext_lazy("The doctor's own login, which gives them their schedule pages."),
        verbose_name=gettext_lazy("user"),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="doctors",
        verbose_name=gettext_lazy("department"),
    )
    qualifications = models.CharField(
        max_length=200,
        blank=True,
        help_text=gettext_lazy("e.g. MBBS, MD"),
        verbose_name=gettext_lazy("qualifications"),
    )
    bio = models.TextField(blank=True, verbose_name=gettext_lazy("bio"))
    registration_number = models.CharField(
        max_length=50,
        unique=True,
        help_text=gettext_lazy("Medical council registration number."),
        verbose_name=gettext_lazy("registration number"),
    )
    registration_expires_on = models.DateField(
        help_text=gettext_lazy("An expired registration cannot take new bookings."),
        verbose_name=gettext_lazy("registration expires on"),
    )
    consultation_fee = models.DecimalField(
        max_digits=10, decimal_places=2, verbose_name=gettext_lazy("consultation fee")
    )
    slot_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
        help_text=gettext_lazy("Length of one appointment slot, in minutes."),
        verbose_name=gettext_lazy("slot minutes"),
    )
    is_active = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Inactive doctors are hidden and cannot be booked."),
        verbose_name=gettext_lazy("is active"),
    )
    # The secret in the doctor's private calendar feed URL; no feed until the doctor turns it on.
    calendar_token = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        verbose_name=gettext_lazy("calendar token"),
    )
    calendar_shows_patient_names = models.BooleanField(
        gettext_lazy("show patients' names in the calendar feed"),
        default=False,
        help_text=gettext_lazy("Off: the feed shows only the times and the type of visit."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    objects = DoctorQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("doctor")
        verbose_name_plural = gettext_lazy("doctors")
        ordering = ["full_name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(consultation_fee__gte=0),
                name="doctors_doctor_fee_not_negative",
                violation_error_message=gettext_lazy("The consultation fee cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=240),
                name="doctors_doctor_slot_minutes_range",
                violation_error_message=gettext_lazy("A slot lasts between 5 and 240 minutes."),
            ),
        ]
        indexes = [models.Index(Lower("full_name"), name="doctors_doctor_name_idx")]

    def __str__(self):
        return self.full_name

    def clean(self):
        super().clean()
        # Registration numbers are compared without regard to case or surrounding spaces.
        if self.registration_number:
            self.registration_number = self.registration_number.strip().upper()

    def registration_valid_on(self, day):
        return self.registration_expires_on >= day

    @property
    def registration_is_valid(self):
        return self.registration_valid_on(timezone.localdate())

    @property
    def accepts_bookings(self):
        return self.is_active and self.registration_is_valid


# The longest buffer a visit type may keep before or after its visits (the slot search reads
# appointments this far outside the times it looks at, for their buffers).
VISIT_BUFFER_MAX_MINUTES = 240


class VisitTypeQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_doctor(self, doctor):
        """The types a doctor offers: their department's and their own."""
        return self.filter(Q(department_id=doctor.department_id) | Q(doctor_id=doctor.pk))


class VisitType(models.Model):
    """A kind of visit with its own length, fee and buffers, set up per department or per doctor.

    A doctor's own types are offered beside their department's. An appointment without one is
    the doctor's plain slot (slot_minutes long, no buffers, the doctor's fee).
    """

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", gettext_lazy("In person")
        VIDEO = "video", gettext_lazy("Video")

    name = models.CharField(max_length=80, verbose_name=gettext_lazy("name"))
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visit_types",
        help_text=gettext_lazy(
            "Offered by every doctor of the department. Fill in this or the doctor."
        ),
        verbose_name=gettext_lazy("department"),
    )
    doctor = models.ForeignKey(
        Doctor,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="visit_types",
        help_text=gettext_lazy("Offered by this doctor only. Fill in this or the department."),
        verbose_name=gettext_lazy("doctor"),
    )
    minutes = models.PositiveSmallIntegerField(
        gettext_lazy("length in minutes"),
        validators=[MinValueValidator(5), MaxValueValidator(480)],
        help_text=gettext_lazy("Between 5 and 480."),
    )
    fee = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=gettext_lazy("Leave empty to charge the doctor's consultation fee."),
        verbose_name=gettext_lazy("fee"),
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(
        gettext_lazy("buffer before (minutes)"),
        default=0,
        validators=[MaxValueValidator(VISIT_BUFFER_MAX_MINUTES)],
        help_text=gettext_lazy("Time kept free before the visit, e.g. to prepare a room."),
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        gettext_lazy("buffer after (minutes)"),
        default=0,
        validators=[MaxValueValidator(VISIT_BUFFER_MAX_MINUTES)],
        help_text=gettext_lazy("Time kept free after the visit, e.g. to clean up."),
    )
    bookable_online = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Patients may choose it when they book; the front desk always may."),
        verbose_name=gettext_lazy("bookable online"),
    )
    mode = models.CharField(
        max_length=10,
        choices=Mode.choices,
        default=Mode.IN_PERSON,
        verbose_name=gettext_lazy("mode"),
    )
    patients_may_book_series = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Patients may book this visit as a recurring series themselves (every few days "
            "or weeks); the front desk always may."
        ),
        verbose_name=gettext_lazy("patients may book series"),
    )
    is_active = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Inactive types are no longer offered; their bookings stay."),
        verbose_name=gettext_lazy("is active"),
    )
    position = models.PositiveSmallIntegerField(
        default=0,
        help_text=gettext_lazy("Lower numbers are listed first; the first is the default choice."),
        verbose_name=gettext_lazy("position"),
    )

    objects = VisitTypeQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("visit type")
        verbose_name_plural = gettext_lazy("visit types")
        ordering = ["position", "minutes", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(department__isnull=False, doctor__isnull=True)
                | Q(department__isnull=True, doctor__isnull=False),
                name="doctors_visittype_department_or_doctor",
                violation_error_message=gettext_lazy("Choose a department or a doctor, not both."),
            ),
            models.CheckConstraint(
                condition=Q(minutes__gte=5) & Q(minutes__lte=480),
                name="doctors_visittype_minutes_range",
                violation_error_message=gettext_lazy("A visit lasts between 5 and 480 minutes."),
            ),
            models.CheckConstraint(
                condition=Q(fee__isnull=True) | Q(fee__gte=0),
                name="doctors_visittype_fee_not_negative",
                violation_error_message=gettext_lazy("The fee cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(buffer_before_minutes__lte=VISIT_BUFFER_MAX_MINUTES)
                & Q(buffer_after_minutes__lte=VISIT_BUFFER_MAX_MINUTES),
                name="doctors_visittype_buffers_range",
                violation_error_message=gettext_lazy("A buffer lasts at most 240 minutes."),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.minutes} min)"

    # Department or doctor: the CheckConstraint's message is the form's error (model validation
    # checks constraints), so there is no clean() saying it twice.

    @property
    def is_video(self):
        return self.mode == self.Mode.VIDEO

    @property
    def has_buffers(self):
        return bool(self.buffer_before_minutes or self.buffer_after_minutes)

    def fee_for(self, doctor):
        return doctor.consultation_fee if self.fee is None else self.fee

    def offered_by(self, doctor):
        return self.doctor_id == doctor.pk or (
            self.doctor_id is None and self.department_id == doctor.department_id
        )


class Weekday(models.IntegerChoices):
    """Numbered as `date.weekday()` numbers them, so the slot engine needs no translation."""

    MONDAY = 0, gettext_lazy("Monday")
    TUESDAY = 1, gettext_lazy("Tuesday")
    WEDNESDAY = 2, gettext_lazy("Wednesday")
    THURSDAY = 3, gettext_lazy("Thursday")
    FRIDAY = 4, gettext_lazy("Friday")
    SATURDAY = 5, gettext_lazy("Saturday")
    SUNDAY = 6, gettext_lazy("Sunday")


class WorkingHours(models.Model):
    """One stretch of a doctor's week at one clinic; several on a day leave breaks between."""

    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.CASCADE,
        related_name="working_hours",
        verbose_name=gettext_lazy("doctor"),
    )
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        related_name="working_hours",
        verbose_name=gettext_lazy("clinic"),
    )
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, verbose_name=gettext_lazy("weekday")
    )
    starts_at = models.TimeField(
        help_text=gettext_lazy("24-hour HH:MM, in the clinic's local time."),
        verbose_name=gettext_lazy("starts at"),
    )
    ends_at = models.TimeField(
        help_text=gettext_lazy("24-hour HH:MM, in the clinic's local time."),
        verbose_name=gettext_lazy("ends at"),
    )

    class Meta:
        verbose_name = gettext_lazy("working hours")
        ordering = ["doctor", "weekday", "starts_at"]
        verbose_name_plural = gettext_lazy("working hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="doctors_workinghours_ends_after_starts",
                violation_error_message=gettext_lazy("The end time must be after the start time."),
            ),
            models.UniqueConstraint(
                fields=["doctor", "weekday", "starts_at"],
                name="doctors_workinghours_unique_start",
                violation_error_message=gettext_lazy(
                    "These working hours start at the same time as others."
                ),
            ),
        ]
        indexes = [models.Index(fields=["clinic", "weekday"], name="doctors_wh_clinic_day_idx")]

    # Set by a form that validates all of a doctor's rows together (the admin's inline), whose
    # check sees unsaved edits that the saved rows compared here would not.
    overlap_checked_with_siblings = False

    def __str__(self):
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"

    def overlaps(self, other):
        return (
            self.weekday == other.weekday
            and self.starts_at < other.ends_at
            and other.starts_at < self.ends_at
        )

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError(
                {"ends_at": gettext("The end time must be after the start time.")},
                code="ends_before_starts",
            )
        if (
            not self.overlap_checked_with_siblings
            and self.doctor_id
            and self.starts_at
            and self.ends_at
            and self.weekday is not None
        ):
            # A doctor is in one place at a time, whichever clinic the other hours are at.
            clashes = (
                WorkingHours.objects.filter(
                    doctor_id=self.doctor_id,
                    weekday=self.weekday,
                    starts_at__lt=self.ends_at,
                    ends_at__gt=self.starts_at,
                )
                .exclude(pk=self.pk)
                .exists()
            )
            if clashes:
                raise ValidationError(
                    gettext(
                        "These hours overlap other working hours of the same doctor on that day."
                    ),
                    code="overlapping_hours",
                )


class Holiday(models.Model):
    """A day a clinic is closed; with no clinic, every clinic is closed."""

    date = models.DateField(verbose_name=gettext_lazy("date"))
    name = models.CharField(max_length=100, verbose_name=gettext_lazy("name"))
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="holidays",
        help_text=gettext_lazy("Leave empty when all clinics are closed."),
        verbose_name=gettext_lazy("clinic"),
    )

    class Meta:
        verbose_name = gettext_lazy("holiday")
        verbose_name_plural = gettext_lazy("holidays")
        ordering = ["date", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "clinic"],
                name="doctors_holiday_unique_clinic_day",
                violation_error_message=gettext_lazy(
                    "This clinic already has a holiday on that day."
                ),
            ),
            models.UniqueConstraint(
                fields=["date"],
                condition=Q(clinic__isnull=True),
                name="doctors_holiday_unique_all_clinics_day",
                violation_error_message=gettext_lazy(
                    "There is already a holiday for all clinics on that day."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.date:%d %b %Y})"


class TimeOff(models.Model):
    """A doctor's absence; slots inside it are not offered."""

    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.CASCADE,
        related_name="time_off",
        verbose_name=gettext_lazy("doctor"),
    )
    starts_at = models.DateTimeField(verbose_name=gettext_lazy("starts at"))
    ends_at = models.DateTimeField(verbose_name=gettext_lazy("ends at"))
    reason = models.CharField(
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Shown to staff only, e.g. conference or leave."),
        verbose_name=gettext_lazy("reason"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        ordering = ["starts_at"]
        verbose_name = gettext_lazy("time off")
        verbose_name_plural = gettext_lazy("time off")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="doctors_timeoff_ends_after_starts",
                violation_error_message=gettext_lazy("The time off must end after it starts."),
            ),
        ]
        indexes = [models.Index(fields=["doctor", "ends_at"], name="doctors_timeoff_doctor_end")]

    def __str__(self):
        return f"{self.doctor}: {self.starts_at:%d %b %Y %H:%M} – {self.ends_at:%d %b %Y %H:%M}"

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError(
                {"ends_at": gettext("The time off must end after it starts.")},
                code="ends_before_starts",
            )
