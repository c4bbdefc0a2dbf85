"""Patient: the patient directory (accounts.Patient), for the clinic's own roles.

Who may read, as the portal decides elsewhere: the front desk, clinic admins and integrations (a
login with the Front desk role) every patient, with their contact details and date of birth, as
the desk's pages show them; a doctor only the patients of their own schedule (those with an
appointment the API's `appointments_for` lets them reach, cancelled ones too), and of them only
what the doctor's pages show: the name and sex. Anyone else's patient answers 404. A patient's
own login is refused (403): their record is theirs through the portal and the JSON API.

The name, telecom and birthdate parameters carry personal details, so they are searched only
through POST Patient/_search (fhir/stored_searches.py); `_id` and `identifier` (the directory's
id) may be in a URL, as the API's /patients/<id>/ is.

A search is a search of the directory, as on the desk's pages and in the JSON API, never a way
to list it: it needs at least one of those parameters, and more than the directory's
SEARCH_LIMIT matches is a 400 (narrow the search), not pages of thousands. Who matches a name is
the directory's rule (accounts.selectors); every patient a search returns is recorded as viewed,
as a read is.
"""

import datetime as dt
import re

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from fhir.resources.R4B.patient import Patient as FhirPatient

from accounts.audit import record_view, record_views
from accounts.models import Patient
from accounts.phone import E164, normalize_phone
from accounts.selectors import SEARCH_LIMIT, first_matches, name_matches
from api.appointments import StaffOrDoctor, appointments_for
from api.permissions import is_staff
from bookings.forms import SANE_YEARS
from fhir.outcomes import FhirError
from fhir.search import (
    SPEC,
    SearchParam,
    id_param,
    key_of,
    token_codes,
)
from fhir.views import ResourceType

GENDERS = {
    Patient.Sex.FEMALE: "female",
    Patient.Sex.MALE: "male",
    Patient.Sex.OTHER: "other",
    Patient.Sex.UNDISCLOSED: "unknown",
}
PHONE_SYSTEMS = frozenset({"phone", "sms"})
DATE = re.compile(r"([a-z]{2})?([0-9]{4}-[0-9]{2}-[0-9]{2})", re.ASCII)
BIRTHDATE_HELP = "birthdate is a date, YYYY-MM-DD, after eq (the default), ge, gt, le or lt."
DOCTOR_PARAMS = ("_id", "identifier", "name")
STAFF_PARAMS = (*DOCTOR_PARAMS, "telecom", "birthdate")
PERSONAL_PARAMS = frozenset({"name", "telecom", "birthdate"})


def patient_id_system():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/patient"


def reachable_patients(user):
    """The directory as `user` may read it: staff all of it; a doctor the patients of their own
    schedule, as the API's appointments_for reaches it. The view lets no one else in."""
    if is_staff(user):
        return Patient.objects.all()
    schedule = appointments_for(user, doctor=True)
    return Patient.objects.filter(pk__in=schedule.values("patient_id"))


def patient(record, *, full):
    """The Patient; `full` adds what only staff see: telecom and the date of birth."""
    resource = {
        "id": str(record.pk),
        "identifier": [
            {"use": "usual", "system": patient_id_system(), "value": str(record.pk)},
        ],
        "name": [{"use": "official", "text": record.full_name}],
        "gender": GENDERS.get(record.sex, "unknown"),
    }
    if full:
        telecom = []
        if record.phone:
            telecom.append({"system": "phone", "value": record.phone})
        if record.email:
            telecom.append({"system": "email", "value": record.email})
        resource["telecom"] = telecom or None
        resource["birthDate"] = record.date_of_birth.isoformat()
    return FhirPatient(**resource)


def _telecom_filter(query):
    """Patients with any of the phone numbers (E.164) or email addresses asked for."""
    values = query.choices("telecom")
    if values is None:
        return Q()
    condition = Q(pk__in=[])
    for value in values:
        system, bar, text = value.partition("|")
        if not bar:
            system, text = ("email" if "@" in value else "phone"), value
        if system == "email" and text:
            condition |= Q(email__iexact=text)
        elif system in PHONE_SYSTEMS:
            number = normalize_phone(text)
            if not E164.fullmatch(number):
                raise FhirError(
                    "telecom is a phone number with its country code (+919812345678) or an "
                    "email address, optionally after phone| or email|."
                )
            condition |= Q(phone=number)
    return condition


def _birthdate_filter(query):
    condition = Q()
    for _, value in query.values.get("birthdate", []):
        match = DATE.fullmatch(value)
        if match is None:
            raise FhirError(BIRTHDATE_HELP)
        prefix = match.group(1) or "eq"
        try:
            day = dt.date.fromisoformat(match.group(2))
        except ValueError:
            raise FhirError(BIRTHDATE_HELP) from None
        if not SANE_YEARS[0] <= day.year <= SANE_YEARS[1]:
            raise FhirError(f"birthdate is a year from {SANE_YEARS[0]} to {SANE_YEARS[1]}.")
        lookup = {"eq": "", "ge": "__gte", "gt": "__gt", "le": "__lte", "lt": "__lt"}.get(prefix)
        if lookup is None:
            raise FhirError(f"The prefix {prefix!r} is not supported for birthdate.")
        condition &= Q(**{f"date_of_birth{lookup}": day})
    return condition


class Patients(ResourceType):
    name = "Patient"
    permissions = {"read": [StaffOrDoctor], "search-type": [StaffOrDoctor]}
    search_params = (
        id_param("Patient"),
        SearchParam(
            "identifier",
            "token",
            SPEC + "Patient-identifier",
            "The patient's id in the directory: id, or system|id (the system "
            "<FHIR_IDENTIFIER_SYSTEM_BASE>/patient).",
        ),
        SearchParam(
            "name",
            "string",
            SPEC + "Patient-name",
            "POST _search only. Anywhere in the name, ignoring case, as the directory's search "
            "finds a name (:contains the same); :exact the whole name.",
            modifiers=frozenset({"exact", "contains"}),
            personal=True,
        ),
        SearchParam(
            "telecom",
            "token",
            SPEC + "individual-telecom",
            "POST _search only; staff only. A phone number in E.164 (+919812345678) or an email "
            "address, optionally after phone| or email| (a comma means or).",
            personal=True,
        ),
        SearchParam(
            "birthdate",
            "date",
            SPEC + "individual-birthdate",
            "POST _search only; staff only. A date, after eq (the default), ge, gt, le or lt; "
            "give it twice for a range.",
            repeats=True,
            personal=True,
        ),
    )

    def read(self, request, resource_id):
        key = key_of(resource_id)
        record = reachable_patients(request.user).filter(pk=key).first() if key else None
        if record is None:
            raise Http404
        record_view(record)
        return patient(record, full=is_staff(request.user))

    def search(self, request, query):
        full = is_staff(request.user)
        allowed = STAFF_PARAMS if full else DOCTOR_PARAMS
        if not full:
            hidden = sorted(set(query.values) - set(DOCTOR_PARAMS))
            if hidden:
                raise FhirError(
                    f"A doctor's login finds patients by _id, identifier or name, not by "
                    f"{', '.join(hidden)}, which it does not see.",
                    status_code=403,
                    issue="forbidden",
                    code="permission_denied",
                )
        if not query.values:
            personal = [name for name in allowed if name in PERSONAL_PARAMS]
            raise FhirError(
                f"A Patient search finds patients, it does not list the directory: give at least "
                f"one of {_joined(allowed, 'or')} ({_joined(personal, 'and')} in a form POSTed "
                f"to Patient/_search).",
                issue="required",
                code="required",
            )
        found = first_matches(reachable_patients(request.user).filter(_narrowed(query)))
        if len(found) > SEARCH_LIMIT:
            raise FhirError(
                f"More than {SEARCH_LIMIT} patients matched: narrow the search.",
                issue="too-costly",
                code="too_many_matches",
            )
        # Pages in id order, as every search here (the selector's list is by name).
        found.sort(key=lambda record: record.pk)
        page = query.page
        rows = found[page.offset : page.offset + page.count]
        record_views(rows)
        return len(found), [patient(record, full=full) for record in rows]


def _joined(names, conjunction):
    return f" {conjunction} ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def _narrowed(query):
    """The directory's rows that match every parameter of the search."""
    condition = Q()
    keys = query.keys("_id")
    if keys is not None:
        condition &= Q(pk__in=keys)
    identifiers = token_codes(query, "identifier", patient_id_system())
    if identifiers is not None:
        condition &= Q(pk__in=[key for key in map(key_of, identifiers) if key])
    modifier, name = query.one("name")
    if name is not None:
        # FHIR's :exact is the whole name, case and all; otherwise the directory's rule.
        condition &= Q(full_name=name) if modifier == "exact" else name_matches(name)
    return condition & _telecom_filter(query) & _birthdate_filter(query)
