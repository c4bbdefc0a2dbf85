"""Appointment/$hold and Appointment/$book: keep a proposed time for a few minutes, and book it.

Both take a Parameters resource whose `appt-resource` is an Appointment (as the Argonaut
scheduling guide's operations do), and both are for whom a create is: a patient for themselves,
the front desk, clinic admins and integrations for a patient of the directory; doctors 403.

- $hold sends a proposed Appointment of $find back (its Slot; staff name the Patient). The time
  is held through bookings.services.hold_slot, with a booking's own checks under a booking's
  locks; the answer is the Appointment `pending`, with the hold's token as an identifier
  (system `<base>/slot-hold`) and its expiry as our extension (`<base>/StructureDefinition/
  slot-hold-expires`, valueInstant). Until then nobody else can book or hold the time.
- $book sends back the pending Appointment (booked with its hold) or a proposed one (booked as
  a create books it, fhir/appointment_changes.book_slot). A hold that has expired, been used or
  been let go is 409 `hold_expired`, even where the time is still free: the client learns that
  it no longer held the time, and a $book sent twice cannot book twice. It may then hold the
  time again, or book the proposed Appointment (without the identifier) if it is still free.
  Whether the hold still keeps its time is the booking service's to say, under its locks
  (services.HoldExpired): here the token only becomes the hold it names.
"""

from django.conf import settings
from fhir.resources.R4B.appointment import Appointment as FhirAppointment

from bookings import services
from bookings.models import HoldPurpose, SlotHold
from fhir.appointment_changes import (
    CREATE_ELEMENTS,
    SlotRequest,
    appointment_data,
    book_slot,
    unchangeable,
)
from fhir.appointments import department_and_slot, participant, utc_instant
from fhir.outcomes import FhirError
from fhir.parameters import parameters_body, the_resource
from fhir.search import base_url
from fhir.visit_types import check_offered

APPOINTMENT_PARAMETER = "appt-resource"
# What a proposed Appointment of $find carries, which $hold sends back.
PROPOSAL_ELEMENTS = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "text",
        "status",
        "slot",
        "participant",
        "start",
        "end",
        "minutesDuration",
        "serviceType",
        "specialty",
    }
)
# What $book may carry: what a create takes, and a pending Appointment's hold.
BOOK_ELEMENTS = CREATE_ELEMENTS | {"identifier", "extension"}


def hold_system():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/slot-hold"


def hold_expiry_url():
    return f"{settings.FHIR_IDENTIFIER_SYSTEM_BASE}/StructureDefinition/slot-hold-expires"


def _appointment_parameter(request):
    given = parameters_body(request, {APPOINTMENT_PARAMETER})
    return appointment_data(the_resource(given, APPOINTMENT_PARAMETER), APPOINTMENT_PARAMETER)


def pending(hold, visit_type=None):
    """The Appointment a hold keeps: `pending`, its token and expiry, the Patient first (as in
    every Appointment here, for stored answers to be found by patient, see appointments.py),
    and the visit type it was held for (a hold keeps only its time: $book sends the type
    back)."""
    doctor, clinic = hold.doctor, hold.clinic
    return FhirAppointment(
        status="pending",
        identifier=[{"use": "temp", "system": hold_system(), "value": hold.token}],
        extension=[{"url": hold_expiry_url(), "valueInstant": utc_instant(hold.expires_at)}],
        **department_and_slot(doctor, clinic, hold.start, hold.end, visit_type),
        participant=[
            participant(f"Patient/{hold.patient_id}"),
            participant(f"Practitioner/{doctor.pk}", doctor.full_name, "tentative"),
            participant(f"Location/{clinic.pk}", clinic.name, "tentative"),
        ],
    )


def hold(request):
    """POST Appointment/$hold: (200, the pending Appointment)."""
    data, model = _appointment_parameter(request)
    extra = sorted(set(data) - PROPOSAL_ELEMENTS)
    if extra:
        raise unchangeable(
            f"A hold keeps the time and the patient only: leave out {', '.join(extra)} "
            "(an appointmentType and a reasonCode go with $book)."
        )
    if model.status != "proposed":
        raise unchangeable("Hold a proposed Appointment of $find: status proposed.")
    asked = SlotRequest.of(model, base_url(request))
    patient = asked.patient(request.user)
    # hold_slot checks the time for the type but not the type itself (book_appointment does):
    # the pages hold only a type they offer, and so does $hold.
    check_offered(
        asked.visit_type, asked.doctor, request.user, where="serviceType", status_code=422
    )
    held = services.hold_slot(
        doctor=asked.doctor,
        clinic=asked.clinic,
        start=asked.start,
        by=request.user,
        patient=patient,
        purpose=HoldPurpose.INTEGRATION,
        visit_type=asked.visit_type,
    )
    return 200, pending(held, asked.visit_type)


def _hold_token(data):
    """The token of the hold a pending Appointment carries (None if none); our identifier and
    our expiry extension only."""
    identifiers = data.get("identifier") or []
    extensions = data.get("extension") or []
    if any(identifier.get("system") != hold_system() for identifier in identifiers):
        raise unchangeable(f"The only identifier kept here is a hold's ({hold_system()}).")
    if any(extension.get("url") != hold_expiry_url() for extension in extensions):
        raise unchangeable(f"The only extension taken here is a hold's ({hold_expiry_url()}).")
    if len(identifiers) > 1:
        raise FhirError("An Appointment carries one hold.")
    return identifiers[0].get("value") if identifiers else None


def _hold_named(token):
    """The hold `token` names, live or not: whether it still keeps the time, the booking service
    decides under its locks (a hold may expire or be let go after this read). A token that
    names none (used, let go, cleaned away, or never ours) is refused as the service refuses a
    hold gone."""
    named = None
    # A token no hold can have names none without a query: PostgreSQL refuses a NUL outright.
    if len(token) <= SlotHold._meta.get_field("token").max_length and "\x00" not in token:
        named = SlotHold.objects.filter(token=token).first()
    if named is None:
        raise services.HoldExpired()
    return named


def book(request):
    """POST Appointment/$book: (201, the booked Appointment)."""
    data, model = _appointment_parameter(request)
    if model.status not in ("proposed", "pending"):
        raise unchangeable(
            "Book a proposed Appointment of $find or the pending one of $hold: status "
            "proposed or pending."
        )
    # Validated as FHIR already: identifiers and extensions are objects.
    token = _hold_token(data)
    presented = None
    if token is not None:
        presented = _hold_named(token)
    elif model.status == "pending":
        raise FhirError(f"A pending Appointment carries its hold's identifier ({hold_system()}).")
    # services.HoldExpired is 409 `conflict` `hold_expired`, as every service refusal is mapped
    # (fhir/outcomes.py, api/errors.py's CONFLICT_CODES).
    return book_slot(request, data, model, kept=BOOK_ELEMENTS, hold=presented)
