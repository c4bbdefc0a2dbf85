"""$hold and $book racing on PostgreSQL: real threads, each with its own connection, released at
once (clinic/tests/concurrency.py). Two holds of one time: one keeps it, the other hears 409; a
hold against a plain create: one wins; a held time is its holder's to book, whoever else tries;
a hold let go while its $book waits for the doctor's lock is 409 `hold_expired`, not booked.

SQLite serialises whole transactions, so these only mean something on PostgreSQL; elsewhere they
are skipped (and CI, which runs PostgreSQL, fails on skips)."""

import json
import threading

import pytest
import time_machine
from django.db import transaction

from accounts.tests.factories import PatientFactory
from api.tests.factories import client_with_token, token_for
from bookings.models import Appointment, SlotHold
from bookings.services import release_hold
from clinic.tests.concurrency import (
    WAIT_SECONDS,
    backend_pid,
    postgresql_only,
    run_concurrently,
    until,
    waits_for_a_lock,
)
from doctors.models import Doctor
from fhir.schedules import slot_id
from fhir.tests.world import BASE, NOW, VISIT_DAY, build_fhir_clinic, local, rules  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FHIR_JSON = "application/fhir+json"
CONTENDERS = 6


@pytest.fixture
def world(rules):  # the module's own: time frozen around a transactional world
    postgresql_only()
    # Not ticking: every thread sees the same instant, as the services' rules expect.
    with time_machine.travel(NOW, tick=False):
        yield build_fhir_clinic()


def proposed(world, hour, patient=None):
    start = local(VISIT_DAY, hour)
    resource = {
        "resourceType": "Appointment",
        "status": "proposed",
        "slot": [{"reference": f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, start)}"}],
        "participant": [
            {"actor": {"reference": f"Practitioner/{world.doctor.pk}"}, "status": "needs-action"}
        ],
    }
    if patient is not None:
        resource["participant"].insert(
            0, {"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"}
        )
    return resource


def sender(token, path, resource, operation=True):
    body = resource
    if operation:
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "appt-resource", "resource": resource}],
        }

    def send():
        return client_with_token(token).post(path, json.dumps(body), content_type=FHIR_JSON)

    return send


def codes(responses):
    return {json.loads(r.content)["issue"][0]["details"]["coding"][0]["code"] for r in responses}


def test_many_holds_of_one_time_one_keeps_it_the_rest_hear_409(world):
    integration = token_for(world.users["integration"])
    hold = BASE + "Appointment/$hold"
    patients = PatientFactory.create_batch(CONTENDERS - 1)
    tasks = [sender(integration, hold, proposed(world, 11, patient)) for patient in patients]
    # A patient of their own login among them.
    tasks.append(sender(token_for(world.users["patient"]), hold, proposed(world, 11)))
    outcomes = run_concurrently(*tasks)
    statuses = sorted(response.status_code for response in outcomes)
    assert statuses == [200] + [409] * (CONTENDERS - 1), statuses
    assert codes(r for r in outcomes if r.status_code == 409) == {"slot_taken"}
    (kept,) = SlotHold.objects.all()
    (winner,) = [json.loads(r.content) for r in outcomes if r.status_code == 200]
    assert winner["identifier"][0]["value"] == kept.token
    assert winner["participant"][0]["actor"]["reference"] == f"Patient/{kept.patient_id}"


@pytest.mark.parametrize("round_number", range(3))
def test_two_holds_of_one_time_exactly_one_is_200(world, round_number):
    hold = BASE + "Appointment/$hold"
    first = sender(token_for(world.users["patient"]), hold, proposed(world, 11))
    second = sender(token_for(world.users["other_patient"]), hold, proposed(world, 11))
    outcomes = run_concurrently(first, second)
    assert sorted(r.status_code for r in outcomes) == [200, 409]
    assert SlotHold.objects.count() == 1


@pytest.mark.parametrize("round_number", range(3))
def test_a_hold_and_a_create_of_one_time_one_wins(world, round_number):
    hold = sender(
        token_for(world.users["patient"]), BASE + "Appointment/$hold", proposed(world, 11)
    )
    create_body = {**proposed(world, 11), "status": "booked", "participant": []}
    create = sender(
        token_for(world.users["other_patient"]), BASE + "Appointment", create_body, operation=False
    )
    held, created = run_concurrently(hold, create)
    assert sorted([held.status_code, created.status_code]) in ([200, 409], [201, 409])
    loser = held if held.status_code == 409 else created
    assert codes([loser]) == {"slot_taken"}
    assert (
        SlotHold.objects.count() + Appointment.objects.filter(start=local(VISIT_DAY, 11)).count()
        == 1
    )


def test_a_held_time_is_refused_to_a_create_by_someone_else(world):
    held = sender(
        token_for(world.users["patient"]), BASE + "Appointment/$hold", proposed(world, 11)
    )()
    assert held.status_code == 200, held.content
    create_body = {**proposed(world, 11), "status": "booked", "participant": []}
    created = sender(
        token_for(world.users["other_patient"]), BASE + "Appointment", create_body, operation=False
    )()
    assert created.status_code == 409
    assert codes([created]) == {"slot_taken"}
    assert not Appointment.objects.filter(start=local(VISIT_DAY, 11)).exists()


def test_the_holder_books_while_others_try_to_take_the_time(world):
    integration = token_for(world.users["integration"])
    pending = sender(integration, BASE + "Appointment/$hold", proposed(world, 11, world.walk_in))()
    assert pending.status_code == 200, pending.content
    book = sender(integration, BASE + "Appointment/$book", json.loads(pending.content))
    others = [
        sender(token_for(world.users[role]), BASE + "Appointment/$book", proposed(world, 11))
        for role in ("patient", "other_patient")
    ]
    booked, *refused = run_concurrently(book, *others)
    assert booked.status_code == 201, booked.content
    assert [r.status_code for r in refused] == [409, 409]
    assert codes(refused) == {"slot_taken"}
    (appointment,) = Appointment.objects.filter(start=local(VISIT_DAY, 11))
    assert appointment.patient == world.walk_in
    assert not SlotHold.objects.exists()


def test_a_hold_let_go_while_its_book_waits_for_the_doctor_is_409_and_books_nothing(world):
    """$book finds the hold by its token, then waits for the doctor's row lock (another
    booking of the doctor holds it); meanwhile the hold is let go. The booking service, reading
    the hold again under the lock, refuses it: 409 hold_expired, nothing booked."""
    integration = token_for(world.users["integration"])
    pending = sender(integration, BASE + "Appointment/$hold", proposed(world, 11, world.walk_in))()
    assert pending.status_code == 200, pending.content
    held = SlotHold.objects.get()
    book = sender(integration, BASE + "Appointment/$book", json.loads(pending.content))
    booker_pid = []
    doctor_locked, hold_let_go = threading.Event(), threading.Event()

    def lock_the_doctor():
        with transaction.atomic():
            Doctor.objects.select_for_update().get(pk=world.doctor.pk)
            doctor_locked.set()
            assert hold_let_go.wait(WAIT_SECONDS)

    def book_after_the_lock():
        booker_pid.append(backend_pid())
        assert doctor_locked.wait(WAIT_SECONDS)
        return book()

    def let_go_meanwhile():
        assert doctor_locked.wait(WAIT_SECONDS)
        until(lambda: waits_for_a_lock(booker_pid))
        try:
            release_hold(hold=held, by=world.users["integration"])
        finally:
            hold_let_go.set()

    locked, booked, released = run_concurrently(
        lock_the_doctor, book_after_the_lock, let_go_meanwhile
    )

    assert not isinstance(locked, BaseException) and released is None, (locked, released)
    assert booked.status_code == 409, booked.content
    (issue,) = json.loads(booked.content)["issue"]
    assert (issue["code"], codes([booked])) == ("conflict", {"hold_expired"})
    assert "Hold the time again" in issue["diagnostics"]
    assert not Appointment.objects.filter(start=local(VISIT_DAY, 11)).exists()
    assert not SlotHold.objects.exists()
