"""An EHR's walks over real HTTP (a live server and `requests`), with a front desk's token: find
the practitioner, their schedule and free slots, the patient, book, read, cancel, book again,
mark arrived; and the scheduling operations: $find, $hold, $book, read, arrived. Each answer is
parsed with fhir.resources' R4B model of the type it must be."""

import pytest
import requests
from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters

from api.tests.factories import token_for
from bookings.models import SlotHold, Status
from fhir.tests.world import TODAY

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FHIR_JSON = "application/fhir+json"
TIMEOUT_SECONDS = 10


class Ehr:
    """A FHIR client as an EHR is: a base URL, a token, JSON in and out."""

    def __init__(self, base, token):
        self.base = base
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Token {token}", "Accept": FHIR_JSON})

    def call(self, method, path, model, status=200, **kwargs):
        url = path if path.startswith("http") else self.base + path
        response = self.http.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"].startswith(FHIR_JSON)
        return model.model_validate_json(response.content), response

    def get(self, path, model, **params):
        return self.call("GET", path, model, params=params)[0]

    def write(self, method, path, resource, status, model=Appointment):
        body = resource if isinstance(resource, str) else resource.model_dump_json()
        headers = {"Content-Type": FHIR_JSON}
        return self.call(method, path, model, status, data=body, headers=headers)


def found(bundle, resource_type):
    resources = [entry.resource for entry in bundle.entry or []]
    assert all(r.get_resource_type() == resource_type for r in resources)
    return resources


def test_an_ehr_books_reads_cancels_and_checks_in_over_http(live_server, world):
    ehr = Ehr(f"{live_server.url}/fhir/R4/", token_for(world.users["desk"]))

    capability = ehr.get("metadata", CapabilityStatement)
    served = {r.type: {i.code for i in r.interaction} for r in capability.rest[0].resource}
    assert {"create", "update", "read"} <= served["Appointment"]

    # The practitioner, by name; their schedule at the clinic; today's free slots there.
    (doctor,) = found(ehr.get("Practitioner", Bundle, name="meera"), "Practitioner")
    schedules = found(ehr.get("Schedule", Bundle, actor=f"Practitioner/{doctor.id}"), "Schedule")
    (schedule,) = [
        s for s in schedules if f"Location/{world.clinic.pk}" in [a.reference for a in s.actor]
    ]
    free = ehr.get(
        "Slot", Bundle, schedule=f"Schedule/{schedule.id}", status="free", start=TODAY.isoformat()
    )
    first, second = found(free, "Slot")[:2]

    # The patient, by phone: POSTed, so the number stays out of the URL.
    patients, _ = ehr.call("POST", "Patient/_search", Bundle, data={"telecom": world.walk_in.phone})
    (patient,) = found(patients, "Patient")

    # Book the first slot, read it back from where the answer says it is, cancel it.
    proposal = Appointment(
        status="booked",
        slot=[{"reference": f"Slot/{first.id}"}],
        participant=[{"actor": {"reference": f"Patient/{patient.id}"}, "status": "accepted"}],
        reasonCode=[{"text": "Fever"}],
    )
    booked, response = ehr.write("POST", "Appointment", proposal, 201)
    assert booked.status == "booked" and booked.start == first.start
    read = ehr.get(response.headers["Location"], Appointment)
    assert read.model_dump() == booked.model_dump()
    read.status = "cancelled"
    read.cancelationReason = {"text": "Patient called to cancel"}
    cancelled, _ = ehr.write("PUT", f"Appointment/{read.id}", read, 200)
    assert cancelled.status == "cancelled"
    again = ehr.get("Slot", Bundle, schedule=f"Schedule/{schedule.id}", status="free", _id=first.id)
    assert [s.id for s in found(again, "Slot")] == [first.id]  # free again

    # Book the second and mark the patient arrived; an arrived visit is no longer cancelled.
    proposal.slot = [{"reference": f"Slot/{second.id}"}]
    visit, _ = ehr.write("POST", "Appointment", proposal, 201)
    visit.status = "arrived"
    arrived, _ = ehr.write("PUT", f"Appointment/{visit.id}", visit, 200)
    assert arrived.status == "arrived"
    arrived.status = "cancelled"
    arrived.cancelationReason = {"text": "Left before the consultation"}
    refused, _ = ehr.write("PUT", f"Appointment/{visit.id}", arrived, 409, OperationOutcome)
    assert refused.issue[0].code == "conflict"

    listed = ehr.get("Appointment", Bundle, patient=f"Patient/{patient.id}", date=TODAY.isoformat())
    assert [(a.id, a.status) for a in found(listed, "Appointment")] == [
        (cancelled.id, "cancelled"),
        (arrived.id, "arrived"),
    ]
    statuses = world.walk_in.appointments.order_by("start").values_list("status", flat=True)
    assert list(statuses) == [Status.CANCELLED, Status.CHECKED_IN]


def test_bad_input_over_http_is_an_outcome_not_a_fault(live_server, world):
    ehr = Ehr(f"{live_server.url}/fhir/R4/", token_for(world.users["desk"]))
    for body in ('{"resourceType": "Appointment"', "[]", '{"resourceType": "Basic"}'):
        outcome, _ = ehr.write("POST", "Appointment", body, 400, OperationOutcome)
        assert outcome.issue[0].severity == "error"
    outcome, _ = ehr.call(
        "POST",
        "Appointment",
        OperationOutcome,
        415,
        data="<x/>",
        headers={"Content-Type": "application/xml"},
    )
    assert outcome.issue[0].code == "not-supported"


def operation_body(appointment):
    return Parameters(parameter=[{"name": "appt-resource", "resource": appointment}])


def test_an_ehr_finds_holds_books_and_checks_in_over_http(live_server, world):
    ehr = Ehr(f"{live_server.url}/fhir/R4/", token_for(world.users["desk"]))

    capability = ehr.get("metadata", CapabilityStatement)
    (appointments,) = [r for r in capability.rest[0].resource if r.type == "Appointment"]
    assert [op.name for op in appointments.operation] == ["find", "hold", "book"]

    # Free times of the department today, as proposed Appointments.
    proposals = ehr.get(
        "Appointment/$find",
        Bundle,
        start=TODAY.isoformat(),
        end=TODAY.isoformat(),
        specialty=str(world.department.pk),
        _count=5,
    )
    proposal = found(proposals, "Appointment")[0]
    assert proposal.status == "proposed" and proposals.total > 5

    # Hold it for the walk-in patient: pending, with the hold and until when.
    patient = AppointmentParticipant(
        actor={"reference": f"Patient/{world.walk_in.pk}"}, status="accepted"
    )
    proposal.participant = [patient, *proposal.participant]
    pending, _ = ehr.write("POST", "Appointment/$hold", operation_body(proposal), 200)
    assert pending.status == "pending"
    (hold,) = SlotHold.objects.all()
    assert pending.identifier[0].value == hold.token
    assert pending.extension[0].valueInstant == hold.expires_at
    # While it is held, the time is proposed to nobody.
    again = ehr.get("Appointment/$find", Bundle, start=TODAY.isoformat(), end=TODAY.isoformat())
    assert proposal.slot[0].reference not in [
        a.slot[0].reference for a in found(again, "Appointment")
    ]

    # Book it with the hold, read it where the answer says, mark the patient arrived.
    pending.reasonCode = [{"text": "Fever"}]
    booked, response = ehr.write("POST", "Appointment/$book", operation_body(pending), 201)
    assert booked.status == "booked" and booked.start == proposal.start
    read = ehr.get(response.headers["Location"], Appointment)
    assert read.model_dump() == booked.model_dump()
    assert not SlotHold.objects.exists()
    read.status = "arrived"
    arrived, _ = ehr.write("PUT", f"Appointment/{read.id}", read, 200)
    assert arrived.status == "arrived"
    assert world.walk_in.appointments.get().status == Status.CHECKED_IN

    # The hold is used up: sending the pending Appointment again books nothing.
    refused, _ = ehr.write(
        "POST", "Appointment/$book", operation_body(pending), 409, OperationOutcome
    )
    assert refused.issue[0].details.coding[0].code == "hold_expired"
