"""Choosing a visit type on the patient's and the front desk's booking pages: what each role is
offered, the times for the chosen type, the confirm step's length and price, bad input."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.tests.factories import PatientFactory
from accounts.tests.pages import page_text
from billing.models import Charge
from bookings.forms import slot_token
from bookings.models import Appointment
from bookings.tests.factories import AppointmentFactory
from bookings.tests.test_views import (  # noqa: F401  (fixtures)
    TOMORROW,
    clinic,
    doctor,
    frozen_now,
    local,
    patient,
    patient_client,
)
from doctors.tests.factories import DepartmentFactory, DoctorFactory, VisitTypeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def types(doctor):
    """A department's 20-minute first visit (the default), a doctor's own 45-minute procedure
    with a buffer after, and a desk-only 30-minute review."""
    return {
        "first": VisitTypeFactory(
            name="First consultation",
            department=doctor.department,
            minutes=20,
            position=1,
            fee=Decimal("800.00"),
        ),
        "procedure": VisitTypeFactory(
            name="Procedure",
            department=None,
            doctor=doctor,
            minutes=45,
            buffer_after_minutes=10,
            position=2,
            fee=Decimal("2000.00"),
        ),
        "desk_only": VisitTypeFactory(
            name="Review", department=doctor.department, minutes=30, bookable_online=False
        ),
    }


def with_type(url, visit_type=None, **query):
    if visit_type is not None:
        query["type"] = visit_type if isinstance(visit_type, str) else visit_type.pk
    return f"{url}?{urlencode(query)}" if query else url


def patient_url(name, doctor, clinic, **kwargs):
    return reverse(
        f"bookings:{name}", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, **kwargs}
    )


def desk_url(name, doctor, clinic, **kwargs):
    return reverse(
        f"desk:{name}", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, **kwargs}
    )


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def offered_times(response):
    return [
        slot.start.astimezone(local(TOMORROW, 0).tzinfo).strftime("%H:%M")
        for slot, _ in response.context["times"]
    ]


def booking_data(start):
    return {
        "start": slot_token(start),
        "appointment_type": "consultation",
        "payment_mode": "at_clinic",
        "reason": "",
    }


# Patients and visitors -------------------------------------------------------------------------


@pytest.mark.parametrize("visitor", ["anonymous", "patient"])
def test_visitors_and_patients_choose_among_the_online_types_the_first_by_default(
    client, patient_user, doctor, clinic, types, visitor
):
    if visitor == "patient":
        client.force_login(patient_user)

    response = client.get(patient_url("calendar", doctor, clinic))

    assert response.status_code == 200
    assert response.context["visit_types"] == [types["first"], types["procedure"]]
    assert response.context["visit_type"] == types["first"]
    text = page_text(response)
    assert "Procedure, 45 min" in text and "Review" not in text
    # The days' links carry the chosen type.
    assert f"?type={types['first'].pk}" in response.content.decode()


def test_the_day_page_offers_the_chosen_types_times_and_links_them_with_it(
    client, doctor, clinic, types
):
    response = client.get(
        with_type(patient_url("day", doctor, clinic, day=TOMORROW), types["procedure"])
    )

    times = offered_times(response)
    # 45 minutes and 10 after must fit 09:00-13:00 and 14:00-17:00, on the 15-minute grid.
    assert times[0] == "09:00" and "12:00" in times and "12:15" not in times
    assert "14:00" in times and "16:00" in times and "16:15" not in times
    assert all(f"type={types['procedure'].pk}" in url for _, url in response.context["times"])


def test_the_confirm_page_shows_the_types_length_and_price_and_books_it(
    patient_client, patient, doctor, clinic, types
):
    url = with_type(
        patient_url("confirm", doctor, clinic),
        types["procedure"],
        start=slot_token(local(TOMORROW, 10)),
    )

    page = patient_client.get(url)

    text = page_text(page)
    assert "Procedure, 45 minutes" in text
    assert "10:00–10:45" in text
    assert "INR 2,000.00" in text  # grouped as rupees are written
    response = patient_client.post(
        with_type(patient_url("confirm", doctor, clinic), types["procedure"]),
        booking_data(local(TOMORROW, 10)),
    )
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert (appointment.visit_type, appointment.end) == (
        types["procedure"],
        local(TOMORROW, 10, 45),
    )
    assert Charge.objects.get(appointment=appointment).fee == Decimal("2000.00")


@pytest.mark.parametrize("bad", ["desk_only", "other_doctors", "inactive", "garbage"])
def test_a_patient_cannot_book_a_type_not_offered_to_them(
    patient_client, doctor, clinic, types, bad
):
    chosen = {
        "desk_only": lambda: types["desk_only"],
        "other_doctors": lambda: VisitTypeFactory(department=None, doctor=DoctorFactory()),
        "inactive": lambda: VisitTypeFactory(department=doctor.department, is_active=False),
        "garbage": lambda: "12abc",
    }[bad]()
    confirm = with_type(patient_url("confirm", doctor, clinic), chosen)

    response = patient_client.post(confirm, booking_data(local(TOMORROW, 10)))

    assert response.status_code == 302
    assert response.url == with_type(patient_url("calendar", doctor, clinic), types["first"])
    assert any("cannot be booked here" in message for message in flashed(response))
    assert not Appointment.objects.exists()
    # The calendar shows the default's times instead, with the same message, no error page.
    page = patient_client.get(with_type(patient_url("calendar", doctor, clinic), chosen))
    assert page.status_code == 200
    assert page.context["visit_type"] == types["first"]


def test_a_doctor_without_types_is_booked_as_before(patient_client, clinic, doctor):
    response = patient_client.get(patient_url("calendar", doctor, clinic))

    assert response.context["visit_types"] == []
    assert 'id="visit-type-choice"' not in response.content.decode()
    patient_client.post(patient_url("confirm", doctor, clinic), booking_data(local(TOMORROW, 10)))
    appointment = Appointment.objects.get()
    assert (appointment.visit_type, appointment.end) == (None, local(TOMORROW, 10, 15))


def test_the_calendars_queries_do_not_grow_with_the_number_of_types(
    client, doctor, clinic, types, django_assert_num_queries
):
    url = patient_url("calendar", doctor, clinic)
    client.get(url)
    with django_assert_num_queries(7) as few:
        client.get(url)
    for n in range(6):
        VisitTypeFactory(department=doctor.department, minutes=10 + 5 * n)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["visit_types"]) == 8


# The front desk --------------------------------------------------------------------------------


@pytest.fixture
def desk_client(client, front_desk_user):
    client.force_login(front_desk_user)
    return client


def test_the_desk_is_offered_every_active_type_and_books_a_desk_only_one(
    desk_client, doctor, clinic, types
):
    walk_in = PatientFactory()
    calendar = desk_client.get(
        desk_url(
            "calendar",
            doctor,
            clinic,
        )
        + f"?patient={walk_in.pk}"
    )
    assert calendar.context["visit_types"] == [
        types["desk_only"],
        types["first"],
        types["procedure"],
    ]
    assert "(desk only)" in page_text(calendar)

    confirm = with_type(
        desk_url("confirm", doctor, clinic),
        types["desk_only"],
        start=slot_token(local(TOMORROW, 11)),
        patient=walk_in.pk,
    )
    page = desk_client.get(confirm)
    assert "Review, 30 minutes" in page_text(page)
    response = desk_client.post(
        confirm, {**booking_data(local(TOMORROW, 11)), "action": "book", "patient": walk_in.pk}
    )

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert (appointment.visit_type, appointment.end) == (
        types["desk_only"],
        local(TOMORROW, 11, 30),
    )


def test_the_desk_cannot_book_another_departments_type(desk_client, doctor, clinic, types):
    walk_in = PatientFactory()
    foreign = VisitTypeFactory(department=DepartmentFactory())
    confirm = with_type(
        desk_url("confirm", doctor, clinic),
        foreign,
        start=slot_token(local(TOMORROW, 11)),
        patient=walk_in.pk,
    )

    response = desk_client.post(
        confirm, {**booking_data(local(TOMORROW, 11)), "action": "book", "patient": walk_in.pk}
    )

    assert response.status_code == 302
    assert any("cannot be booked here" in message for message in flashed(response))
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("role", ["patient_user", "doctor_user", "anonymous"])
def test_the_desks_typed_calendar_is_for_the_desk_and_clinic_admins_only(
    client, request, doctor, clinic, types, role, clinic_admin_user
):
    url = with_type(desk_url("calendar", doctor, clinic), types["desk_only"])
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))

    response = client.get(url)

    assert response.status_code in (302, 404)
    client.force_login(clinic_admin_user)
    assert client.get(url).context["visit_type"] == types["desk_only"]


# Moving a typed visit ----------------------------------------------------------------------------


def test_moving_a_typed_visit_offers_and_takes_times_for_its_type(
    patient_client, patient, doctor, clinic, types
):
    visit = AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=local(TOMORROW, 9),
        end=local(TOMORROW, 9, 45),
        visit_type=types["procedure"],
    )

    day = patient_client.get(
        reverse("bookings:reschedule_day", kwargs={"pk": visit.pk, "day": TOMORROW})
    )
    times = offered_times(day)
    # 45 minutes and 10 after: the morning's last start is 12:00, the afternoon's 16:00.
    assert "12:00" in times and "12:15" not in times and "16:15" not in times
    confirm = reverse("bookings:reschedule_confirm", kwargs={"pk": visit.pk})
    page = patient_client.get(confirm, {"start": slot_token(local(TOMORROW, 12))})
    assert "12:00–12:45" in page_text(page)

    patient_client.post(confirm, {"start": slot_token(local(TOMORROW, 12))})

    moved = Appointment.objects.get(rescheduled_from=visit)
    assert (moved.visit_type, moved.end) == (types["procedure"], local(TOMORROW, 12, 45))
