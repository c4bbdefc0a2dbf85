"""Reads of the patient directory."""

import re

from django.db.models import Q

from accounts.models import Patient
from accounts.phone import normalize_phone

SEARCH_LIMIT = 50
_PHONE_LIKE = re.compile(r"^[\d\s()+.-]+$")


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
        condition = Q(full_name__icontains=query) | Q(email__icontains=query)
    return list(
        Patient.objects.filter(condition)
        .select_related("user")
        .order_by("full_name", "pk")[: SEARCH_LIMIT + 1]
    )
