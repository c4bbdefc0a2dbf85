"""Phone numbers are stored in E.164 form (+ country code, then up to 14 digits)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

# ASCII digits only (\d also takes other scripts' digits); used with fullmatch, because $ would
# let a trailing newline through.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Separators people type between digit groups; they carry no meaning.
_SEPARATORS = re.compile(r"[\s\-().]")

E164_HELP = gettext_lazy("International format with country code, for example +91 98123 45678.")


def normalize_phone(raw):
    """Strips separators and turns a leading 00 into +; validation decides the rest."""
    number = _SEPARATORS.sub("", raw or "")
    if number.startswith("00"):
        number = "+" + number[2:]
    return number


def validate_e164(value):
    if not E164.fullmatch(value):
        raise ValidationError(
            gettext("Enter the phone number with its country code, for example +919812345678."),
            code="invalid_phone",
        )
