"""Races over the API on PostgreSQL: real threads, each with its own connection, released at once.

SQLite serialises whole transactions, so these only mean something on PostgreSQL; elsewhere they
are skipped (and CI, which runs PostgreSQL, fails on skips).
"""

import pytest
import time_machine

from accounts.tests.factories import PatientFactory
from api.idempotency import REPLAYED_HEADER
from api.tests.clinic_day import NOW, VISIT_DAY, build_clinic, local, rules  # noqa: F401
from api.tests.factories import client_with_token, token_for
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from clinic.tests.concurrency import postgresql_only, run_concurrently

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LIST = "/api/v1/appointments/"
CONTENDERS = 6


@pytest.fixture
def world(rules):
    postgresql_only()
    # Not ticking: every thread sees the same instant, as the services' rules expect.
    with time_machine.travel(NOW, tick=False):
        yield build_clinic()


def poster(token, path, body, key=None):
    headers = {"Idempotency-Key": key} if key else None

    def send():
        return client_with_token(token).post(path, body, format="json", headers=headers)

    return send


def test_many_bookings_of_one_slot_one_wins_the_rest_hear_slot_taken(world):
    integration = token_for(world.users["integration"])
    patients = PatientFactory.create_batch(CONTENDERS - 1)
    slot = world.slot(VISIT_DAY, 10)
    tasks = [poster(integration, LIST, {"slot": slot, "patient": p.pk}) for p in patients]
    # A patient of their own login among them: both kinds of caller race alike.
    tasks.append(poster(token_for(world.users["patient"]), LIST, {"slot": slot}))
    outcomes = run_concurrently(*tasks)
    statuses = sorted(response.status_code for response in outcomes)
    assert statuses == [201] + [409] * (CONTENDERS - 1), statuses
    losers = [r for r in outcomes if r.status_code == 409]
    assert {r.json()["error"]["code"] for r in losers} == {"slot_taken"}
    assert Appointment.objects.filter(start=local(VISIT_DAY, 10)).count() == 1


@pytest.mark.parametrize("round_number", range(3))
def test_a_move_and_a_booking_into_one_time_one_wins_and_nothing_is_lost(world, round_number):
    visit = AppointmentFactory(
        patient=world.patient,
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 10),
        created_by=world.patient.user,
    )
    target = world.slot(VISIT_DAY, 11)
    move = poster(
        token_for(world.users["patient"]),
        f"/api/v1/appointments/{visit.pk}/reschedule/",
        {"slot": target},
    )
    booking = poster(token_for(world.users["other_patient"]), LIST, {"slot": target})
    moved, booked = run_concurrently(move, booking)
    assert sorted([moved.status_code, booked.status_code]) == [201, 409]
    loser = moved if moved.status_code == 409 else booked
    assert loser.json()["error"]["code"] == "slot_taken"
    at_target = Appointment.objects.filter(start=local(VISIT_DAY, 11)).exclude(
        status=Status.CANCELLED
    )
    assert at_target.count() == 1
    visit.refresh_from_db()
    if moved.status_code == 201:
        # The old time was released only because the new one was secured.
        assert visit.status == Status.CANCELLED
        assert at_target.get().rescheduled_from == visit
    else:
        assert visit.status == Status.BOOKED
        assert at_target.get().patient == world.other_patient


def test_two_concurrent_retries_with_one_key_book_once(world):
    token = token_for(world.users["integration"])
    for round_number in range(4):
        slot = world.slot(VISIT_DAY, 9, 15 * round_number)
        body = {"slot": slot, "patient": world.walk_in.pk}
        send = poster(token, LIST, body, key=f"retry-{round_number}")
        outcomes = run_concurrently(send, send)
        statuses = sorted(response.status_code for response in outcomes)
        # The second either replays the first's answer or hears that it is still running.
        assert statuses in ([201, 201], [201, 409]), statuses
        fresh = [r for r in outcomes if r.status_code == 201 and REPLAYED_HEADER not in r]
        assert len(fresh) == 1
        if statuses == [201, 409]:
            waiting = next(r for r in outcomes if r.status_code == 409)
            assert waiting.json()["error"]["code"] == "idempotency_in_progress"
        assert Appointment.objects.filter(start=local(VISIT_DAY, 9, 15 * round_number)).count() == 1
