"""State changes of the clinic structure that happen outside the admin."""

import secrets

from django.db import transaction

from doctors.models import Doctor


def issue_calendar_token(*, doctor):
    """Turns the doctor's calendar feed on, or gives it a new secret: the old URL stops working."""
    with transaction.atomic():
        doctor = Doctor.objects.select_for_update().get(pk=doctor.pk)
        doctor.calendar_token = secrets.token_urlsafe(32)
        doctor.save(update_fields=["calendar_token", "updated_at"])
    return doctor


def revoke_calendar_token(*, doctor):
    """Turns the feed off; subscribed calendars stop receiving updates."""
    Doctor.objects.filter(pk=doctor.pk).update(calendar_token=None)
    doctor.calendar_token = None
    return doctor


def set_calendar_privacy(*, doctor, shows_patient_names):
    Doctor.objects.filter(pk=doctor.pk).update(calendar_shows_patient_names=shows_patient_names)
    doctor.calendar_shows_patient_names = shows_patient_names
    return doctor
