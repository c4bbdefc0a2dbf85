"""Visit types through the API: the slot search for a type, booking with one, bad input."""

import pytest

from api.slots import parse_slot_id
from api.tests.clinic_day import (
    NOW,
    VISIT_DAY,
    frozen,  # noqa: F401  (fixtures)
    local,
    rules,  # noqa: F401
    world,  # noqa: F401
)
from bookings.models import Appointment
from bookings.selectors import open_slots
from doctors.tests.factories import DepartmentFactory, VisitTypeFactory

pytestmark = pytest.mark.django_db

SLOTS = "/api/v1/slots/"
BOOK = "/api/v1/appointments/"


@pytest.fixture
def procedure(world):
    return VisitTypeFactory(
        name="Procedure", department=world.doctor.department, minutes=45, buffer_after_minutes=10
    )


def test_the_slot_search_for_a_type_gives_the_types_times(world, procedure):
    response = world.client("anon").get(
        SLOTS,
        {
            "doctor": world.doctor.pk,
            "clinic": world.clinic.pk,
            "from": VISIT_DAY,
            "to": VISIT_DAY,
            "visit_type": procedure.pk,
        },
    )

    assert response.status_code == 200, response.content
    starts = [parse_slot_id(s["id"]).start for s in response.json()["results"]]
    expected = open_slots(
        doctor=world.doctor,
        clinic=world.clinic,
        now=NOW,
        first_day=VISIT_DAY,
        last_day=VISIT_DAY,
        visit_type=procedure,
    )
    assert starts == [slot.start for slot in expected]
    assert local(VISIT_DAY, 12) in starts and local(VISIT_DAY, 12, 15) not in starts


@pytest.mark.parametrize("bad", ["other_department", "inactive", "unknown"])
def test_the_slot_search_refuses_a_type_the_doctor_does_not_offer(world, bad):
    visit_type = {
        "other_department": lambda: VisitTypeFactory(department=DepartmentFactory()).pk,
        "inactive": lambda: (
            VisitTypeFactory(department=world.doctor.department, is_active=False).pk
        ),
        "unknown": lambda: 999999,
    }[bad]()

    response = world.client("anon").get(
        SLOTS, {"doctor": world.doctor.pk, "clinic": world.clinic.pk, "visit_type": visit_type}
    )

    assert response.status_code == 400
    assert "visit_type" in response.json()["error"]["fields"]


def test_a_patient_books_a_typed_visit(world, procedure):
    response = world.client("patient").post(
        BOOK,
        {"slot": world.slot(VISIT_DAY, 10), "visit_type": procedure.pk},
        format="json",
    )

    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get()
    assert (appointment.visit_type, appointment.end) == (procedure, local(VISIT_DAY, 10, 45))


def test_a_patient_cannot_book_a_desk_only_type_but_the_desk_can(world):
    desk_only = VisitTypeFactory(department=world.doctor.department, bookable_online=False)
    body = {"slot": world.slot(VISIT_DAY, 10), "visit_type": desk_only.pk}

    refused = world.client("patient").post(BOOK, body, format="json")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "visit_type_not_online"
    assert not Appointment.objects.exists()

    booked = world.client("desk").post(
        BOOK, {**body, "patient": world.walk_in.pk, "reason": "Review"}, format="json"
    )
    assert booked.status_code == 201, booked.content
    assert Appointment.objects.get().visit_type == desk_only


@pytest.mark.parametrize("visit_type", [999999, "other_doctors"])
def test_booking_with_an_unknown_or_foreign_type_is_refused(world, visit_type):
    if visit_type == "other_doctors":
        visit_type = VisitTypeFactory(department=None, doctor=world.other_doctor).pk

    response = world.client("patient").post(
        BOOK, {"slot": world.slot(VISIT_DAY, 10), "visit_type": visit_type}, format="json"
    )

    assert response.status_code in (400, 422)
    assert not Appointment.objects.exists()
