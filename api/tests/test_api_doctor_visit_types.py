"""GET /api/v1/doctors/{id}/visit-types/: the choice the booking pages offer, for each role, with
each type's price as a booking of it would be charged."""

from decimal import Decimal

import pytest
from django.urls import reverse

from api.tests.clinic_day import (
    assert_error,
    frozen,  # noqa: F401  (fixtures)
    rules,  # noqa: F401
    world,  # noqa: F401
)
from bookings.visit_type_choice import offered_types
from doctors.tests.factories import DepartmentFactory, DoctorFactory, VisitTypeFactory

pytestmark = pytest.mark.django_db


def url(doctor_id):
    return reverse("api:doctor_visit_types", kwargs={"pk": doctor_id})


@pytest.fixture
def types(world):
    """The department's online check-up (the doctor's fee), the doctor's own priced
    procedure booked by the desk only, and types that must never be listed for this doctor."""
    department = world.doctor.department
    check_up = VisitTypeFactory(name="Check-up", department=department, minutes=15, position=1)
    procedure = VisitTypeFactory(
        name="Procedure",
        department=None,
        doctor=world.doctor,
        minutes=45,
        buffer_after_minutes=10,
        fee=Decimal("1000.00"),
        bookable_online=False,
        position=2,
    )
    VisitTypeFactory(name="Retired", department=department, is_active=False)
    VisitTypeFactory(name="Ravi's own", department=None, doctor=world.other_doctor)
    VisitTypeFactory(name="Elsewhere", department=DepartmentFactory())
    return check_up, procedure


@pytest.mark.parametrize(
    "role, listed",
    [
        ("anon", ["Check-up"]),
        ("patient", ["Check-up"]),
        ("doctor", ["Check-up"]),
        ("desk", ["Check-up", "Procedure"]),
        ("admin", ["Check-up", "Procedure"]),
        ("integration", ["Check-up", "Procedure"]),
    ],
)
def test_each_role_gets_the_choice_the_pages_offer_it(world, types, role, listed):
    response = world.client(role).get(url(world.doctor.pk))

    assert response.status_code == 200, response.content
    assert [row["name"] for row in response.json()] == listed
    # The pages' own choice, not a second copy of it.
    online_only = role in ("anon", "patient", "doctor")
    assert [row["id"] for row in response.json()] == [
        visit_type.pk for visit_type in offered_types(world.doctor, online_only=online_only)
    ]


def test_each_type_comes_with_its_length_buffers_and_exact_price(world, types):
    check_up, procedure = types
    rows = {row["id"]: row for row in world.client("desk").get(url(world.doctor.pk)).json()}

    assert rows[procedure.pk] == {
        "id": procedure.pk,
        "name": "Procedure",
        "minutes": 45,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 10,
        "mode": "in_person",
        "bookable_online": False,
        "patients_may_book_series": False,
        "price": {"currency": "INR", "fee": "1000.00", "gst": "180.00", "total": "1180.00"},
    }
    # Without a fee of its own the type costs the doctor's fee (500.00 in this clinic).
    assert rows[check_up.pk]["price"] == {
        "currency": "INR",
        "fee": "500.00",
        "gst": "90.00",
        "total": "590.00",
    }


def test_a_doctor_without_types_has_an_empty_list(world):
    response = world.client("patient").get(url(world.doctor.pk))
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("which", ["unknown", "inactive"])
def test_an_unknown_or_inactive_doctor_is_not_found(world, types, which):
    doctor_id = 2**31 - 1
    if which == "inactive":
        doctor_id = DoctorFactory(is_active=False, department=world.doctor.department).pk
    assert_error(world.client("patient").get(url(doctor_id)), 404, "not_found")


def test_a_bad_id_is_no_route(world):
    assert world.client("anon").get("/api/v1/doctors/abc/visit-types/").status_code == 404


def test_the_list_costs_the_same_queries_however_many_types(
    world, types, django_assert_max_num_queries
):
    for number in range(10):
        VisitTypeFactory(name=f"Extra {number}", department=world.doctor.department)
    with django_assert_max_num_queries(3):
        response = world.client("anon").get(url(world.doctor.pk))
    assert len(response.json()) == 11
