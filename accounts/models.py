from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from accounts.languages import validate_language
from accounts.phone import E164_HELP, validate_e164


class UserManager(BaseUserManager):
    use_in_migrations = True

    def normalize_email(self, email):
        # The whole address is compared case-insensitively, so store it in one case.
        return (email or "").strip().lower()

    def get_by_natural_key(self, email):
        return self.get(email__iexact=self.normalize_email(email))

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not (extra_fields["is_staff"] and extra_fields["is_superuser"]):
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A login. The email address is the user name; roles come from groups (accounts.roles)."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(gettext_lazy("email address"), unique=True)
    full_name = models.CharField(max_length=150, verbose_name=gettext_lazy("full name"))
    phone = models.CharField(
        max_length=16,
        blank=True,
        validators=[validate_e164],
        help_text=E164_HELP,
        verbose_name=gettext_lazy("phone"),
    )
    language = models.CharField(
        max_length=12,
        blank=True,
        validators=[validate_language],
        help_text=gettext_lazy(
            "The language of the pages once logged in; empty: as the browser asks."
        ),
        verbose_name=gettext_lazy("language"),
    )
    # Part of every session's check: raising it ends all of this login's sessions at once.
    sessions_epoch = models.PositiveIntegerField(
        default=0, editable=False, verbose_name=gettext_lazy("sessions epoch")
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    objects = UserManager()

    class Meta:
        verbose_name = gettext_lazy("user")
        verbose_name_plural = gettext_lazy("users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message=gettext_lazy(
                    "An account with this email address already exists."
                ),
            ),
        ]

    def __str__(self):
        return self.email

    def _get_session_auth_hash(self, secret=None):
        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.sessions_epoch}", secret=secret, algorithm="sha256"
        ).hexdigest()

    def clean(self):
        super().clean()
        self.email = type(self).objects.normalize_email(self.email)

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


OLDEST_PLAUSIBLE_AGE_YEARS = 130


def validate_date_of_birth(value):
    today = timezone.localdate()
    if value > today:
        raise ValidationError(
            gettext("The date of birth cannot be in the future."), code="future_birth"
        )
    if today.year - value.year > OLDEST_PLAUSIBLE_AGE_YEARS:
        raise ValidationError(gettext("Please check the year of birth."), code="implausible_birth")


class Patient(models.Model):
    """An entry in the patient directory, with or without a login of its own."""

    class Sex(models.TextChoices):
        FEMALE = "female", gettext_lazy("Female")
        MALE = "male", gettext_lazy("Male")
        OTHER = "other", pgettext_lazy("sex", "Other")
        UNDISCLOSED = "undisclosed", gettext_lazy("Prefer not to say")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient",
        help_text=gettext_lazy(
            "The patient's own login, if they have one. Walk-in patients need none."
        ),
        verbose_name=gettext_lazy("user"),
    )
    full_name = models.CharField(max_length=150, verbose_name=gettext_lazy("full name"))
    date_of_birth = models.DateField(
        validators=[validate_date_of_birth], verbose_name=gettext_lazy("date of birth")
    )
    sex = models.CharField(max_length=12, choices=Sex.choices, verbose_name=gettext_lazy("sex"))
    phone = models.CharField(
        max_length=16,
        blank=True,
        validators=[validate_e164],
        help_text=E164_HELP,
        verbose_name=gettext_lazy("phone"),
    )
    email = models.EmailField(blank=True, verbose_name=gettext_lazy("email"))
    email_reminders = models.BooleanField(
        gettext_lazy("reminders by email"),
        default=True,
        help_text=gettext_lazy("Before each appointment, by email."),
    )
    sms_reminders = models.BooleanField(
        gettext_lazy("reminders by SMS"),
        default=True,
        help_text=gettext_lazy("Before each appointment, by text message."),
    )
    language = models.CharField(
        gettext_lazy("preferred language"),
        max_length=12,
        blank=True,
        validators=[validate_language],
        help_text=gettext_lazy(
            "The language of the messages the patient gets; empty: the clinic's default."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=gettext_lazy("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("patient")
        verbose_name_plural = gettext_lazy("patients")
        ordering = ["full_name", "pk"]
        indexes = [
            models.Index(Lower("full_name"), name="accounts_patient_name_idx"),
            models.Index(fields=["phone"], name="accounts_patient_phone_idx"),
        ]

    def __str__(self):
        return self.full_name

    def age_on(self, day):
        had_birthday = (day.month, day.day) >= (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - (0 if had_birthday else 1)

    @property
    def age(self):
        return self.age_on(timezone.localdate())

    @property
    def has_account(self):
        return self.user_id is not None
