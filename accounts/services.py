"""State changes for people: sign-up and profile updates."""

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext

from accounts import signals
from accounts.audit import record_event
from accounts.models import Patient, User
from accounts.roles import Role


class EmailAlreadyRegistered(Exception):
    """The address belongs to a login that is in use (or was switched off): sign-up must leave
    it alone. `user` is that login, for telling its owner by email."""

    def __init__(self, user=None):
        super().__init__("An account with this email address already exists.")
        self.user = user


class ConfirmationRefused(Exception):
    """The link no longer confirms anything: used, replaced by a later sign-up, or too old."""


class WrongSignupPassword(Exception):
    """The password typed on the confirm page is not the one chosen at sign-up."""


def is_awaiting_confirmation(user):
    # A patient's sign-up that was never confirmed: inactive and never logged in. Staff and
    # logins that have been used are never "pending", whatever an admin did to them since.
    return (
        not user.is_active
        and user.last_login is None
        and not user.is_staff
        and user.groups.filter(name=Role.PATIENT).exists()
    )


def register_patient(*, email, password, full_name, date_of_birth, sex, phone="", language=""):
    """Creates a login, its directory entry and the Patient role, all or nothing. The login
    stays inactive until its owner confirms the address (confirm_patient_login): whoever typed
    the address may not own it.

    An address whose sign-up was never confirmed is not "taken": whoever signed up first may
    be a stranger who chose the password, so the newest sign-up replaces the password and the
    details (restart_pending_signup) and only its own emailed link can confirm. The password is
    hashed exactly once whichever way this goes, so the time taken does not tell a new address
    from a pending or a taken one.

    `language` (a code, or "" for the browser's) is the one the sign-up was made in: the pages
    and the messages of the new login follow it.
    """
    encoded = make_password(password)
    details = {
        "full_name": full_name,
        "date_of_birth": date_of_birth,
        "sex": sex,
        "phone": phone,
        "language": language,
    }
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = User.objects.create(
                    email=User.objects.normalize_email(email),
                    password=encoded,
                    full_name=full_name,
                    phone=phone,
                    language=language,
                    is_active=False,
                )
        except IntegrityError:
            # Committed by someone else, possibly a moment ago in a parallel sign-up: on
            # PostgreSQL the insert waited for it, and the lock below reads it.
            return _restart_pending_signup(email=email, encoded_password=encoded, **details)
        user.groups.add(Group.objects.get(name=Role.PATIENT))
        Patient.objects.create(user=user, email=user.email, created_by=user, **details)
    return user


def _restart_pending_signup(
    *, email, encoded_password, full_name, date_of_birth, sex, phone, language
):
    # Runs inside register_patient's transaction, which holds the row lock until it commits.
    user = (
        User.objects.select_for_update()
        .filter(email__iexact=User.objects.normalize_email(email))
        .first()
    )
    if user is None or not is_awaiting_confirmation(user):
        raise EmailAlreadyRegistered(user)
    user.password = encoded_password
    user.full_name = full_name
    user.phone = phone
    user.language = language
    user.save(update_fields=["password", "full_name", "phone", "language"])
    patient = Patient.objects.get(user=user)
    patient.full_name = full_name
    patient.date_of_birth = date_of_birth
    patient.sex = sex
    patient.phone = phone
    patient.language = language
    patient.save(
        update_fields=["full_name", "date_of_birth", "sex", "phone", "language", "updated_at"]
    )
    # Nobody can have used the login yet, but anything issued against the old password must
    # die with it.
    _revoke_credentials(user)
    record_event(user, "unconfirmed sign-up replaced by a newer one")
    return user


def confirm_patient_login(*, user, password, link_is_valid):
    """The owner of the address opened the link sent at sign-up and typed the password chosen
    then: the login may now be used. `link_is_valid(user)` is asked again under the row lock,
    as a parallel sign-up may have replaced the password (and so killed the link) meanwhile."""
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk).first()
        if locked is None or not is_awaiting_confirmation(locked) or not link_is_valid(locked):
            raise ConfirmationRefused
        if not locked.check_password(password):
            raise WrongSignupPassword
        locked.is_active = True
        locked.save(update_fields=["is_active"])
    return locked


def update_patient_profile(
    *,
    patient,
    full_name,
    date_of_birth,
    sex,
    phone,
    email_reminders=True,
    sms_reminders=True,
    language=None,
):
    """Saves a patient's own details and keeps their login's name, phone and language in step
    (`language` None: left as it is)."""
    with transaction.atomic():
        patient.full_name = full_name
        patient.date_of_birth = date_of_birth
        patient.sex = sex
        patient.phone = phone
        patient.email_reminders = email_reminders
        patient.sms_reminders = sms_reminders
        fields = ["full_name", "date_of_birth", "sex", "phone", "email_reminders", "sms_reminders"]
        if language is not None:
            patient.language = language
            fields.append("language")
        patient.save(update_fields=[*fields, "updated_at"])
        if patient.user_id:
            patient.user.full_name = full_name
            patient.user.phone = phone
            user_fields = ["full_name", "phone"]
            if language is not None:
                patient.user.language = language
                user_fields.append("language")
            patient.user.save(update_fields=user_fields)
    return patient


def add_directory_patient(*, by, full_name, date_of_birth, sex, phone="", email="", language=""):
    """A patient without a login, added by the front desk."""
    return Patient.objects.create(
        full_name=full_name,
        date_of_birth=date_of_birth,
        sex=sex,
        phone=phone,
        email=email,
        language=language,
        created_by=by,
    )


def update_directory_patient(
    *, patient, full_name, date_of_birth, sex, phone="", email="", language=""
):
    """Corrects a patient's details; patients with a login keep them up to date themselves."""
    if patient.user_id is not None:
        raise PermissionError(gettext("Patients with a login edit their own details."))
    patient.full_name = full_name
    patient.date_of_birth = date_of_birth
    patient.sex = sex
    patient.phone = phone
    patient.email = email
    patient.language = language
    patient.save(
        update_fields=[
            "full_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "language",
            "updated_at",
        ]
    )
    return patient


def end_all_sessions(*, user):
    """Every session checks the login's epoch; raising it makes them all invalid at once. Other
    ways in that this login was given (the API's tokens) end with them."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(sessions_epoch=F("sessions_epoch") + 1)
        _revoke_credentials(user)


def password_changed(*, user):
    """After a password change or reset. Sessions need nothing (the password is part of each
    one's check, and the page that changed it keeps its own), but other credentials do."""
    with transaction.atomic():
        _revoke_credentials(user)


def _revoke_credentials(user):
    # Sent inside the caller's transaction, so a change that rolls back revokes nothing.
    signals.credentials_revoked.send(sender=User, user=user)


def save_language(*, user, language):
    """Saves `language` (a code the portal offers, or "" for the browser's) as the language of
    `user`'s pages and, for a patient, of the messages sent to them: one choice for both."""
    with transaction.atomic():
        user.language = language
        user.save(update_fields=["language"])
        Patient.objects.filter(user=user).update(language=language)
