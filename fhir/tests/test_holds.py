"""Appointment/$hold and $book: a proposed time held through bookings.services.hold_slot (pending,
with the hold's token and expiry), booked with its hold or directly through book_appointment;
roles as for a create; holds busy for everyone else; expiry; Idempotency-Key; every refusal an
OperationOutcome with the service's words."""

import datetime as dt
import json

import pytest
import time_machine

from api.models import IdempotencyRecord
from bookings.models import Appointment, HoldPurpose, SlotHold, Status
from bookings.tests.factories import SlotHoldFactory
from fhir.schedules import slot_id
from fhir.tests.world import (
    BASE,
    NOW,
    STAFF,
    VISIT_DAY,
    assert_outcome,
    entries,
    local,
    parsed,
)

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
HOLDS = "https://clinic.example/fhir/slot-hold"
EXPIRES = "https://clinic.example/fhir/StructureDefinition/slot-hold-expires"


def proposal(world, hour=11, minute=0, doctor=None, patient=None):
    """The proposed Appointment $find answers for that time (with the Patient added, as staff
    must)."""
    doctor = doctor or world.doctor
    start = local(VISIT_DAY, hour, minute)
    found = world.client("desk").get(
        BASE + "Appointment/$find",
        {
            "start": start.isoformat(),
            "end": (start + dt.timedelta(minutes=15)).isoformat(),
            "practitioner": f"Practitioner/{doctor.pk}",
            "location": f"Location/{world.clinic.pk}",
        },
    )
    (resource,) = json.loads(found.content)["entry"]
    resource = resource["resource"]
    if patient is not None:
        resource["participant"].insert(
            0, {"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"}
        )
    return resource


def parameters(resource):
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": "appt-resource", "resource": resource}],
    }


def operation(world, role, name, resource, **headers):
    return world.client(role).post(
        f"{BASE}Appointment/${name}",
        json.dumps(parameters(resource)),
        content_type=FHIR_JSON,
        headers=headers,
    )


def held(world, role="desk", patient=None, **kwargs):
    """The pending Appointment of a $hold of that time (for the walk-in, by staff)."""
    if patient is None and role in STAFF:
        patient = world.walk_in
    response = operation(world, role, "hold", proposal(world, patient=patient, **kwargs))
    parsed(response)
    return json.loads(response.content)


def token_of(resource):
    (identifier,) = resource["identifier"]
    assert identifier["system"] == HOLDS
    return identifier["value"]


# $hold -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_staff_hold_a_time_for_a_directory_patient(world, role):
    response = operation(world, role, "hold", proposal(world, patient=world.walk_in))
    pending = parsed(response)
    assert pending.status == "pending"
    assert pending.id is None
    assert pending.start == local(VISIT_DAY, 11)
    slot = f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, local(VISIT_DAY, 11))}"
    assert pending.slot[0].reference == slot
    assert [(p.actor.reference, p.status) for p in pending.participant] == [
        (f"Patient/{world.walk_in.pk}", "accepted"),
        (f"Practitioner/{world.doctor.pk}", "tentative"),
        (f"Location/{world.clinic.pk}", "tentative"),
    ]
    hold = SlotHold.objects.get()
    assert (hold.doctor, hold.clinic, hold.start) == (
        world.doctor,
        world.clinic,
        local(VISIT_DAY, 11),
    )
    assert (hold.patient, hold.held_by) == (world.walk_in, world.users[role])
    assert hold.purpose == HoldPurpose.INTEGRATION
    (identifier,) = pending.identifier
    assert (identifier.system, identifier.value, identifier.use) == (HOLDS, hold.token, "temp")
    (extension,) = pending.extension
    assert extension.url == EXPIRES
    assert extension.valueInstant == hold.expires_at == NOW + dt.timedelta(minutes=10)


def test_the_hold_lasts_slot_hold_minutes(world, settings):
    settings.SLOT_HOLD_MINUTES = 3
    pending = held(world)
    assert pending["extension"][0]["valueInstant"] == "2026-12-01T04:03:00Z"


def test_a_patient_holds_a_time_for_themselves(world):
    pending = parsed(operation(world, "patient", "hold", proposal(world)))
    assert pending.participant[0].actor.reference == f"Patient/{world.patient.pk}"
    assert SlotHold.objects.get().patient == world.patient
    mine = proposal(world, hour=12, patient=world.patient)
    assert parsed(operation(world, "patient", "hold", mine)).status == "pending"


def test_a_patient_cannot_hold_for_another(world):
    other = proposal(world, patient=world.other_patient)
    assert_outcome(operation(world, "patient", "hold", other), 400, "invalid")
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize("role", STAFF)
def test_staff_must_name_a_patient_of_the_directory(world, role):
    assert_outcome(operation(world, role, "hold", proposal(world)), 400, "invalid")
    unknown = proposal(world)
    unknown["participant"].append({"actor": {"reference": "Patient/999999"}, "status": "accepted"})
    assert_outcome(operation(world, role, "hold", unknown), 400, "invalid")
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize("role", ["doctor", "other_doctor"])
def test_doctors_may_not_hold_or_book(world, role):
    resource = proposal(world, patient=world.walk_in)
    for name in ("hold", "book"):
        assert_outcome(operation(world, role, name, resource), 403, "forbidden")
    assert not SlotHold.objects.exists() and Appointment.objects.count() == 1


def test_anonymous_callers_may_not_hold_or_book(world):
    for name in ("hold", "book"):
        assert_outcome(operation(world, "anon", name, proposal(world)), 401, "login")


def test_asking_again_for_the_same_time_returns_the_same_hold(world):
    resource = proposal(world, patient=world.walk_in)
    first, again = (json.loads(operation(world, "desk", "hold", resource).content) for _ in "12")
    assert token_of(first) == token_of(again)
    assert first["extension"] == again["extension"]
    assert SlotHold.objects.count() == 1


def test_a_time_held_for_someone_else_is_taken(world):
    mine = proposal(world)  # as the patient's $find proposed it, before the desk held it
    held(world, patient=world.walk_in)
    problem = assert_outcome(
        operation(world, "patient", "hold", mine), 409, "conflict", "slot_taken"
    )
    assert "someone else is booking that time" in problem.diagnostics
    assert SlotHold.objects.count() == 1


def test_a_booked_time_cannot_be_held(world):
    # The world's appointment is the doctor's at 10:00 on the visit day.
    resource = proposal(world, hour=11, patient=world.walk_in)
    resource["slot"] = [
        {"reference": f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, local(VISIT_DAY, 10))}"}
    ]
    for name in ("start", "end", "minutesDuration"):
        resource.pop(name)
    assert_outcome(operation(world, "desk", "hold", resource), 409, "conflict", "slot_taken")


def test_a_time_a_booking_could_not_take_is_refused_with_the_services_words(world):
    resource = proposal(world, patient=world.walk_in)
    for name in ("start", "end", "minutesDuration"):
        resource.pop(name)
    too_soon = local(dt.date(2026, 12, 1), 10)  # today, within the hour's notice
    resource["slot"] = [
        {"reference": f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, too_soon)}"}
    ]
    problem = assert_outcome(
        operation(world, "desk", "hold", resource), 422, "business-rule", "short_notice"
    )
    assert "at least 60 minutes ahead" in problem.diagnostics
    off_grid = local(VISIT_DAY, 11, 7)
    resource["slot"] = [
        {"reference": f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, off_grid)}"}
    ]
    assert_outcome(operation(world, "desk", "hold", resource), 422, "business-rule", "not_a_slot")
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"status": "booked"}, 422, "unchangeable"),
        ({"status": "nonsense"}, 400, "invalid"),
        ({"comment": "Please"}, 422, "unchangeable"),
        ({"reasonCode": [{"text": "Fever"}]}, 422, "unchangeable"),
        ({"start": "2026-12-03T06:00:00Z"}, 422, "unchangeable"),
        ({"slot": []}, 400, "invalid"),
        ({"slot": [{"reference": "Slot/nonsense"}]}, 400, "invalid"),
        ({"slot": [{"reference": "Slot/999999-1-20261203T0530Z"}]}, 400, "invalid"),
        (
            {"participant": [{"actor": {"reference": "Device/1"}, "status": "accepted"}]},
            422,
            "unchangeable",
        ),
        ({"resourceType": "Patient"}, 400, "invalid"),
        ({"contained": [{"resourceType": "Nope"}]}, 400, "invalid"),
    ],
)
def test_a_hold_of_anything_but_a_proposal_is_refused(world, change, status, code):
    resource = {**proposal(world, patient=world.walk_in), **change}
    response = operation(world, "desk", "hold", resource)
    problem = assert_outcome(response, status)
    assert problem.details.coding[0].code == code, problem
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Parameters"},
        {"resourceType": "Parameters", "parameter": [{"name": "appt-resource"}]},
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "appt-resource", "valueString": "Appointment/1"}],
        },
        {"resourceType": "Parameters", "parameter": [{"name": "other", "valueString": "x"}]},
        {"resourceType": "Parameters", "parameter": "appt-resource"},
        {"resourceType": "Appointment", "status": "proposed"},
        [],
        "appt-resource",
    ],
)
def test_a_body_that_is_no_parameters_with_an_appointment_is_400(world, body):
    for name in ("hold", "book"):
        response = world.client("desk").post(
            f"{BASE}Appointment/${name}", json.dumps(body), content_type=FHIR_JSON
        )
        assert_outcome(response, 400)
    assert not SlotHold.objects.exists() and Appointment.objects.count() == 1


def test_two_appointments_in_one_parameters_are_refused(world):
    resource = proposal(world, patient=world.walk_in)
    body = parameters(resource)
    body["parameter"].append(body["parameter"][0])
    response = world.client("desk").post(
        BASE + "Appointment/$hold", json.dumps(body), content_type=FHIR_JSON
    )
    assert_outcome(response, 400, "required")


# A hold is busy for everyone else ----------------------------------------------------------------


def test_a_held_time_is_not_proposed_nor_free_and_a_plain_booking_of_it_is_refused(world):
    pending = held(world)
    finds = world.client("patient").get(
        BASE + "Appointment/$find",
        {
            "start": "2026-12-03",
            "end": "2026-12-03",
            "practitioner": f"Practitioner/{world.doctor.pk}",
        },
    )
    assert local(VISIT_DAY, 11) not in [p.start for p in entries(parsed(finds))]
    create = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": pending["slot"],
        "participant": [],
    }
    response = world.client("patient").post(
        BASE + "Appointment", json.dumps(create), content_type=FHIR_JSON
    )
    assert_outcome(response, 409, "conflict", "slot_taken")
    booked = operation(world, "patient", "book", {**proposal(world, hour=12), "status": "proposed"})
    assert parsed(booked, 201)
    direct = {**pending, "status": "proposed"}
    direct.pop("identifier")
    direct.pop("extension")
    direct["participant"] = direct["participant"][1:]
    assert_outcome(operation(world, "patient", "book", direct), 409, "conflict", "slot_taken")


# $book -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_staff_book_a_held_time_with_its_hold(world, role):
    pending = held(world, role)
    response = operation(world, role, "book", pending)
    booked = parsed(response, 201)
    record = Appointment.objects.get(pk=booked.id)
    assert response["Location"] == f"http://testserver{BASE}Appointment/{record.pk}"
    assert (record.patient, record.start, record.status) == (
        world.walk_in,
        local(VISIT_DAY, 11),
        Status.BOOKED,
    )
    assert record.created_by == world.users[role]
    assert booked.status == "booked"
    assert booked.slot[0].reference == pending["slot"][0]["reference"]
    assert not SlotHold.objects.exists()  # the booking used it up
    read = parsed(world.client(role).get(response["Location"]))
    assert read.model_dump() == booked.model_dump()


def test_a_patient_books_their_held_time_with_a_type_and_a_reason(world):
    pending = held(world, "patient")
    pending["appointmentType"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "FOLLOWUP"}]
    }
    pending["reasonCode"] = [{"text": "Follow-up of the cough"}]
    booked = parsed(operation(world, "patient", "book", pending), 201)
    record = Appointment.objects.get(pk=booked.id)
    assert (record.patient, record.reason) == (world.patient, "Follow-up of the cough")
    assert record.appointment_type == "follow_up"


def test_a_proposed_time_is_booked_directly(world):
    resource = proposal(world, hour=12, patient=world.walk_in)
    response = operation(world, "integration", "book", resource)
    booked = parsed(response, 201)
    assert Appointment.objects.get(pk=booked.id).start == local(VISIT_DAY, 12)
    assert_outcome(operation(world, "integration", "book", resource), 409, "conflict", "slot_taken")


def test_a_hold_that_expired_is_409_and_books_nothing_even_when_the_time_is_free(world):
    pending = held(world)
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        problem = assert_outcome(
            operation(world, "desk", "book", pending), 409, "conflict", "hold_expired"
        )
        assert "Hold the time again" in problem.diagnostics
        assert Appointment.objects.count() == 1
        # The time is still free: held again, or booked as proposed, it is the client's.
        proposed = {**pending, "status": "proposed"}
        proposed.pop("identifier")
        proposed.pop("extension")
        assert parsed(operation(world, "desk", "book", proposed), 201).status == "booked"


def test_a_hold_is_live_until_its_last_instant(world):
    pending = held(world)
    with time_machine.travel(NOW + dt.timedelta(minutes=9, seconds=59), tick=False):
        assert parsed(operation(world, "desk", "book", pending), 201).status == "booked"


def test_a_hold_used_or_let_go_is_409(world):
    pending = held(world)
    parsed(operation(world, "desk", "book", pending), 201)
    assert_outcome(operation(world, "desk", "book", pending), 409, "conflict", "hold_expired")
    again = held(world, hour=12)
    SlotHold.objects.filter(token=token_of(again)).delete()
    assert_outcome(operation(world, "desk", "book", again), 409, "conflict", "hold_expired")
    unknown = {**again}
    unknown["identifier"] = [{"system": HOLDS, "value": "x" * 200}]
    assert_outcome(operation(world, "desk", "book", unknown), 409, "conflict", "hold_expired")


@pytest.mark.parametrize("token", ["\x00", "a\x00b", "é" * 300])
def test_a_token_no_hold_can_have_is_409_not_a_server_error(world, token):
    # A NUL was a 500 on PostgreSQL, which cannot compare a string holding one.
    pending = held(world)
    pending["identifier"] = [{"system": HOLDS, "value": token}]
    assert_outcome(operation(world, "desk", "book", pending), 409, "conflict", "hold_expired")
    assert SlotHold.objects.count() == 1 and Appointment.objects.count() == 1


def test_someone_elses_hold_keeps_its_time_for_its_patient(world):
    pending = held(world, patient=world.walk_in)
    # The patient's own login sends the desk's pending Appointment (with the walk-in named).
    assert_outcome(operation(world, "patient", "book", pending), 400, "invalid")
    mine = {**pending, "participant": pending["participant"][1:]}
    problem = assert_outcome(operation(world, "patient", "book", mine), 422, "business-rule")
    assert "another patient" in problem.diagnostics
    assert Appointment.objects.count() == 1 and SlotHold.objects.count() == 1


def test_a_hold_presented_for_another_time_is_refused(world):
    pending = held(world)
    other = proposal(world, hour=12, patient=world.walk_in)
    moved = {**other, "status": "pending", "identifier": pending["identifier"]}
    problem = assert_outcome(operation(world, "desk", "book", moved), 422, "business-rule")
    assert "That hold is for another time" in problem.diagnostics


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"status": "booked"}, 422, "unchangeable"),
        ({"status": "cancelled"}, 422, "unchangeable"),
        ({"identifier": [{"system": "http://other.example", "value": "1"}]}, 422, "unchangeable"),
        ({"identifier": [{"system": HOLDS}]}, 400, "invalid"),
        ({"extension": [{"url": "http://other.example", "valueString": "x"}]}, 422, "unchangeable"),
        (
            {"identifier": [{"system": HOLDS, "value": "a"}, {"system": HOLDS, "value": "b"}]},
            400,
            "invalid",
        ),
        ({"comment": "Please"}, 422, "unchangeable"),
        ({"reasonCode": [{"text": "x" * 501}]}, 400, "invalid"),
    ],
)
def test_a_book_of_anything_but_a_proposal_or_a_pending_appointment_is_refused(
    world, change, status, code
):
    pending = {**held(world), **change}
    problem = assert_outcome(operation(world, "desk", "book", pending), status)
    assert problem.details.coding[0].code == code
    assert Appointment.objects.count() == 1


def test_a_pending_appointment_without_its_hold_is_400(world):
    pending = held(world)
    pending.pop("identifier")
    assert_outcome(operation(world, "desk", "book", pending), 400, "invalid")


def test_book_takes_an_idempotency_key(world):
    pending = held(world)
    first = operation(world, "desk", "book", pending, **{"Idempotency-Key": "book-1"})
    again = operation(world, "desk", "book", pending, **{"Idempotency-Key": "book-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert json.loads(again.content) == json.loads(first.content)
    assert again["Location"] == first["Location"]
    assert Appointment.objects.count() == 2
    reused = operation(
        world,
        "desk",
        "book",
        proposal(world, hour=12, patient=world.walk_in),
        **{"Idempotency-Key": "book-1"},
    )
    assert_outcome(reused, 422, "business-rule", "idempotency_key_reused")


def test_hold_takes_an_idempotency_key_and_its_answer_is_found_by_patient(world):
    resource = proposal(world, patient=world.walk_in)
    first = operation(world, "desk", "hold", resource, **{"Idempotency-Key": "hold-1"})
    again = operation(world, "desk", "hold", resource, **{"Idempotency-Key": "hold-1"})
    assert again["Idempotent-Replayed"] == "true"
    assert json.loads(again.content) == json.loads(first.content)
    # Closing the patient's account blanks stored answers naming them: the Patient comes first.
    from fhir.appointments import stored_answers_naming

    assert IdempotencyRecord.objects.filter(stored_answers_naming(world.walk_in)).count() == 1


def test_book_answers_what_the_create_answers(world):
    resource = proposal(world, hour=12, patient=world.walk_in)
    booked = json.loads(operation(world, "desk", "book", resource).content)
    record = Appointment.objects.get(pk=booked["id"])
    read = json.loads(world.client("desk").get(f"{BASE}Appointment/{record.pk}").content)
    assert booked == read


def test_a_live_hold_of_the_portals_pages_is_someone_elses_to_fhir_callers(world):
    SlotHoldFactory(
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 11),
        patient=world.other_patient,
    )
    resource = proposal(world, hour=12, patient=world.walk_in)
    resource["slot"] = [
        {"reference": f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, local(VISIT_DAY, 11))}"}
    ]
    for name in ("start", "end", "minutesDuration"):
        resource.pop(name)
    for name in ("hold", "book"):
        assert_outcome(operation(world, "desk", name, resource), 409, "conflict", "slot_taken")
