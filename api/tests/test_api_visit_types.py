"""Visit types through the API: the slot search for a type, booking with one, bad input."""

from decimal import Decimal

import pytest
from django.urls import reverse

from api.slots import parse_slot_id
from api.tests.clinic_day import (
    NOW,
    VISIT_DAY,
    assert_error,
    frozen,  # noqa: F401  (fixtures)
    local,
    rules,  # noqa: F401
    world,  # noqa: F401
)
from billing.models import Charge
from billing.services import record_payment
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


# Moving into another type ----------------------------------------------------------------------


@pytest.fixture
def priced(world, settings):
    """The doctor's plain visit at 500.00 and a dearer 'Procedure' at 750.00, GST 18%."""
    settings.GST_RATE = "0.18"
    settings.CURRENCY = "INR"
    world.doctor.consultation_fee = Decimal("500.00")
    world.doctor.save()
    return VisitTypeFactory(
        name="Procedure", department=world.doctor.department, minutes=15, fee=Decimal("750.00")
    )


@pytest.fixture
def booked(world, priced):
    """The patient's plain visit on the visit day at 10:00, booked through the API."""
    response = world.client("patient").post(
        BOOK, {"slot": world.slot(VISIT_DAY, 10)}, format="json"
    )
    assert response.status_code == 201, response.content
    return Appointment.objects.get(pk=response.json()["id"])


def move_url(appointment):
    return reverse("api:appointment_reschedule", kwargs={"pk": appointment.pk})


def price(world, role, appointment_id):
    response = world.client(role).get(reverse("api:appointment", kwargs={"pk": appointment_id}))
    assert response.status_code == 200, response.content
    return response.json()["price"]


@pytest.mark.parametrize(
    "role, status",
    [
        ("anon", 401),
        ("patient", 201),
        ("other_patient", 404),
        ("doctor", 403),
        ("desk", 201),
        ("admin", 201),
        ("integration", 201),
    ],
)
def test_a_move_into_another_type_is_priced_for_it(world, priced, booked, role, status):
    response = world.client(role).post(
        move_url(booked), {"slot": world.slot(VISIT_DAY, 11), "visit_type": priced.pk}, "json"
    )

    assert response.status_code == status, response.content
    if status != 201:
        assert Appointment.objects.get().visit_type is None
        assert Charge.objects.get().total == Decimal("590.00")
        return
    new = Appointment.objects.get(pk=response.json()["id"])
    assert new.visit_type == priced
    # Exact decimals, as strings, wherever the price is shown: the patient's and the desk's.
    for viewer in ("patient", "desk"):
        assert price(world, viewer, new.pk) == {
            "currency": "INR",
            "fee": "750.00",
            "gst": "135.00",
            "total": "885.00",
            "paid": "0.00",
            "refunded": "0.00",
            "due": "885.00",
        }
    listed = world.client("patient").get(reverse("api:charges")).json()["results"]
    assert [(c["appointment"], c["total"]) for c in listed] == [(new.pk, "885.00")]


def test_a_move_leaving_out_the_type_keeps_type_and_price(world, priced):
    booked = world.client("patient").post(
        BOOK, {"slot": world.slot(VISIT_DAY, 10), "visit_type": priced.pk}, format="json"
    )
    old = Appointment.objects.get(pk=booked.json()["id"])
    priced.fee = Decimal("900.00")
    priced.save()

    response = world.client("patient").post(
        move_url(old), {"slot": world.slot(VISIT_DAY, 11)}, format="json"
    )

    assert response.status_code == 201, response.content
    new_id = response.json()["id"]
    assert Appointment.objects.get(pk=new_id).visit_type == priced
    assert price(world, "patient", new_id)["total"] == "885.00"


def test_a_move_to_null_leaves_the_type_for_the_plain_slot_and_its_price(world, priced):
    booked = world.client("desk").post(
        BOOK,
        {"slot": world.slot(VISIT_DAY, 10), "visit_type": priced.pk, "patient": world.walk_in.pk},
        format="json",
    )
    old = Appointment.objects.get(pk=booked.json()["id"])

    response = world.client("desk").post(
        move_url(old), {"slot": world.slot(VISIT_DAY, 11), "visit_type": None}, format="json"
    )

    assert response.status_code == 201, response.content
    new_id = response.json()["id"]
    assert Appointment.objects.get(pk=new_id).visit_type is None
    assert price(world, "desk", new_id)["total"] == "590.00"


def test_a_paid_visit_moving_into_a_type_at_another_price_is_a_conflict(world, priced, booked):
    record_payment(charge=booked.charge, amount="100.00", mode="cash", by=world.users["desk"])

    response = world.client("desk").post(
        move_url(booked), {"slot": world.slot(VISIT_DAY, 11), "visit_type": priced.pk}, "json"
    )

    error = assert_error(response, 409, "visit_type_paid")
    assert "Move it keeping its type" in error["message"]
    booked.refresh_from_db()
    assert booked.status == "booked"
    assert Appointment.objects.count() == 1
    assert price(world, "desk", booked.pk)["total"] == "590.00"


def test_a_patient_cannot_move_into_a_desk_only_type(world, priced, booked):
    desk_only = VisitTypeFactory(department=world.doctor.department, bookable_online=False)

    response = world.client("patient").post(
        move_url(booked), {"slot": world.slot(VISIT_DAY, 11), "visit_type": desk_only.pk}, "json"
    )

    assert_error(response, 422, "visit_type_not_online")
    assert Appointment.objects.count() == 1


@pytest.fixture
def desk_booked_procedure(world):
    """A visit of a type the desk books only, booked by the desk for the world's patient."""
    desk_only = VisitTypeFactory(
        name="Procedure", department=world.doctor.department, bookable_online=False, minutes=30
    )
    response = world.client("desk").post(
        BOOK,
        {
            "slot": world.slot(VISIT_DAY, 10),
            "visit_type": desk_only.pk,
            "patient": world.patient.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Appointment.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize("new_type", ["plain", "online"])
def test_a_patient_cannot_change_the_type_of_a_visit_the_desk_arranged(
    world, priced, desk_booked_procedure, new_type
):
    chosen = None if new_type == "plain" else priced.pk

    response = world.client("patient").post(
        move_url(desk_booked_procedure),
        {"slot": world.slot(VISIT_DAY, 11), "visit_type": chosen},
        format="json",
    )

    error = assert_error(response, 422, "visit_type_not_online")
    assert "arranged by the clinic" in error["message"]
    desk_booked_procedure.refresh_from_db()
    assert desk_booked_procedure.status == "booked"
    assert Appointment.objects.count() == 1


def test_the_patient_may_move_it_keeping_its_type_and_the_desk_may_change_it(
    world, desk_booked_procedure
):
    kept = world.client("patient").post(
        move_url(desk_booked_procedure), {"slot": world.slot(VISIT_DAY, 11)}, format="json"
    )
    assert kept.status_code == 201, kept.content
    moved = Appointment.objects.get(pk=kept.json()["id"])
    assert moved.visit_type == desk_booked_procedure.visit_type

    changed = world.client("desk").post(
        move_url(moved), {"slot": world.slot(VISIT_DAY, 12), "visit_type": None}, format="json"
    )
    assert changed.status_code == 201, changed.content
    assert Appointment.objects.get(pk=changed.json()["id"]).visit_type is None


@pytest.mark.parametrize("visit_type", [999999, "other_doctors", "abc", 0, -3, 2**31, True])
def test_a_move_with_a_bad_type_changes_nothing(world, priced, booked, visit_type):
    if visit_type == "other_doctors":
        visit_type = VisitTypeFactory(department=None, doctor=world.other_doctor).pk

    response = world.client("desk").post(
        move_url(booked), {"slot": world.slot(VISIT_DAY, 11), "visit_type": visit_type}, "json"
    )

    assert response.status_code in (400, 422), response.content
    if response.status_code == 400:
        assert "visit_type" in response.json()["error"]["fields"]
    booked.refresh_from_db()
    assert booked.status == "booked"
    assert Charge.objects.get().total == Decimal("590.00")
