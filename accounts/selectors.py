"""Reads of the patient directory."""

import re

from django.db.models import Q

from accounts.models import Patient
from accounts.phone import normalize_phone

SEARCH_LIMIT = 50
_PHONE_LIKE = re.compile(r"^[\d\s()+.-]+$")


def name_matches(text):
    """The directory's rule for a name: `text` anywhere in the full name, ignoring case."""
    return Q(full_name__icontains=text)


def search_patients(query):
    """Patients whose name or email contains `query`, or whose phone contains its digits.

    At most SEARCH_LIMIT + 1 are returned, so a caller can tell the list was cut short.
    """
    query = query.strip()
    if _PHONE_LIKE.match(query):
        # Read as the phone field reads it (a leading 00 is the + stored), then digits only.
        digits = re.sub(r"\D", "", normalize_phone(query))
        condition = Q(phone__contains=digits) if digits else Q(pk__in=[])
    else:
        condition = name_matches(query) | Q(email__icontains=query)
    return first_matches(Patient.objects.filter(condition))


def first_matches(patients):
    """The first SEARCH_LIMIT + 1 of `patients` (the directory, already narrowed to a search and
    to what the caller may reach), by name: more than SEARCH_LIMIT means narrow the search."""
    return list(patients.select_related("user").order_by("full_name", "pk")[: SEARCH_LIMIT + 1])
