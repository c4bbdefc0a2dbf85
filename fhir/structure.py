"""The clinic's structure as FHIR resources, read and searched:

    Practitioner       a Doctor (the registration number as an identifier)
    Location           a Clinic (with its IANA time zone as the standard timezone extension)
    HealthcareService  a Department (its operating hours as availableTime)
    PractitionerRole   a doctor at a clinic, in their department (their working hours there)

Who may read: any login with a token, whatever its role; this is the structure the portal's
public pages show. A doctor who no longer works (inactive) is read only by staff (front desk,
clinic admins, integrations), as the API shows them only to staff: patients and doctors get 404.
"""

from collections import defaultdict

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole

from api.permissions import is_staff
from doctors.models import Clinic, Department, Doctor, WorkingHours
from fhir.outcomes import FhirError
from fhir.search import (
    SPEC,
    SearchParam,
    base_url,
    id_param,
    key_of,
    paged,
    reference_keys,
    text_filter,
    token_codes,
)
from fhir.views import ResourceType

TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"
# FHIR's days of the week, by the portal's weekday numbers (Monday is 0, as date.weekday()).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TEXT_MODIFIERS = frozenset({"exact", "contains"})


def registration_system():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/doctor-registration"


def department_system():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/department"


def departments_asked(query, names=("service-type", "specialty")):
    """The department keys the token parameters `names` ask for (several given: all must match),
    or None when none is given."""
    keys = None
    for name in names:
        codes = token_codes(query, name, department_system())
        if codes is not None:
            asked = {key for key in map(key_of, codes) if key is not None}
            keys = asked if keys is None else keys & asked
    return keys


def sees_inactive_doctors(user):
    return is_staff(user)


def visible_doctors(request):
    doctors = Doctor.objects.all()
    return doctors if sees_inactive_doctors(request.user) else doctors.active()


def _clock(value):
    return value.strftime("%H:%M:%S")


def department_concept(department):
    return {
        "coding": [
            {"system": department_system(), "code": str(department.pk), "display": department.name}
        ],
        "text": department.name,
    }


def _read_key(resource_id):
    key = key_of(resource_id)
    if key is None:
        raise Http404
    return key


def _name_filter(query, field_name):
    modifier, value = query.one("name")
    return Q() if value is None else text_filter(field_name, modifier or "", value)


# Practitioner -------------------------------------------------------------------------------------


def practitioner(doctor):
    resource = {
        "id": str(doctor.pk),
        "active": doctor.is_active,
        "identifier": [
            {
                "use": "official",
                "system": registration_system(),
                "value": doctor.registration_number,
            }
        ],
        "name": [{"use": "official", "text": doctor.full_name}],
    }
    if doctor.qualifications:
        resource["qualification"] = [{"code": {"text": doctor.qualifications}}]
    return Practitioner(**resource)


class Practitioners(ResourceType):
    name = "Practitioner"
    search_params = (
        id_param("Practitioner"),
        SearchParam(
            "identifier",
            "token",
            SPEC + "Practitioner-identifier",
            "The registration number: number, or system|number (any case).",
        ),
        SearchParam(
            "name",
            "string",
            SPEC + "Practitioner-name",
            "The start of any word of the name, ignoring case; :contains, :exact.",
            modifiers=TEXT_MODIFIERS,
        ),
        SearchParam("active", "token", SPEC + "Practitioner-active", "true or false."),
    )

    def read(self, request, resource_id):
        doctor = visible_doctors(request).filter(pk=_read_key(resource_id)).first()
        if doctor is None:
            raise Http404
        return practitioner(doctor)

    def search(self, request, query):
        doctors = visible_doctors(request)
        keys = query.keys("_id")
        if keys is not None:
            doctors = doctors.filter(pk__in=keys)
        numbers = token_codes(query, "identifier", registration_system())
        if numbers is not None:
            doctors = doctors.filter(
                registration_number__in=[number.strip().upper() for number in numbers]
            )
        doctors = doctors.filter(_name_filter(query, "full_name"))
        _, active = query.one("active")
        if active is not None:
            if active not in ("true", "false"):
                raise FhirError("active is true or false.")
            doctors = doctors.filter(is_active=active == "true")
        total, rows = paged(doctors.order_by("pk"), query.page)
        return total, [practitioner(doctor) for doctor in rows]


# Location -----------------------------------------------------------------------------------------


def location(clinic):
    telecom = []
    if clinic.phone:
        telecom.append({"system": "phone", "value": clinic.phone, "use": "work"})
    if clinic.email:
        telecom.append({"system": "email", "value": clinic.email, "use": "work"})
    lines = [line.strip() for line in clinic.address.splitlines() if line.strip()]
    return Location(
        id=str(clinic.pk),
        status="active",
        mode="instance",
        name=clinic.name,
        address={"use": "work", "text": ", ".join(lines), "line": lines or None},
        telecom=telecom or None,
        extension=[{"url": TIMEZONE_EXTENSION, "valueCode": clinic.timezone}],
    )


class Locations(ResourceType):
    name = "Location"
    search_params = (
        id_param("Location"),
        SearchParam(
            "name",
            "string",
            SPEC + "Location-name",
            "The start of any word of the clinic's name, ignoring case; :contains, :exact.",
            modifiers=TEXT_MODIFIERS,
        ),
    )

    def read(self, request, resource_id):
        clinic = Clinic.objects.filter(pk=_read_key(resource_id)).first()
        if clinic is None:
            raise Http404
        return location(clinic)

    def search(self, request, query):
        clinics = Clinic.objects.filter(_name_filter(query, "name"))
        keys = query.keys("_id")
        if keys is not None:
            clinics = clinics.filter(pk__in=keys)
        total, rows = paged(clinics.order_by("pk"), query.page)
        return total, [location(clinic) for clinic in rows]


# HealthcareService --------------------------------------------------------------------------------


def healthcare_service(department):
    resource = {
        "id": str(department.pk),
        "active": True,
        "name": department.name,
        "specialty": [department_concept(department)],
        # Departments keep the same hours every day of the week.
        "availableTime": [
            {
                "daysOfWeek": list(DAYS),
                "availableStartTime": _clock(department.opens_at),
                "availableEndTime": _clock(department.closes_at),
            }
        ],
    }
    if department.description:
        resource["comment"] = department.description
    return HealthcareService(**resource)


class HealthcareServices(ResourceType):
    name = "HealthcareService"
    search_params = (
        id_param("HealthcareService"),
        SearchParam(
            "name",
            "string",
            SPEC + "HealthcareService-name",
            "The start of any word of the department's name, ignoring case; :contains, :exact.",
            modifiers=TEXT_MODIFIERS,
        ),
    )

    def read(self, request, resource_id):
        department = Department.objects.filter(pk=_read_key(resource_id)).first()
        if department is None:
            raise Http404
        return healthcare_service(department)

    def search(self, request, query):
        departments = Department.objects.filter(_name_filter(query, "name"))
        keys = query.keys("_id")
        if keys is not None:
            departments = departments.filter(pk__in=keys)
        total, rows = paged(departments.order_by("pk"), query.page)
        return total, [healthcare_service(department) for department in rows]


# PractitionerRole (and the doctor-at-clinic pairs Schedule shares) --------------------------------


def pair_id(doctor_id, clinic_id):
    return f"{doctor_id}-{clinic_id}"


def parse_pair_id(value):
    """(doctor key, clinic key) named by a "<doctor>-<clinic>" id, or None."""
    doctor, dash, clinic = value.partition("-")
    keys = (key_of(doctor), key_of(clinic))
    return keys if dash and None not in keys else None


class DoctorAtClinic:
    """A doctor who has working hours at a clinic, with those hours."""

    def __init__(self, doctor, clinic, hours):
        self.doctor = doctor
        self.clinic = clinic
        self.hours = hours

    @property
    def id(self):
        return pair_id(self.doctor.pk, self.clinic.pk)


def pairs_query(request, query):
    """The (doctor, clinic) pairs with working hours that `query` asks for, as a values query
    ordered for paging; the filters PractitionerRole and Schedule share."""
    pairs = WorkingHours.objects.all()
    if not sees_inactive_doctors(request.user):
        pairs = pairs.filter(doctor__is_active=True)
    ids = query.ids()
    if ids is not None:
        wanted = [keys for keys in map(parse_pair_id, ids) if keys is not None]
        pairs = pairs.filter(
            Q(pk__in=[]) | Q(*[Q(doctor_id=d, clinic_id=c) for d, c in wanted], _connector=Q.OR)
        )
    return pairs.values("doctor_id", "clinic_id").distinct().order_by("doctor_id", "clinic_id")


def doctors_at_clinics(pairs):
    """DoctorAtClinic for each (doctor key, clinic key), in order: three queries in all."""
    doctor_keys = {pair["doctor_id"] for pair in pairs}
    clinic_keys = {pair["clinic_id"] for pair in pairs}
    doctors = Doctor.objects.select_related("department").in_bulk(doctor_keys)
    clinics = Clinic.objects.in_bulk(clinic_keys)
    hours = defaultdict(list)
    rows = WorkingHours.objects.filter(doctor_id__in=doctor_keys, clinic_id__in=clinic_keys)
    for row in rows.order_by("weekday", "starts_at"):
        hours[row.doctor_id, row.clinic_id].append(row)
    return [
        DoctorAtClinic(
            doctors[pair["doctor_id"]],
            clinics[pair["clinic_id"]],
            hours[pair["doctor_id"], pair["clinic_id"]],
        )
        for pair in pairs
    ]


def available_times(hours, department):
    """The working hours as availableTime: the stretches inside the department's operating hours
    (the slot engine offers nothing outside them), each with every day it falls on. A break is
    the gap between two stretches of a day."""
    stretches = defaultdict(list)
    for row in hours:
        start = max(row.starts_at, department.opens_at)
        end = min(row.ends_at, department.closes_at)
        if start < end:
            stretches[start, end].append(DAYS[row.weekday])
    return [
        {
            "daysOfWeek": days,
            "availableStartTime": _clock(start),
            "availableEndTime": _clock(end),
        }
        for (start, end), days in sorted(stretches.items())
    ] or None


def practitioner_role(pair):
    doctor, clinic = pair.doctor, pair.clinic
    return PractitionerRole(
        id=pair.id,
        active=doctor.is_active,
        practitioner={"reference": f"Practitioner/{doctor.pk}", "display": doctor.full_name},
        location=[{"reference": f"Location/{clinic.pk}", "display": clinic.name}],
        healthcareService=[
            {
                "reference": f"HealthcareService/{doctor.department_id}",
                "display": doctor.department.name,
            }
        ],
        specialty=[department_concept(doctor.department)],
        availableTime=available_times(pair.hours, doctor.department),
    )


def read_pair(request, resource_id):
    keys = parse_pair_id(resource_id)
    if keys is None:
        raise Http404
    pairs = WorkingHours.objects.filter(doctor_id=keys[0], clinic_id=keys[1])
    if not sees_inactive_doctors(request.user):
        pairs = pairs.filter(doctor__is_active=True)
    pairs = list(pairs.values("doctor_id", "clinic_id").distinct())
    if not pairs:
        raise Http404
    return doctors_at_clinics(pairs)[0]


class PractitionerRoles(ResourceType):
    name = "PractitionerRole"
    search_params = (
        id_param("PractitionerRole"),
        SearchParam(
            "practitioner",
            "reference",
            SPEC + "PractitionerRole-practitioner",
            "The doctor: Practitioner/<id>.",
        ),
        SearchParam(
            "location",
            "reference",
            SPEC + "PractitionerRole-location",
            "The clinic: Location/<id>.",
        ),
        SearchParam(
            "service",
            "reference",
            SPEC + "PractitionerRole-service",
            "The department: HealthcareService/<id>.",
        ),
        SearchParam(
            "specialty",
            "token",
            SPEC + "PractitionerRole-specialty",
            "The department's code (its id), or system|code.",
        ),
    )

    def read(self, request, resource_id):
        return practitioner_role(read_pair(request, resource_id))

    def search(self, request, query):
        base = base_url(request)
        pairs = pairs_query(request, query)
        doctors = reference_keys(query, "practitioner", "Practitioner", base=base)
        if doctors is not None:
            pairs = pairs.filter(doctor_id__in=doctors)
        clinics = reference_keys(query, "location", "Location", base=base)
        if clinics is not None:
            pairs = pairs.filter(clinic_id__in=clinics)
        departments = reference_keys(query, "service", "HealthcareService", base=base)
        if departments is not None:
            pairs = pairs.filter(doctor__department_id__in=departments)
        codes = token_codes(query, "specialty", department_system())
        if codes is not None:
            pairs = pairs.filter(doctor__department_id__in=[c for c in map(key_of, codes) if c])
        total, rows = paged(pairs, query.page)
        return total, [practitioner_role(pair) for pair in doctors_at_clinics(rows)]
