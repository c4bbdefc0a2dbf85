"""Appointment writes: create (POST Appointment) books a Slot, update (PUT Appointment/<id>)
cancels, checks in, completes, marks a no-show or moves it to another Slot.

Adapters over the booking services, as the JSON API's appointment views are
(api/appointments.py), reusing their pieces: who reaches an appointment (appointments_for), who
may do each change (the same role permissions, 403 for a role that may never do it, 404 for an
appointment out of the caller's reach), the body's checks (BookingSerializer, CancelSerializer,
the pages' cancel forms) and whom a booking is for. Every rule and the double-booking guard are
the services': a taken slot is 409 (conflict), a rule's refusal 422 (business-rule), each with
the service's own words (fhir/outcomes.py).

An update sends the whole resource, as FHIR's update does; what may differ from the resource as
served is the status (to cancelled, arrived, fulfilled or noshow), cancelationReason with a
cancellation, or the Slot (a move, in one service call: the answer is the new appointment, 201,
which `replaces` the old one). Anything else that differs is 422, naming what may change.
Elements left out are left as they are: the portal derives them and cannot drop them.
"""

import datetime as dt
from dataclasses import dataclass

from django.http import Http404
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from api.appointments import (
    BookingSerializer,
    CancelSerializer,
    DoctorOnly,
    StaffOrDoctor,
    StaffOrPatient,
    StaffPatientOrDoctor,
    appointments_for,
    patient_to_book_for,
    validated,
)
from api.permissions import HasRole, is_staff
from api.slots import slot_id as api_slot_id
from bookings import services
from bookings.forms import CancelForm, DeskCancelForm
from bookings.models import AppointmentType, PaymentMode
from doctors.models import Clinic, Doctor
from fhir.appointments import (
    FHIR_STATUSES,
    V2_0276,
    V2_TYPES,
    Appointments,
    appointment,
    appointment_type_system,
    reachable,
)
from fhir.outcomes import FhirError, as_json
from fhir.schedules import parse_slot_id
from fhir.search import base_url, key_of
from fhir.structure import department_system
from fhir.validation import valid_model
from fhir.visit_types import visit_type_of, visit_type_system

# Elements a create may send: what the portal keeps or derives from the Slot. `id`, `meta` and
# `text` are the server's (FHIR says to ignore a client's id on create).
CREATE_ELEMENTS = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "text",
        "status",
        "slot",
        "participant",
        "appointmentType",
        "reasonCode",
        "start",
        "end",
        "minutesDuration",
        "serviceType",
        "specialty",
    }
)
# What an update compares with the resource as served, and what it leaves to the server.
SERVER_ELEMENTS = frozenset({"id", "meta", "text", "created"})
TIMES = ("start", "end", "minutesDuration")
MAY_CHANGE = (
    "What may change: status (to cancelled, with a cancelationReason; arrived; fulfilled; "
    "noshow) or the Slot (a move to another time of the same doctor at the same clinic), one "
    "at a time."
)

# status -> (who may, whose appointments, the service): as the API's actions allow them.
VISITS = {
    "arrived": (StaffOrDoctor, {"staff": True, "doctor": True}, services.check_in_appointment),
    "fulfilled": (DoctorOnly, {"doctor": True}, services.complete_appointment),
    "noshow": (DoctorOnly, {"doctor": True}, services.mark_no_show),
}
PATIENT_OR_STAFF_REACH = {"staff": True, "patient": True}


def unchangeable(message):
    return FhirError(message, status_code=422, issue="business-rule", code="unchangeable")


# The body ---------------------------------------------------------------------------------------


def appointment_data(data, where="The body"):
    """(raw JSON, R4B Appointment) of `data`; 400 for anything else."""
    if not isinstance(data, dict) or data.get("resourceType") != "Appointment":
        raise FhirError(
            f'{where} is an Appointment resource: a JSON object with "resourceType": "Appointment".'
        )
    model = valid_model(FhirAppointment, data)
    if model.status not in FHIR_STATUSES:
        raise FhirError("status is one of FHIR's appointment statuses (booked, cancelled...).")
    return data, model


def resource_body(request):
    """(raw JSON, R4B Appointment) of the request's body; 400 for anything else."""
    return appointment_data(request.data)


def _local(reference, base):
    """(type, id) of a reference: `Type/id` or this server's absolute URL of it."""
    kind, _, ident = (reference or "").removeprefix(base).rpartition("/")
    return kind, ident


def the_slot(model, base):
    """The ParsedSlot (doctor key, clinic key, start) the body's one Slot reference names."""
    refs = model.slot or []
    kinds = [_local(ref.reference, base) for ref in refs]
    if len(kinds) != 1 or kinds[0][0] != "Slot":
        raise FhirError('slot is one reference to a free Slot: [{"reference": "Slot/<id>"}].')
    try:
        return parse_slot_id(kinds[0][1])
    except ValueError:
        raise FhirError("That is not a Slot id: take one from a Slot search.") from None


def participants(model, base):
    """{type: key} of the actors named: at most one Patient, Practitioner and Location."""
    actors = {}
    for participant in model.participant or []:
        actor = participant.actor
        kind, ident = _local(actor.reference if actor else None, base)
        if kind not in ("Patient", "Practitioner", "Location"):
            raise unchangeable(
                "The participants are the Patient, the Practitioner and the Location, each as "
                "a reference (Patient/<id>)."
            )
        if kind in actors:
            raise unchangeable(f"An appointment has one {kind}.")
        key = key_of(ident)
        if key is None:
            raise FhirError(f"No such {kind}: {kind}/<id> names one of this server's.")
        actors[kind] = key
    return actors


def appointment_type(model):
    """The portal's type for the body's appointmentType (consultation if none)."""
    concept = model.appointmentType
    if concept is None:
        return AppointmentType.CONSULTATION
    ours_by_v2 = {code: ours for ours, code in V2_TYPES.items()}
    for coding in concept.coding or []:
        if coding.system == appointment_type_system() and coding.code in AppointmentType.values:
            return AppointmentType(coding.code)
        if coding.system == V2_0276 and coding.code in ours_by_v2:
            return ours_by_v2[coding.code]
    raise FhirError(
        f"appointmentType is {V2_0276}'s ROUTINE, FOLLOWUP or CHECKUP, or one of "
        f"{appointment_type_system()}: {', '.join(AppointmentType.values)}."
    )


def _texts(concepts):
    return "; ".join(concept.text for concept in concepts or [] if concept.text)


# Create -------------------------------------------------------------------------------------------


def _check_agrees_with_slot(model, *, start, doctor, clinic, actors, visit_type):
    """Elements the Slot (and the visit type) decide, where the body gives them, must be what
    they decide."""
    minutes = doctor.slot_minutes if visit_type is None else visit_type.minutes
    if model.start is not None and model.start != start:
        raise unchangeable("start is the Slot's start: leave it out or send the Slot's.")
    if model.end is not None and model.end != start + dt.timedelta(minutes=minutes):
        raise unchangeable("end is the Slot's end: leave it out or send the Slot's.")
    if model.minutesDuration is not None and model.minutesDuration != minutes:
        raise unchangeable(f"minutesDuration is the Slot's length, {minutes} minutes.")
    if actors.get("Practitioner", doctor.pk) != doctor.pk:
        raise unchangeable("The Practitioner is the Slot's doctor.")
    if actors.get("Location", clinic.pk) != clinic.pk:
        raise unchangeable("The Location is the Slot's clinic.")
    department = (department_system(), str(doctor.department_id))
    for name, concepts in (("serviceType", model.serviceType), ("specialty", model.specialty)):
        for concept in concepts or []:
            codings = {(coding.system, coding.code) for coding in concept.coding or []}
            # A serviceType may be the visit type (visit_type_of read it) instead.
            if department not in codings and not (
                name == "serviceType" and visit_type_system() in dict(codings)
            ):
                raise unchangeable(
                    f"{name} is the doctor's department, {department[0]}|{department[1]}"
                    + (
                        f", or a visit type, {visit_type_system()}|<id>."
                        if name == "serviceType"
                        else "."
                    )
                )


def refuse_elements_not_kept(data, kept):
    extra = sorted(set(data) - kept)
    if extra:
        raise unchangeable(f"This server does not keep {', '.join(extra)}: leave them out.")


@dataclass(frozen=True)
class SlotRequest:
    """The time an Appointment body asks for: its Slot's doctor, clinic and start, and the
    participants it names (checked against the Slot)."""

    doctor: object
    clinic: object
    start: dt.datetime
    actors: dict
    visit_type: object  # the VisitType its serviceType names, or None: the plain slot

    @classmethod
    def of(cls, model, base):
        slot = the_slot(model, base)
        actors = participants(model, base)
        visit_type = visit_type_of(model.serviceType, "serviceType")
        doctor = Doctor.objects.select_related("department").filter(pk=slot.doctor_id).first()
        clinic = Clinic.objects.filter(pk=slot.clinic_id).first()
        if doctor is None or clinic is None:
            raise FhirError("No such Slot: take one from a Slot search.")
        _check_agrees_with_slot(
            model,
            start=slot.start,
            doctor=doctor,
            clinic=clinic,
            actors=actors,
            visit_type=visit_type,
        )
        return cls(doctor, clinic, slot.start, actors, visit_type)

    def patient(self, user):
        """Whom it is for: the Patient participant for staff (required), the caller for a
        patient (who may name only themselves), as the API's bookings decide."""
        return patient_to_book_for(user, self.actors.get("Patient"))


def book_slot(request, data, model, *, kept=CREATE_ELEMENTS, hold=None):
    """Books the Slot an Appointment body names through bookings.services.book_appointment, as
    the API's POST /appointments/ does, with `hold` (a SlotHold) where one keeps the time.
    Elements outside `kept` are refused. (201, the new Appointment)."""
    refuse_elements_not_kept(data, kept)
    asked = SlotRequest.of(model, base_url(request))
    fields = {
        "slot": api_slot_id(asked.doctor, asked.clinic, asked.start),
        "appointment_type": appointment_type(model),
        "payment_mode": PaymentMode.AT_CLINIC,
        "reason": _texts(model.reasonCode),
    }
    if "Patient" in asked.actors:
        fields["patient"] = asked.actors["Patient"]
    if asked.visit_type is not None:
        fields["visit_type"] = asked.visit_type.pk
    booking = validated(BookingSerializer, fields)
    patient = patient_to_book_for(request.user, booking.get("patient"))
    booked = services.book_appointment(
        patient=patient,
        doctor=asked.doctor,
        clinic=asked.clinic,
        start=asked.start,
        appointment_type=booking["appointment_type"],
        payment_mode=booking["payment_mode"],
        reason=booking["reason"],
        by=request.user,
        hold=hold,
        visit_type=asked.visit_type,
    )
    return 201, appointment(reachable(request.user).get(pk=booked.pk))


def create(request):
    """POST Appointment: books the Slot (book_slot). (201, the new Appointment)."""
    data, model = resource_body(request)
    refuse_elements_not_kept(data, CREATE_ELEMENTS)
    if model.status != "booked":
        raise unchangeable("A new appointment is booked: send status booked.")
    return book_slot(request, data, model)


# Update -------------------------------------------------------------------------------------------


def _without_displays(value):
    if isinstance(value, dict):
        return {k: _without_displays(v) for k, v in value.items() if k != "display"}
    if isinstance(value, list):
        return [_without_displays(item) for item in value]
    return value


def _comparable(resource):
    """What an update must leave as it is, in one form: no displays (texts of ours), and the
    participants as the set of their actors (the order, role and status are ours)."""
    kept = {
        key: _without_displays(value)
        for key, value in resource.items()
        if key not in SERVER_ELEMENTS | {"status", "slot", "cancelationReason", *TIMES}
    }
    if "participant" in kept:
        kept["participant"] = sorted(
            (participant.get("actor") or {}).get("reference") or ""
            for participant in kept["participant"]
        )
    return kept


def _slot_ids(resource, base):
    return [_local(ref.get("reference"), base) for ref in resource.get("slot") or []]


def _times_differ(model, record):
    """Whether the body's start, end or minutesDuration (where given) differ from the record's:
    as instants, whatever offset they are written in."""
    minutes = int((record.end - record.start).total_seconds() // 60)
    return (
        (model.start is not None and model.start != record.start)
        or (model.end is not None and model.end != record.end)
        or (model.minutesDuration is not None and model.minutesDuration != minutes)
    )


def _requested_change(served, sent, *, model, record, base):
    """("status", code), ("slot", None) or None: the one change the body asks for."""
    for key, value in _comparable(sent).items():
        if _comparable(served).get(key) != value:
            raise unchangeable(f"{key} cannot change here. {MAY_CHANGE}")
    status_changes = sent["status"] != served["status"]
    slot_changes = "slot" in sent and _slot_ids(sent, base) != _slot_ids(served, base)
    if status_changes and slot_changes:
        raise unchangeable(f"Change the status or the Slot, not both. {MAY_CHANGE}")
    if not slot_changes and _times_differ(model, record):
        raise unchangeable(f"Move an appointment by changing its Slot. {MAY_CHANGE}")
    reason = sent.get("cancelationReason")
    if reason is not None and reason != served.get("cancelationReason"):
        if not (status_changes and sent["status"] == "cancelled"):
            raise unchangeable(f"cancelationReason comes with a cancellation. {MAY_CHANGE}")
    if status_changes:
        if sent["status"] not in ("cancelled", *VISITS):
            raise unchangeable(f"The status cannot become {sent['status']}. {MAY_CHANGE}")
        return "status", sent["status"]
    if slot_changes:
        return "slot", None
    return None


def _allowed(request, permission, reach, record):
    """The appointment in the reach of this change: 403 for a role that may never make it,
    404 for one out of the caller's reach (as the API's actions answer)."""
    if not permission().has_permission(request, None):
        raise PermissionDenied(HasRole.message)
    found = appointments_for(request.user, **reach).filter(pk=record.pk).first()
    if found is None:
        raise Http404
    return found


def _cancel(request, record, model):
    record = _allowed(request, StaffOrPatient, PATIENT_OR_STAFF_REACH, record)
    concept = model.cancelationReason
    text = ""
    if concept is not None:
        text = concept.text or "; ".join(
            coding.display or coding.code or "" for coding in concept.coding or []
        )
    reason = validated(CancelSerializer, {"reason": text})["reason"]
    # The pages' forms: the desk must say why, a patient may.
    form = (DeskCancelForm if is_staff(request.user) else CancelForm)({"reason": reason})
    if not form.is_valid():
        raise serializers.ValidationError({"cancelationReason": form.errors.get("reason", [])})
    services.cancel_appointment(
        appointment=record, by=request.user, reason=form.cleaned_data["reason"]
    )
    return 200, record.pk


def _move(request, record, model):
    record = _allowed(request, StaffOrPatient, PATIENT_OR_STAFF_REACH, record)
    slot = the_slot(model, base_url(request))
    if (slot.doctor_id, slot.clinic_id) != (record.doctor_id, record.clinic_id):
        raise unchangeable(
            "Move an appointment to a Slot of the same doctor at the same clinic "
            f"(Slot?schedule=Schedule/{record.doctor_id}-{record.clinic_id}). {MAY_CHANGE}"
        )
    moved = services.reschedule_appointment(appointment=record, start=slot.start, by=request.user)
    return 201, moved.pk


def update(request, resource_id):
    """PUT Appointment/<id>: the one change the body asks for, through its service. (200 and
    the appointment; 201 and the new one for a move.)"""
    key = key_of(resource_id)
    record = reachable(request.user).filter(pk=key).first() if key else None
    if record is None:
        raise Http404
    _, model = resource_body(request)
    if model.id != resource_id:
        raise FhirError("The body's id must be the id in the URL.")
    served = as_json(appointment(record))
    change = _requested_change(
        served, as_json(model), model=model, record=record, base=base_url(request)
    )
    status, pk = 200, record.pk
    if change == ("status", "cancelled"):
        status, pk = _cancel(request, record, model)
    elif change is not None and change[0] == "status":
        permission, reach, service = VISITS[change[1]]
        record = _allowed(request, permission, reach, record)
        service(appointment=record, by=request.user, now=timezone.now())
    elif change is not None:
        status, pk = _move(request, record, model)
    return status, appointment(reachable(request.user).get(pk=pk))


class WritableAppointments(Appointments):
    """Appointment with create and update, for whom the API lets book and change."""

    permissions = {
        **Appointments.permissions,
        "create": [StaffOrPatient],
        "update": [StaffPatientOrDoctor],
    }

    def create(self, request):
        return create(request)

    def update(self, request, resource_id):
        return update(request, resource_id)
