"""Appointment create (POST, from a Slot) and update (PUT: cancel, arrived, fulfilled, noshow, a
move to another Slot) through the booking services: every rule and the double-booking guard,
the JSON API's roles (403 for a role that may never, 404 for what the caller does not reach),
Idempotency-Key, and every refusal an OperationOutcome."""

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Group

from accounts.roles import Role
from accounts.tests.factories import PatientFactory
from api.models import IdempotencyRecord
from bookings.models import Appointment, AppointmentType, Status
from bookings.services import cancel_appointment
from bookings.tests.factories import AppointmentFactory
from clinic.privacy import close_patient_account
from fhir.schedules import slot_id
from fhir.tests.world import BASE, TODAY, VISIT_DAY, assert_outcome, local, parsed

pytestmark = pytest.mark.django_db

V2 = "http://terminology.hl7.org/CodeSystem/v2-0276"
OURS = "https://clinic.example/fhir"
FHIR_JSON = "application/fhir+json"


def slot_ref(world, day, hour, minute=0, doctor=None, clinic=None):
    doctor, clinic = doctor or world.doctor, clinic or world.clinic
    return {"reference": f"Slot/{slot_id(doctor.pk, clinic.pk, local(day, hour, minute))}"}


def new_appointment(world, day=VISIT_DAY, hour=11, patient=None, **extra):
    resource = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [slot_ref(world, day, hour)],
        "participant": [],
    }
    if patient is not None:
        resource["participant"].append(
            {"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"}
        )
    return {**resource, **extra}


def create(world, role, body, **headers):
    return world.client(role).post(
        BASE + "Appointment", json.dumps(body), content_type=FHIR_JSON, headers=headers
    )


def served(world, appointment, role="desk"):
    """The resource as read, to send back changed."""
    return json.loads(world.client(role).get(f"{BASE}Appointment/{appointment.pk}").content)


def update(world, role, appointment, body, **headers):
    return world.client(role).put(
        f"{BASE}Appointment/{appointment.pk}",
        json.dumps(body),
        content_type=FHIR_JSON,
        headers=headers,
    )


def changed(world, role, appointment, **changes):
    return update(world, role, appointment, {**served(world, appointment), **changes})


def booked_today(world, hour, minute=0, patient=None):
    return AppointmentFactory(
        patient=patient or world.patient,
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(TODAY, hour, minute),
        created_by=world.users["desk"],
    )


# Create -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["desk", "admin", "integration"])
def test_staff_book_a_slot_for_a_directory_patient(world, role):
    body = new_appointment(
        world,
        patient=world.walk_in,
        appointmentType={"coding": [{"system": V2, "code": "FOLLOWUP"}]},
        reasonCode=[{"text": "Review of the cough"}],
    )
    response = create(world, role, body)
    resource = parsed(response, 201)
    record = Appointment.objects.get(pk=resource.id)
    assert response["Location"] == f"http://testserver{BASE}Appointment/{record.pk}"
    assert (record.patient, record.doctor, record.clinic) == (
        world.walk_in,
        world.doctor,
        world.clinic,
    )
    assert record.start == local(VISIT_DAY, 11)
    assert record.appointment_type == AppointmentType.FOLLOW_UP
    assert record.reason == "Review of the cough"
    assert record.created_by == world.users[role]
    assert resource.status == "booked"
    assert resource.slot[0].reference == body["slot"][0]["reference"]


def test_a_patient_books_for_themselves_without_naming_themselves(world):
    resource = parsed(create(world, "patient", new_appointment(world)), 201)
    assert Appointment.objects.get(pk=resource.id).patient == world.patient
    again = new_appointment(world, hour=12, patient=world.patient)
    assert parsed(create(world, "patient", again), 201)


def test_a_patient_may_not_book_for_someone_else(world):
    response = create(world, "patient", new_appointment(world, patient=world.walk_in))
    assert_outcome(response, 400, "invalid")
    assert not Appointment.objects.filter(patient=world.walk_in).exists()


def test_staff_must_name_a_patient_in_the_directory(world):
    assert_outcome(create(world, "desk", new_appointment(world)), 400, "invalid")
    body = new_appointment(world)
    body["participant"] = [{"actor": {"reference": "Patient/999999"}, "status": "accepted"}]
    assert_outcome(create(world, "desk", body), 400, "invalid")


@pytest.mark.parametrize(
    ("role", "status"), [("doctor", 403), ("other_doctor", 403), ("anon", 401)]
)
def test_doctors_and_visitors_do_not_book(world, role, status):
    response = create(world, role, new_appointment(world, patient=world.walk_in))
    assert_outcome(response, status)
    assert Appointment.objects.count() == 1


def test_a_taken_slot_is_409_conflict(world):
    body = new_appointment(world, hour=10, patient=world.walk_in)  # the world's appointment
    problem = assert_outcome(create(world, "desk", body), 409, "conflict", "slot_taken")
    assert "just taken" in problem.diagnostics


@pytest.mark.parametrize(
    ("day", "hour", "code"),
    [
        (TODAY, 9, "in_the_past"),
        (TODAY, 10, "short_notice"),
        (TODAY + dt.timedelta(days=40), 10, "outside_window"),
        (VISIT_DAY, 15, "not_a_slot"),
    ],
)
def test_a_booking_rule_refuses_with_the_services_words(world, day, hour, code):
    body = new_appointment(world, day=day, hour=hour, patient=world.walk_in)
    problem = assert_outcome(create(world, "desk", body), 422, "business-rule", code)
    assert problem.diagnostics


def test_the_patients_cap_applies(world, settings):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 1
    response = create(world, "patient", new_appointment(world))
    assert_outcome(response, 422, "business-rule", "cap_reached")


@pytest.mark.parametrize(
    ("body", "issue"),
    [
        (b"{not json", "structure"),
        (b"[]", "invalid"),
        (b'"Appointment"', "invalid"),
        (b'{"resourceType": "Patient"}', "invalid"),
        (b'{"resourceType": "Appointment"}', "structure"),
        (b'{"resourceType": "Appointment", "status": "booked", "participant": [], "x": 1}', None),
        (
            b'{"resourceType": "Appointment", "status": "nonsense", "participant": []}',
            "invalid",
        ),
        (b'{"resourceType": "Appointment", "status": "booked", "participant": []}', "invalid"),
        (
            b'{"resourceType": "Appointment", "status": "booked", "participant": [],'
            b' "slot": [{"reference": "Slot/1-1-x"}]}',
            "invalid",
        ),
        (
            b'{"resourceType": "Appointment", "status": "booked", "participant": [],'
            b' "slot": [{"reference": "Schedule/1-1"}]}',
            "invalid",
        ),
        (
            b'{"resourceType": "Appointment", "status": "booked", "participant": [],'
            b' "slot": [{"reference": "Slot/999-999-20261203T0500Z"}]}',
            "invalid",
        ),
    ],
)
def test_a_body_that_is_no_appointment_is_400(world, body, issue):
    response = world.client("desk").post(BASE + "Appointment", body, content_type=FHIR_JSON)
    assert_outcome(response, 400, issue)
    assert Appointment.objects.count() == 1


def test_a_body_in_another_format_is_415(world):
    response = world.client("desk").post(
        BASE + "Appointment", "<Appointment/>", content_type="application/fhir+xml"
    )
    assert_outcome(response, 415, "not-supported", "unsupported_media_type")


@pytest.mark.parametrize(
    "extra",
    [
        {"status": "proposed"},
        {"comment": "Please call first"},
        {"priority": 1},
        {"start": "2026-12-03T06:00:00Z"},
        {"end": "2026-12-03T06:00:00Z"},
        {"minutesDuration": 45},
        {"specialty": [{"coding": [{"system": "https://x.example", "code": "1"}]}]},
        {"appointmentType": {"coding": [{"system": V2, "code": "WALKIN"}]}},
    ],
)
def test_what_the_server_does_not_keep_or_the_slot_decides_otherwise_is_refused(world, extra):
    response = create(world, "desk", new_appointment(world, patient=world.walk_in, **extra))
    if "appointmentType" in extra:
        assert_outcome(response, 400, "invalid")
    else:
        assert_outcome(response, 422, "business-rule", "unchangeable")
    assert Appointment.objects.count() == 1


def test_participants_must_be_the_slots_doctor_and_clinic(world):
    body = new_appointment(world, patient=world.walk_in)
    for reference in (f"Practitioner/{world.other_doctor.pk}", f"Location/{world.london.pk}"):
        wrong = {
            **body,
            "participant": [
                *body["participant"],
                {"actor": {"reference": reference}, "status": "accepted"},
            ],
        }
        assert_outcome(create(world, "desk", wrong), 422, "business-rule")
    right = [
        *body["participant"],
        {"actor": {"reference": f"Practitioner/{world.doctor.pk}"}, "status": "accepted"},
        {"actor": {"reference": f"Location/{world.clinic.pk}"}, "status": "accepted"},
    ]
    start = local(VISIT_DAY, 11).astimezone(dt.UTC)
    agreeing = {
        **body,
        "participant": right,
        "start": start.isoformat(),
        "end": (start + dt.timedelta(minutes=world.doctor.slot_minutes)).isoformat(),
    }
    assert parsed(create(world, "desk", agreeing), 201)


@pytest.mark.parametrize(
    ("actors", "status"),
    [
        (["RelatedPerson/1"], 422),
        ([None], 422),
        (["Patient/{walk_in}", "Patient/{walk_in}"], 422),
        (["Patient/abc"], 400),
    ],
)
def test_participants_are_one_patient_practitioner_and_location(world, actors, status):
    body = new_appointment(world)
    body["participant"] = [
        {"actor": {"reference": a.format(walk_in=world.walk_in.pk)}} if a else {"type": []}
        for a in actors
    ]
    for participant in body["participant"]:
        participant["status"] = "accepted"
    assert_outcome(create(world, "desk", body), status)
    assert Appointment.objects.count() == 1


def test_our_own_appointment_type_codes_are_read_back(world):
    ours = {"coding": [{"system": f"{OURS}/appointment-type", "code": "report_review"}]}
    body = new_appointment(world, patient=world.walk_in, appointmentType=ours)
    resource = parsed(create(world, "desk", body), 201)
    record = Appointment.objects.get(pk=resource.id)
    assert record.appointment_type == AppointmentType.REPORT_REVIEW


def test_the_slot_may_be_this_servers_absolute_url(world):
    body = new_appointment(world, patient=world.walk_in)
    body["slot"] = [{"reference": "http://testserver" + BASE + body["slot"][0]["reference"]}]
    assert parsed(create(world, "desk", body), 201)


def test_a_retry_with_the_same_idempotency_key_books_once(world):
    body = new_appointment(world, patient=world.walk_in)
    first = create(world, "desk", body, **{"Idempotency-Key": "book-1"})
    again = create(world, "desk", body, **{"Idempotency-Key": "book-1"})
    assert parsed(first, 201).id == parsed(again, 201).id
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Appointment.objects.filter(patient=world.walk_in).count() == 1
    other = create(
        world,
        "desk",
        {**body, "slot": [slot_ref(world, VISIT_DAY, 12)]},
        **{"Idempotency-Key": "book-1"},
    )
    assert_outcome(other, 422, "business-rule", "idempotency_key_reused")


def test_closing_the_patients_account_blanks_the_stored_fhir_answers_naming_them(world):
    """The answer stored for a retry carries the reason for the visit; once the patient closes
    their account it must go, while another patient's stays."""
    reason = {"reasonCode": [{"text": "Chest pain"}]}
    patient = PatientFactory(with_account=True)
    mine = new_appointment(world, patient=patient, **reason)
    theirs = new_appointment(world, hour=12, patient=world.other_patient, **reason)
    booked = parsed(create(world, "desk", mine, **{"Idempotency-Key": "mine"}), 201)
    assert parsed(create(world, "desk", theirs, **{"Idempotency-Key": "theirs"}), 201)
    # An account with a visit ahead cannot be closed: the visit is cancelled first.
    cancel_appointment(
        appointment=Appointment.objects.get(pk=booked.id), by=patient.user, reason="Away"
    )

    close_patient_account(patient=patient)

    assert IdempotencyRecord.objects.get(key="mine").response_body is None
    kept = IdempotencyRecord.objects.get(key="theirs").response_body
    assert kept["participant"][0]["actor"]["reference"] == f"Patient/{world.other_patient.pk}"


def test_a_refusal_is_remembered_under_its_key_too(world):
    body = new_appointment(world, hour=10, patient=world.walk_in)
    first = create(world, "desk", body, **{"Idempotency-Key": "taken"})
    assert_outcome(first, 409, "conflict", "slot_taken")
    again = create(world, "desk", body, **{"Idempotency-Key": "taken"})
    assert_outcome(again, 409, "conflict", "slot_taken")
    assert again["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get(key="taken").response_status == 409


def test_a_key_that_is_too_long_is_400(world):
    body = new_appointment(world, patient=world.walk_in)
    response = create(world, "desk", body, **{"Idempotency-Key": "k" * 256})
    assert_outcome(response, 400, "invalid", "invalid_idempotency_key")


# Update: the status -------------------------------------------------------------------------------


def test_a_patient_cancels_their_own_without_a_reason(world):
    response = changed(world, "patient", world.appointment, status="cancelled")
    assert parsed(response).status == "cancelled"
    assert "Location" not in response  # the same resource, where it was
    world.appointment.refresh_from_db()
    assert world.appointment.status == Status.CANCELLED
    assert world.appointment.cancelled_by == world.users["patient"]


@pytest.mark.parametrize("role", ["desk", "admin", "integration"])
def test_staff_cancel_with_a_reason_and_must_give_one(world, role):
    response = changed(world, role, world.appointment, status="cancelled")
    assert_outcome(response, 400, "invalid")
    reason = {"text": "Doctor unavailable"}
    response = changed(world, role, world.appointment, status="cancelled", cancelationReason=reason)
    resource = parsed(response)
    assert resource.cancelationReason.text == "Doctor unavailable"
    world.appointment.refresh_from_db()
    assert world.appointment.cancellation_reason == "Doctor unavailable"


@pytest.mark.parametrize(
    ("role", "status"), [("doctor", 403), ("other_patient", 404), ("other_doctor", 404)]
)
def test_others_may_not_cancel(world, role, status):
    body = {**served(world, world.appointment), "status": "cancelled"}
    assert_outcome(update(world, role, world.appointment, body), status)
    world.appointment.refresh_from_db()
    assert world.appointment.status == Status.BOOKED


def test_anonymous_updates_nothing(world):
    body = {**served(world, world.appointment), "status": "cancelled"}
    assert_outcome(update(world, "anon", world.appointment, body), 401, "login")


def test_a_patients_cancellation_past_the_cut_off_is_422(world):
    soon = booked_today(world, 11)
    response = changed(world, "patient", soon, status="cancelled")
    assert_outcome(response, 422, "business-rule", "past_cutoff")


@pytest.mark.parametrize("role", ["desk", "doctor", "integration"])
def test_arrived_checks_the_patient_in(world, role):
    today = booked_today(world, 11)
    resource = parsed(changed(world, role, today, status="arrived"))
    assert resource.status == "arrived"
    today.refresh_from_db()
    assert today.status == Status.CHECKED_IN


@pytest.mark.parametrize(("role", "status"), [("patient", 403), ("other_doctor", 404)])
def test_arrived_by_others_is_refused(world, role, status):
    today = booked_today(world, 11)
    assert_outcome(changed(world, role, today, status="arrived"), status)


def test_arrived_on_another_day_is_422(world):
    response = changed(world, "desk", world.appointment, status="arrived")
    assert_outcome(response, 422, "business-rule", "not_today")


def test_the_doctor_completes_and_nobody_else(world):
    today = booked_today(world, 11)
    parsed(changed(world, "desk", today, status="arrived"))
    for role, status in (("desk", 403), ("patient", 403), ("other_doctor", 404)):
        assert_outcome(changed(world, role, today, status="fulfilled"), status)
    assert parsed(changed(world, "doctor", today, status="fulfilled")).status == "fulfilled"


def test_the_doctor_marks_a_no_show_after_the_start(world):
    late = booked_today(world, 9)
    assert_outcome(changed(world, "desk", late, status="noshow"), 403)
    assert parsed(changed(world, "doctor", late, status="noshow")).status == "noshow"
    ahead = booked_today(world, 11)
    assert_outcome(changed(world, "doctor", ahead, status="noshow"), 422, "business-rule")


def test_a_status_the_machine_does_not_allow_is_409(world):
    today = booked_today(world, 11)
    parsed(changed(world, "desk", today, status="arrived"))
    response = changed(world, "desk", today, status="cancelled", cancelationReason={"text": "x"})
    assert_outcome(response, 409, "conflict", "invalid_status")


@pytest.mark.parametrize("status", ["proposed", "pending", "checked-in", "entered-in-error"])
def test_other_statuses_are_refused_saying_what_may_change(world, status):
    problem = assert_outcome(
        changed(world, "desk", world.appointment, status=status), 422, "business-rule"
    )
    assert "What may change" in problem.diagnostics


def test_a_doctor_booked_as_a_patient_does_not_check_themselves_in(world):
    """One login, both roles: the booking is theirs as a patient, the check-in a doctor's, of
    their own schedule only; so it is out of reach for this change (404)."""
    user = world.users["doctor"]
    user.groups.add(Group.objects.get(name=Role.PATIENT))
    themselves = PatientFactory(user=user, full_name=user.full_name)
    today = AppointmentFactory(
        patient=themselves,
        doctor=world.other_doctor,
        clinic=world.clinic,
        start=local(TODAY, 11),
        created_by=user,
    )
    client_body = served(world, today, role="doctor")
    assert_outcome(update(world, "doctor", today, {**client_body, "status": "arrived"}), 404)
    today.refresh_from_db()
    assert today.status == Status.BOOKED


def test_the_same_resource_sent_back_changes_nothing(world):
    before = served(world, world.appointment)
    response = update(world, "patient", world.appointment, before)
    assert json.loads(response.content) == before
    world.appointment.refresh_from_db()
    assert world.appointment.status == Status.BOOKED


# Update: the Slot ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["patient", "desk"])
def test_a_new_slot_moves_the_appointment_in_one_call(world, role):
    response = changed(world, role, world.appointment, slot=[slot_ref(world, VISIT_DAY, 11)])
    new = parsed(response, 201)
    assert response["Location"].endswith(f"/Appointment/{new.id}")
    assert new.start == local(VISIT_DAY, 11)
    assert new.extension[0].valueReference.reference == f"Appointment/{world.appointment.pk}"
    world.appointment.refresh_from_db()
    assert world.appointment.status == Status.CANCELLED
    assert world.appointment.rescheduled_to.pk == int(new.id)


def test_a_move_to_a_taken_slot_is_409_and_changes_nothing(world):
    AppointmentFactory(
        patient=world.walk_in,
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 11),
        created_by=world.users["desk"],
    )
    response = changed(world, "desk", world.appointment, slot=[slot_ref(world, VISIT_DAY, 11)])
    assert_outcome(response, 409, "conflict", "slot_taken")
    world.appointment.refresh_from_db()
    assert world.appointment.status == Status.BOOKED


@pytest.mark.parametrize(("role", "status"), [("doctor", 403), ("other_patient", 404)])
def test_others_may_not_move_it(world, role, status):
    body = {**served(world, world.appointment), "slot": [slot_ref(world, VISIT_DAY, 11)]}
    assert_outcome(update(world, role, world.appointment, body), status)


def test_a_slot_of_another_doctor_is_422(world):
    other = slot_ref(world, VISIT_DAY, 11, doctor=world.other_doctor)
    response = changed(world, "desk", world.appointment, slot=[other])
    assert_outcome(response, 422, "business-rule", "unchangeable")


def test_status_and_slot_together_are_refused(world):
    response = changed(
        world,
        "patient",
        world.appointment,
        status="cancelled",
        slot=[slot_ref(world, VISIT_DAY, 11)],
    )
    assert_outcome(response, 422, "business-rule", "unchangeable")


# Update: what may not change ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"appointmentType": {"coding": [{"system": V2, "code": "CHECKUP"}]}},
        {"reasonCode": [{"text": "Something else"}]},
        {"comment": "New element"},
        {"start": "2026-12-03T06:00:00Z"},
        {"minutesDuration": 45},
        {"cancelationReason": {"text": "Without cancelling"}},
        {"participant": [{"actor": {"reference": "Patient/1"}, "status": "accepted"}]},
    ],
)
def test_any_other_change_is_422_naming_what_may_change(world, changes):
    problem = assert_outcome(
        changed(world, "desk", world.appointment, **changes), 422, "business-rule", "unchangeable"
    )
    assert "What may change" in problem.diagnostics
    world.appointment.refresh_from_db()
    assert world.appointment.status == Status.BOOKED


def test_times_in_another_offset_are_the_same_times(world):
    start = world.appointment.start.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    body = {**served(world, world.appointment), "start": start.isoformat()}
    assert parsed(update(world, "desk", world.appointment, body)).id == str(world.appointment.pk)


def test_the_body_must_name_the_same_id(world):
    body = {**served(world, world.appointment), "status": "cancelled"}
    body["id"] = "999"
    assert_outcome(update(world, "patient", world.appointment, body), 400, "invalid")
    del body["id"]
    assert_outcome(update(world, "patient", world.appointment, body), 400, "invalid")


def test_an_appointment_out_of_reach_is_404_before_its_body_is_read(world):
    response = world.client("other_patient").put(
        f"{BASE}Appointment/{world.appointment.pk}", b"{not json", content_type=FHIR_JSON
    )
    assert_outcome(response, 404, "not-found")
    response = world.client("desk").put(f"{BASE}Appointment/999999", b"{}", content_type=FHIR_JSON)
    assert_outcome(response, 404, "not-found")


def test_an_update_retried_with_its_key_is_answered_once(world):
    body = {**served(world, world.appointment), "status": "cancelled"}
    first = update(world, "patient", world.appointment, body, **{"Idempotency-Key": "cancel-1"})
    again = update(world, "patient", world.appointment, body, **{"Idempotency-Key": "cancel-1"})
    assert parsed(first).status == parsed(again).status == "cancelled"
    assert again["Idempotent-Replayed"] == "true"
