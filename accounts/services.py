"""State changes for people: sign-up and profile updates."""

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import Patient, User
from accounts.roles import Role


class EmailAlreadyRegistered(Exception):
    """Another account took this email address (possibly a moment ago, in a parallel sign-up)."""


def register_patient(*, email, password, full_name, date_of_birth, sex, phone=""):
    """Creates a login, its directory entry and the Patient role, all or nothing. The login
    stays inactive until its owner confirms the address (confirm_patient_login): whoever typed
    the address may not own it."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email=email,
                    password=password,
                    full_name=full_name,
                    phone=phone,
                    is_active=False,
                )
        except IntegrityError as exc:
            raise EmailAlreadyRegistered from exc
        user.groups.add(Group.objects.get(name=Role.PATIENT))
        Patient.objects.create(
            user=user,
            full_name=full_name,
            date_of_birth=date_of_birth,
            sex=sex,
            phone=phone,
            email=user.email,
            created_by=user,
        )
    return user


def confirm_patient_login(*, user):
    """The owner of the address opened the link sent at sign-up: the login may now be used."""
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


def update_patient_profile(
    *,
    patient,
    full_name,
    date_of_birth,
    sex,
    phone,
    email_reminders=True,
    sms_reminders=True,
):
    """Saves a patient's own details and keeps their login's name and phone in step."""
    with transaction.atomic():
        patient.full_name = full_name
        patient.date_of_birth = date_of_birth
        patient.sex = sex
        patient.phone = phone
        patient.email_reminders = email_reminders
        patient.sms_reminders = sms_reminders
        patient.save(
            update_fields=[
                "full_name",
                "date_of_birth",
                "sex",
                "phone",
                "email_reminders",
                "sms_reminders",
                "updated_at",
            ]
        )
        if patient.user_id:
            patient.user.full_name = full_name
            patient.user.phone = phone
            patient.user.save(update_fields=["full_name", "phone"])
    return patient


def add_directory_patient(*, by, full_name, date_of_birth, sex, phone="", email=""):
    """A patient without a login, added by the front desk."""
    return Patient.objects.create(
        full_name=full_name,
        date_of_birth=date_of_birth,
        sex=sex,
        phone=phone,
        email=email,
        created_by=by,
    )


def update_directory_patient(*, patient, full_name, date_of_birth, sex, phone="", email=""):
    """Corrects a patient's details; patients with a login keep them up to date themselves."""
    if patient.user_id is not None:
        raise PermissionError("Patients with a login edit their own details.")
    patient.full_name = full_name
    patient.date_of_birth = date_of_birth
    patient.sex = sex
    patient.phone = phone
    patient.email = email
    patient.save(
        update_fields=["full_name", "date_of_birth", "sex", "phone", "email", "updated_at"]
    )
    return patient


def end_all_sessions(*, user):
    """Every session checks the login's epoch; raising it makes them all invalid at once."""
    User.objects.filter(pk=user.pk).update(sessions_epoch=F("sessions_epoch") + 1)
