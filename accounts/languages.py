"""The portal's languages and whose language is whose.

The languages on offer are English (the source language) and each language whose catalogue is in
`locale/` (clinic.settings builds LANGUAGES from the folders there), so a translator adds a
language by adding its folder. A person's language is stored as a code ("hi"), blank for "as the
browser asks":

- A login's `User.language` is the language of the pages they see once logged in (the switcher in
  the header saves it; so does "My details").
- A patient's `Patient.language` is the language of the messages sent to them, whoever triggers
  them (the front desk sets it for a directory patient). A patient with a login changes both
  at once.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation


def language_codes():
    return [code for code, _name in settings.LANGUAGES]


def language_choices(*, blank_label=None):
    """The languages as form choices, each named in itself ("हिन्दी"), with an optional blank."""
    choices = [(code, name) for code, name in settings.LANGUAGES]
    return [("", blank_label), *choices] if blank_label is not None else choices


def validate_language(value):
    if value and value not in language_codes():
        raise ValidationError(
            translation.gettext("Choose one of the languages offered."), code="unknown_language"
        )


def supported(code):
    """`code` if the portal offers it, else None."""
    return code if code and code in language_codes() else None


def of_user(user):
    """The language a logged-in user reads the pages in, or None to follow the browser."""
    if user is None or not user.is_authenticated:
        return None
    return supported(user.language)


def of_patient(patient):
    """The language the messages to `patient` are written in: theirs, else their login's, else
    the clinic's default (LANGUAGE_CODE)."""
    user = patient.user if patient.user_id else None
    return supported(patient.language) or supported(user.language if user else "") or default()


def default():
    """The clinic's default language (LANGUAGE_CODE)."""
    return settings.LANGUAGE_CODE


def of_recipient_user(user):
    """The language of messages to a login without a patient record (a doctor, the staff)."""
    return supported(user.language) or default()
