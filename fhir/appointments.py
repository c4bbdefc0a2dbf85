"""Appointment: read and search, mapped from bookings.Appointment (the writes are in
fhir/appointment_changes.py).

Who reaches which appointment is the JSON API's own rule (api.appointments.appointments_for): the
front desk, clinic admins and integrations every appointment, a doctor their own schedule, a
patient their own bookings; anyone else's answers 404. Everyone who reaches one sees the same
resource, as in the API. The patient is a reference only (Patient/<id>, read by the clinic's
roles): no personal detail travels in an appointment, nor in the answers an Idempotency-Key keeps.
"""

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from fhir.resources.R4B.appointment import Appointment as FhirAppointment

from accounts.audit import record_view
from api.appointments import StaffPatientOrDoctor, appointments_for
from bookings.forms import SANE_YEARS
from bookings.models import AppointmentType, Status
from bookings.selectors import appointments_on_local_days
from fhir.outcomes import FhirError
from fhir.schedules import DATE, DATETIME, PREFIXED, slot_id
from fhir.search import SPEC, SearchParam, base_url, id_param, key_of, paged, reference_keys
from fhir.structure import department_concept
from fhir.views import ResourceType
from fhir.visit_types import service_types

# The portal's statuses as FHIR's (http://hl7.org/fhir/appointmentstatus).
STATUSES = {
    Status.BOOKED: "booked",
    Status.CHECKED_IN: "arrived",
    Status.COMPLETED: "fulfilled",
    Status.CANCELLED: "cancelled",
    Status.NO_SHOW: "noshow",
}
FHIR_STATUSES = frozenset(
    {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    }
)
# HL7 v2 table 0276 (appointment reason codes), where one of its codes means the same type.
V2_0276 = "http://terminology.hl7.org/CodeSystem/v2-0276"
V2_TYPES = {
    AppointmentType.CONSULTATION: "ROUTINE",
    AppointmentType.FOLLOW_UP: "FOLLOWUP",
    AppointmentType.HEALTH_CHECK: "CHECKUP",
}
# R5's Appointment.replaces, as the cross-version extension an R4 resource may carry: the
# appointment that a reschedule cancelled. The other way, ours (R5 has no element for it).
REPLACES = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.replaces"


def appointment_type_system():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/appointment-type"


def replaced_by_url():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/StructureDefinition/appointment-replaced-by"


def appointment_type_concept(value):
    """v2-0276's code where one matches, and always ours (which a create may send back)."""
    kind = AppointmentType(value)
    codings = []
    if kind in V2_TYPES:
        codings.append({"system": V2_0276, "code": V2_TYPES[kind]})
    codings.append(
        {"system": appointment_type_system(), "code": kind.value, "display": str(kind.label)}
    )
    return {"coding": codings, "text": str(kind.label)}


def utc_instant(value):
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def participant(reference, display=None, status="accepted"):
    """A required participant: a reference (with a display where it is no person's name)."""
    actor = {"reference": reference}
    if display:
        actor["display"] = display
    return {"actor": actor, "required": "required", "status": status}


def department_and_slot(doctor, clinic, start, end, visit_type=None):
    """What an appointment of a Slot's time says of it, booked or not: the department as its
    serviceType (and then its visit type, if any) and specialty, the times in UTC, and the
    Slot."""
    return {
        "serviceType": service_types(doctor, visit_type),
        "specialty": [department_concept(doctor.department)],
        "start": utc_instant(start),
        "end": utc_instant(end),
        "minutesDuration": int((end - start).total_seconds() // 60),
        "slot": [{"reference": f"Slot/{slot_id(doctor.pk, clinic.pk, start)}"}],
    }


def appointment(record):
    """The Appointment of a row loaded as `reachable` loads it (doctor, department, clinic, the
    visit type and the appointment that replaced it, in the same query)."""
    doctor, clinic = record.doctor, record.clinic
    resource = {
        "id": str(record.pk),
        "status": STATUSES[Status(record.status)],
        **department_and_slot(doctor, clinic, record.start, record.end, record.visit_type),
        "appointmentType": appointment_type_concept(record.appointment_type),
        "created": utc_instant(record.created_at),
        "participant": [
            participant(f"Patient/{record.patient_id}"),
            participant(f"Practitioner/{doctor.pk}", doctor.full_name),
            participant(f"Location/{clinic.pk}", clinic.name),
        ],
    }
    if record.reason:
        resource["reasonCode"] = [{"text": record.reason}]
    if record.status == Status.CANCELLED and record.cancellation_reason:
        resource["cancelationReason"] = {"text": record.cancellation_reason}
    extensions = []
    if record.rescheduled_from_id is not None:
        reference = {"reference": f"Appointment/{record.rescheduled_from_id}"}
        extensions.append({"url": REPLACES, "valueReference": reference})
    moved_to = getattr(record, "rescheduled_to", None)
    if moved_to is not None:
        reference = {"reference": f"Appointment/{moved_to.pk}"}
        extensions.append({"url": replaced_by_url(), "valueReference": reference})
    if extensions:
        resource["extension"] = extensions
    return FhirAppointment(**resource)


def reachable(user):
    """The appointments `user` reaches, as the API's list and details reach them."""
    return appointments_for(user, staff=True, doctor=True, patient=True).select_related(
        "visit_type"
    )


# Search -------------------------------------------------------------------------------------------

DATE_HELP = (
    "date is a date (YYYY-MM-DD: the day in each appointment's own clinic) or a time with an "
    "offset (2026-12-03T10:00:00+05:30), after eq (the default), ge, gt, le or lt."
)
INSTANT_LOOKUPS = {"eq": "", "ge": "__gte", "gt": "__gt", "le": "__lte", "lt": "__lt"}


def _parse_date(value):
    """(prefix, date or aware datetime) of one `date` value."""
    match = PREFIXED.fullmatch(value)
    if match is None:
        raise FhirError(DATE_HELP)
    prefix, text = match.group(1) or "eq", match.group(2)
    if prefix not in INSTANT_LOOKUPS:
        raise FhirError(f"The prefix {prefix!r} is not supported for date.", issue="not-supported")
    try:
        if DATE.fullmatch(text):
            when = dt.date.fromisoformat(text)
        elif DATETIME.fullmatch(text):
            when = dt.datetime.fromisoformat(text)
        else:
            raise FhirError(DATE_HELP)
    except ValueError:
        raise FhirError(DATE_HELP) from None
    if not SANE_YEARS[0] <= when.year <= SANE_YEARS[1]:
        raise FhirError(f"date is in the years {SANE_YEARS[0]} to {SANE_YEARS[1]}.")
    return prefix, when


def _on_dates(appointments, query):
    """`appointments` narrowed by every `date` given (each narrows further): a day is the
    appointment's own clinic's, as the API's from and to; a time is an instant."""
    first_day = last_day = None
    instants = Q()
    one_day = dt.timedelta(days=1)
    for _, value in query.values.get("date", []):
        prefix, when = _parse_date(value)
        if isinstance(when, dt.datetime):
            instants &= Q(**{f"start{INSTANT_LOOKUPS[prefix]}": when})
            continue
        lower = {"eq": when, "ge": when, "gt": when + one_day}.get(prefix)
        upper = {"eq": when, "le": when, "lt": when - one_day}.get(prefix)
        if lower is not None:
            first_day = lower if first_day is None else max(first_day, lower)
        if upper is not None:
            last_day = upper if last_day is None else min(last_day, upper)
    appointments = appointments.filter(instants)
    return appointments_on_local_days(appointments, first_day=first_day, last_day=last_day)


def _statuses(query):
    """The portal's statuses asked for by `status` (None if absent)."""
    codes = query.choices("status")
    if codes is None:
        return None
    if not set(codes) <= FHIR_STATUSES:
        raise FhirError("status is one of FHIR's appointment statuses: booked, arrived, ...")
    return [ours for ours, theirs in STATUSES.items() if theirs in codes]


class Appointments(ResourceType):
    name = "Appointment"
    permissions = {
        "read": [StaffPatientOrDoctor],
        "search-type": [StaffPatientOrDoctor],
    }
    search_params = (
        id_param("Appointment"),
        SearchParam(
            "patient",
            "reference",
            SPEC + "Appointment-patient",
            "The patient: Patient/<id> (a comma means or).",
        ),
        SearchParam(
            "practitioner",
            "reference",
            SPEC + "Appointment-practitioner",
            "The doctor: Practitioner/<id> (a comma means or).",
        ),
        SearchParam(
            "date",
            "date",
            SPEC + "Appointment-date",
            "When it starts: eq (the default), ge, gt, le or lt and a date (the clinic's own "
            "day) or a time with an offset; give it twice for a range.",
            repeats=True,
        ),
        SearchParam(
            "status",
            "token",
            SPEC + "Appointment-status",
            "booked, arrived (checked in), fulfilled, cancelled or noshow (a comma means or).",
        ),
    )

    def read(self, request, resource_id):
        key = key_of(resource_id)
        record = reachable(request.user).filter(pk=key).first() if key else None
        if record is None:
            raise Http404
        record_view(record)
        return appointment(record)

    def search(self, request, query):
        base = base_url(request)
        appointments = reachable(request.user)
        keys = query.keys("_id")
        if keys is not None:
            appointments = appointments.filter(pk__in=keys)
        patients = reference_keys(query, "patient", "Patient", base=base)
        if patients is not None:
            appointments = appointments.filter(patient_id__in=patients)
        doctors = reference_keys(query, "practitioner", "Practitioner", base=base)
        if doctors is not None:
            appointments = appointments.filter(doctor_id__in=doctors)
        statuses = _statuses(query)
        if statuses is not None:
            appointments = appointments.filter(status__in=statuses)
        appointments = _on_dates(appointments, query)
        total, rows = paged(appointments.order_by("start", "pk"), query.page)
        return total, [appointment(record) for record in rows]


def stored_answers_naming(patient):
    """The stored Idempotency-Key answers of Appointment writes that name the patient: the
    resource's first participant is always its Patient (see the mapping above)."""
    return Q(
        response_body__resourceType="Appointment",
        response_body__participant__0__actor__reference=f"Patient/{patient.pk}",
    )
