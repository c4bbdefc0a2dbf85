"""Visit types (doctors.VisitType) in FHIR: their codes, and the `service-type` that asks for one.

A visit type is a code of our own system, `<base>/visit-type`, whose code is the type's id and
whose display is its name. It travels as a second `serviceType` beside the department's (which
stays first, so what a client read before still reads the same): on a Schedule (every type the
doctor offers the caller, for an EHR to discover the codes), on a typed Slot, on a proposal of
$find and on an Appointment of that type.

`service-type` names departments (as before: a bare code, or `<base>/department|<id>`) or one
visit type (`<base>/visit-type|<id>`, the system required, as a bare code stays a department's);
not both in one value. Which types may be asked for is the booking pages' rule
(bookings.visit_type_choice.offered_types): active, offered by the doctor (theirs or their
department's), and for anyone but the front desk, clinic admins and integrations, bookable online.
A booking's own checks of the type stay the booking service's.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from api.permissions import is_staff
from bookings.visit_type_choice import offered_types
from doctors.models import VisitType
from fhir.outcomes import FhirError
from fhir.search import key_of
from fhir.structure import department_concept, departments_asked

NOT_OFFERED = "No visit type with this id that the doctor offers."


def visit_type_system():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/visit-type"


def visit_type_concept(visit_type):
    return {
        "coding": [
            {"system": visit_type_system(), "code": str(visit_type.pk), "display": visit_type.name}
        ],
        "text": visit_type.name,
    }


def service_types(doctor, visit_type=None):
    """serviceType of a time or a visit: the doctor's department, then the visit type if any."""
    concepts = [department_concept(doctor.department)]
    if visit_type is not None:
        concepts.append(visit_type_concept(visit_type))
    return concepts


def online_only(user):
    """Whether `user` is offered only the types bookable online, as the booking pages offer
    them: everyone but the front desk, clinic admins and integrations."""
    return not is_staff(user)


@dataclass(frozen=True)
class ServiceAsked:
    departments: set | None  # department keys asked by service-type and specialty; None: any
    visit_type: VisitType | None  # the visit type asked for; None: the plain slots


def _unknown_type(where="service-type", status_code=400):
    issue = "invalid" if status_code == 400 else "business-rule"
    return FhirError(
        f"{where}: {NOT_OFFERED}",
        status_code=status_code,
        issue=issue,
        code="visit_type_not_offered",
    )


def service_asked(query, user):
    """What `service-type` and `specialty` ask for; 400 for a visit type that is unknown,
    inactive, or (for a patient's login) not bookable online, or for several at once."""
    choices = query.choices("service-type") or []
    prefix = f"{visit_type_system()}|"
    typed = [choice for choice in choices if choice.startswith(prefix)]
    if not typed:
        return ServiceAsked(departments_asked(query), None)
    if len(typed) != len(choices):
        raise FhirError("service-type names departments or one visit type, not both.")
    if len(typed) > 1:
        raise FhirError("service-type names one visit type at a time.")
    key = key_of(typed[0].removeprefix(prefix))
    visit_type = VisitType.objects.active().filter(pk=key).first() if key else None
    if visit_type is None or (online_only(user) and not visit_type.bookable_online):
        raise _unknown_type()
    return ServiceAsked(departments_asked(query, names=("specialty",)), visit_type)


def check_offered(visit_type, doctor, user, *, where="service-type", status_code=400):
    """400 (or `status_code`) unless the doctor offers `visit_type` to `user`, as the booking
    pages would."""
    if visit_type is not None and visit_type not in offered_types(
        doctor, online_only=online_only(user)
    ):
        raise _unknown_type(where, status_code)


def types_offered(doctors, user):
    """{doctor key: [VisitType, ...]} of the active types each doctor offers `user`, in the
    pages' order: one query, however many doctors."""
    doctors = list(doctors)
    types = VisitType.objects.active().filter(
        department_id__in={doctor.department_id for doctor in doctors}
    ) | VisitType.objects.active().filter(doctor_id__in={doctor.pk for doctor in doctors})
    if online_only(user):
        types = types.filter(bookable_online=True)
    types = list(types)
    return {
        doctor.pk: [visit_type for visit_type in types if visit_type.offered_by(doctor)]
        for doctor in doctors
    }


def offering(visit_type):
    """A filter of WorkingHours rows to the doctors who offer `visit_type`: VisitType.offered_by
    as a query, for a Schedule search to stay one query however many doctors."""
    if visit_type.doctor_id is not None:
        return Q(doctor_id=visit_type.doctor_id)
    return Q(doctor__department_id=visit_type.department_id)


def visit_type_of(concepts, where):
    """The VisitType a body's serviceType names with our system (None if none); 400 for an id
    no type has. Whether the doctor offers it, and to whom, is the booking service's rule."""
    codes = {
        coding.code
        for concept in concepts or []
        for coding in concept.coding or []
        if coding.system == visit_type_system()
    }
    if not codes:
        return None
    if len(codes) > 1:
        raise FhirError(f"{where} names one visit type.")
    key = key_of(codes.pop() or "")
    visit_type = VisitType.objects.filter(pk=key).first() if key else None
    if visit_type is None:
        raise FhirError(f"{where}: no visit type has this id.")
    return visit_type
