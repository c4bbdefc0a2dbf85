"""Appointments over the API, per role: list, book, details, cancel, move, the visit's day."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.slots import slot_id
from api.tests.clinic_day import (
    TODAY,
    VISIT_DAY,
    assert_error,
    frozen,  # noqa: F401  (fixtures)
    local,
    rules,  # noqa: F401
    world,  # noqa: F401
)
from billing.tests.factories import ChargeFactory, PaymentFactory
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, WorkingHoursFactory
from notifications.models import Notification

pytestmark = pytest.mark.django_db

LIST = "/api/v1/appointments/"


def url(name, appointment):
    return reverse(f"api:{name}", kwargs={"pk": appointment.pk})


def book(client, slot, **body):
    return client.post(LIST, {"slot": slot, **body}, format="json")


@pytest.fixture
def visit(world):
    """The patient's booked visit on Thursday at 10:00 with the doctor."""
    return AppointmentFactory(
        patient=world.patient,
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 10),
        created_by=world.patient.user,
    )


@pytest.fixture
def others(world):
    """The other patient's visit with the other doctor."""
    return AppointmentFactory(
        patient=world.other_patient,
        doctor=world.other_doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 11),
        created_by=world.other_patient.user,
    )


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


# Listing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, sees",
    [
        ("patient", {"visit"}),
        ("other_patient", {"others"}),
        ("doctor", {"visit"}),
        ("other_doctor", {"others"}),
        ("desk", {"visit", "others"}),
        ("admin", {"visit", "others"}),
        ("integration", {"visit", "others"}),
    ],
)
def test_each_role_lists_what_it_may_reach(world, visit, others, role, sees):
    named = {"visit": visit.pk, "others": others.pk}
    assert set(ids(world.client(role).get(LIST))) == {named[name] for name in sees}


def test_visitors_must_log_in_to_list(world):
    assert_error(world.client("anon").get(LIST), 401, "not_authenticated")


def test_an_inactive_doctor_sees_no_schedule(world, visit):
    world.doctor.is_active = False
    world.doctor.save()
    assert ids(world.client("doctor").get(LIST)) == []
    assert_error(world.client("doctor").get(url("appointment", visit)), 404, "not_found")


def test_staff_filter_by_status_doctor_clinic_patient_and_dates(world, visit, others):
    later = AppointmentFactory(
        patient=world.patient,
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY + dt.timedelta(days=1), 9),
        status=Status.CANCELLED,
    )
    client = world.client("desk")
    assert ids(client.get(LIST, {"status": "cancelled"})) == [later.pk]
    assert ids(client.get(LIST, {"doctor": world.doctor.pk})) == [visit.pk, later.pk]
    assert ids(client.get(LIST, {"patient": world.other_patient.pk})) == [others.pk]
    assert ids(client.get(LIST, {"clinic": world.clinic.pk})) == [visit.pk, others.pk, later.pk]
    assert ids(client.get(LIST, {"clinic": ClinicFactory().pk})) == []
    assert ids(client.get(LIST, {"from": VISIT_DAY, "to": VISIT_DAY})) == [visit.pk, others.pk]
    assert ids(client.get(LIST, {"from": VISIT_DAY + dt.timedelta(days=1)})) == [later.pk]
    assert ids(client.get(LIST, {"to": TODAY})) == []
    assert ids(client.get(LIST, {"doctor": world.doctor.pk, "status": "booked"})) == [visit.pk]


def test_dates_are_each_clinics_own(world):
    london = ClinicFactory(timezone="Europe/London")
    WorkingHoursFactory(
        doctor=world.doctor,
        clinic=london,
        weekday=VISIT_DAY.weekday(),
        starts_at=dt.time(14),
        ends_at=dt.time(17),
    )
    # 23:30 in London on Thursday is Friday 05:00 in Kolkata: a Thursday visit all the same.
    late = AppointmentFactory(
        patient=world.patient,
        doctor=world.doctor,
        clinic=london,
        start=dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.UTC),
    )
    client = world.client("admin")
    assert ids(client.get(LIST, {"from": VISIT_DAY, "to": VISIT_DAY})) == [late.pk]


def test_a_patients_filter_cannot_widen_their_reach(world, visit, others):
    response = world.client("patient").get(LIST, {"patient": world.other_patient.pk})
    assert ids(response) == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "lost"}, "status"),
        ({"doctor": "x"}, "doctor"),
        ({"clinic": "0"}, "clinic"),
        ({"patient": "99999999999999"}, "patient"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-12-05", "to": "2026-12-04"}, "to"),
    ],
)
def test_bad_filters_are_field_errors(world, params, field):
    error = assert_error(world.client("desk").get(LIST, params), 400, "invalid")
    assert field in error["fields"]


def test_the_list_is_paged(world):
    for hour in (9, 10, 11):
        AppointmentFactory(doctor=world.doctor, clinic=world.clinic, start=local(VISIT_DAY, hour))
    body = world.client("desk").get(LIST, {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]


@pytest.mark.parametrize("role", ["patient", "doctor", "desk"])
def test_the_list_costs_the_same_queries_for_one_or_many(world, role):
    def make(day, hour, **extra):
        return AppointmentFactory(
            patient=world.patient,
            doctor=world.doctor,
            clinic=world.clinic,
            start=local(VISIT_DAY + dt.timedelta(days=day), hour),
            **extra,
        )

    make(0, 9)
    client = world.client(role)
    client.get(LIST)  # the token's first use writes its last-used stamp; count the next ones

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST, {"from": TODAY}).status_code == 200
        return len(captured)

    few = queries()
    london = ClinicFactory(timezone="Europe/London")
    WorkingHoursFactory(
        doctor=world.doctor, clinic=london, starts_at=dt.time(14), ends_at=dt.time(17)
    )
    for day in range(1, 6):
        old = make(day, 9, status=Status.CANCELLED)
        make(day, 10, rescheduled_from=old)
    assert queries() == few


# Booking -----------------------------------------------------------------------------------------


def test_a_patient_books_a_slot_for_themselves(world):
    slot = world.slot(VISIT_DAY, 9, 15)
    response = book(world.client("patient"), slot, reason="Cough", appointment_type="follow_up")
    assert response.status_code == 201, response.content
    body = response.json()
    appointment = Appointment.objects.get(pk=body["id"])
    assert response["Location"] == url("appointment", appointment)
    assert appointment.patient == world.patient
    assert appointment.created_by == world.patient.user
    assert appointment.start == local(VISIT_DAY, 9, 15)
    assert (appointment.appointment_type, appointment.reason) == ("follow_up", "Cough")
    assert body["start"]["local"] == "2026-12-03T09:15:00+05:30"
    assert body["end"]["utc"] == "2026-12-03T04:00:00Z"
    assert body["status"] == "booked"
    # The service's outbox: booking over the API notifies as the pages do.
    assert Notification.objects.filter(appointment=appointment).exists()


def test_the_booked_slot_is_offered_no_more(world):
    slot = world.slot(VISIT_DAY, 9, 15)
    book(world.client("patient"), slot)
    offered = world.client("anon").get(
        "/api/v1/slots/",
        {"doctor": world.doctor.pk, "clinic": world.clinic.pk, "from": VISIT_DAY, "to": VISIT_DAY},
    )
    assert slot not in [s["id"] for s in offered.json()["results"]]


@pytest.mark.parametrize("role", ["desk", "admin", "integration"])
def test_staff_book_for_a_directory_patient(world, role):
    response = book(world.client(role), world.slot(VISIT_DAY, 9), patient=world.walk_in.pk)
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get(pk=response.json()["id"])
    assert appointment.patient == world.walk_in
    assert appointment.created_by == world.users[role]


@pytest.mark.parametrize("role, status", [("anon", 401), ("doctor", 403), ("other_doctor", 403)])
def test_doctors_and_visitors_do_not_book(world, role, status):
    assert book(world.client(role), world.slot(VISIT_DAY, 9)).status_code == status
    assert not Appointment.objects.exists()


def test_a_patient_cannot_book_for_someone_else(world):
    response = book(world.client("patient"), world.slot(VISIT_DAY, 9), patient=world.walk_in.pk)
    assert "patient" in assert_error(response, 400, "invalid")["fields"]
    assert not Appointment.objects.exists()


def test_a_patient_may_name_themselves(world):
    response = book(world.client("patient"), world.slot(VISIT_DAY, 9), patient=world.patient.pk)
    assert response.status_code == 201


def test_a_patient_login_without_a_directory_entry_cannot_book(world):
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory
    from api.tests.factories import client_for

    orphan = UserFactory(roles=[Role.PATIENT])
    assert_error(book(client_for(orphan), world.slot(VISIT_DAY, 9)), 403, "permission_denied")
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("patient", [None, 999999])
def test_staff_must_name_a_patient_of_the_directory(world, patient):
    body = {} if patient is None else {"patient": patient}
    response = book(world.client("desk"), world.slot(VISIT_DAY, 9), **body)
    assert "patient" in assert_error(response, 400, "invalid")["fields"]


def test_a_taken_slot_is_409_with_the_pages_words(world, visit):
    response = book(world.client("other_patient"), world.slot(VISIT_DAY, 10))
    error = assert_error(response, 409, "slot_taken")
    assert error["message"] == "Sorry, that time was just taken. Please choose another time."


@pytest.mark.parametrize(
    "when, code",
    [
        (local(TODAY, 9, 15), "in_the_past"),
        (local(TODAY, 10), "short_notice"),
        (local(TODAY + dt.timedelta(days=32), 10), "outside_window"),
        (local(VISIT_DAY, 10, 7), "not_a_slot"),
        (local(VISIT_DAY, 15), "not_a_slot"),
    ],
)
def test_the_services_refusals_keep_their_codes(world, when, code):
    response = book(world.client("patient"), slot_id(world.doctor, world.clinic, when))
    assert_error(response, 422, code)
    assert not Appointment.objects.exists()


def test_the_cap_on_open_appointments(world):
    for hour in (9, 10, 11, 12):
        AppointmentFactory(
            patient=world.patient,
            doctor=world.other_doctor,
            clinic=world.clinic,
            start=local(VISIT_DAY, hour),
        )
    assert_error(book(world.client("patient"), world.slot(VISIT_DAY, 9)), 422, "cap_reached")


def test_a_doctor_at_a_clinic_where_they_do_not_work(world):
    elsewhere = ClinicFactory()
    slot = slot_id(world.doctor, elsewhere, local(VISIT_DAY, 10))
    assert_error(book(world.client("desk"), slot, patient=world.walk_in.pk), 422, "wrong_clinic")


def test_an_inactive_doctor_takes_no_booking(world):
    world.doctor.is_active = False
    world.doctor.save()
    assert_error(book(world.client("patient"), world.slot(VISIT_DAY, 9)), 422, "doctor_inactive")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"slot": "999999:1:2026-12-03T04:00Z"}, "slot"),
        ({"slot": "1:999999:2026-12-03T04:00Z"}, "slot"),
        ({"slot": "2026-12-03T04:00Z"}, "slot"),
        ({"slot": "1:1:2026-13-45T25:61Z"}, "slot"),
        ({"slot": "1:1:9999-12-31T23:59Z"}, "slot"),
        ({"slot": ["x"]}, "slot"),
        ({"slot": "1:1:" + "x" * 100}, "slot"),
        ({"slot": None}, "slot"),
        ({}, "slot"),
        ({"appointment_type": "surgery"}, "appointment_type"),
        ({"payment_mode": "bitcoin"}, "payment_mode"),
        ({"payment_mode": "online"}, "payment_mode"),  # no payment provider set up
        ({"reason": "x" * 501}, "reason"),
        ({"patient": "-1"}, "patient"),
    ],
)
def test_bad_bookings_are_field_errors_and_book_nothing(world, body, field):
    full = {"slot": world.slot(VISIT_DAY, 9), **body}
    if not body:
        full.pop("slot")
    response = world.client("patient").post(LIST, full, format="json")
    assert field in assert_error(response, 400, "invalid")["fields"]
    assert not Appointment.objects.exists()


def test_online_payment_once_a_provider_is_set_up(world, settings):
    settings.PAYMENT_PROVIDER = "fake"
    response = book(world.client("patient"), world.slot(VISIT_DAY, 9), payment_mode="online")
    assert response.status_code == 201
    assert response.json()["payment_mode"] == "online"


def test_a_retried_booking_with_its_key_books_once(world):
    client = world.client("integration")
    headers = {"Idempotency-Key": "booking-1"}
    body = {"slot": world.slot(VISIT_DAY, 9), "patient": world.walk_in.pk}
    first = client.post(LIST, body, format="json", headers=headers)
    again = client.post(LIST, body, format="json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Appointment.objects.count() == 1


# Details -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [
        ("anon", 401),
        ("patient", 200),
        ("other_patient", 404),
        ("doctor", 200),
        ("other_doctor", 404),
        ("desk", 200),
        ("admin", 200),
        ("integration", 200),
    ],
)
def test_details_per_role(world, visit, role, status):
    response = world.client(role).get(url("appointment", visit))
    assert response.status_code == status
    if status == 200:
        assert response.json()["id"] == visit.pk


def test_details_carry_the_price_and_payments_but_not_for_doctors(world, visit):
    charge = ChargeFactory(appointment=visit)
    PaymentFactory(charge=charge, total=charge.total)
    body = world.client("patient").get(url("appointment", visit)).json()
    assert body["price"]["total"] == f"{charge.total:.2f}"
    assert body["price"]["currency"] == charge.currency
    assert body["price"]["due"] == "0.00"
    assert body["start"] == {
        "utc": "2026-12-03T04:30:00Z",
        "local": "2026-12-03T10:00:00+05:30",
        "time_zone": "Asia/Kolkata",
    }
    assert world.client("desk").get(url("appointment", visit)).json()["price"] is not None
    assert world.client("doctor").get(url("appointment", visit)).json()["price"] is None


def test_details_without_a_charge_have_no_price(world, visit):
    assert world.client("desk").get(url("appointment", visit)).json()["price"] is None


# Cancelling --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [
        ("anon", 401),
        ("patient", 200),
        ("other_patient", 404),
        ("doctor", 403),
        ("other_doctor", 403),
        ("desk", 200),
        ("admin", 200),
        ("integration", 200),
    ],
)
def test_cancel_per_role(world, visit, role, status):
    response = world.client(role).post(
        url("appointment_cancel", visit), {"reason": "Feeling better"}, format="json"
    )
    assert response.status_code == status
    visit.refresh_from_db()
    assert (visit.status == Status.CANCELLED) == (status == 200)
    if status == 200:
        assert response.json()["status"] == "cancelled"
        assert visit.cancellation_reason == "Feeling better"
        assert visit.cancelled_by == world.users[role]


def test_staff_must_say_why_a_patient_need_not(world, visit):
    error = assert_error(
        world.client("desk").post(url("appointment_cancel", visit), {}, format="json"),
        400,
        "invalid",
    )
    assert error["fields"]["reason"] == ["Say why the appointment is cancelled."]
    response = world.client("patient").post(url("appointment_cancel", visit), {}, format="json")
    assert response.status_code == 200


def test_a_patient_past_the_cutoff_is_refused_by_the_service(world, visit):
    with time_machine.travel(local(VISIT_DAY, 7), tick=False):
        response = world.client("patient").post(url("appointment_cancel", visit), format="json")
        error = assert_error(response, 422, "past_cutoff")
        assert "Please call the clinic" in error["message"]
        # The desk may still cancel it.
        desk = world.client("desk").post(
            url("appointment_cancel", visit), {"reason": "Called in"}, format="json"
        )
        assert desk.status_code == 200


def test_a_cancelled_appointment_cannot_be_cancelled_again(world, visit):
    client = world.client("patient")
    client.post(url("appointment_cancel", visit), format="json")
    assert_error(
        client.post(url("appointment_cancel", visit), format="json"), 409, "invalid_status"
    )


def test_a_too_long_reason_is_a_field_error(world, visit):
    response = world.client("patient").post(
        url("appointment_cancel", visit), {"reason": "x" * 201}, format="json"
    )
    assert "reason" in assert_error(response, 400, "invalid")["fields"]
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED


# Rescheduling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [
        ("anon", 401),
        ("patient", 201),
        ("other_patient", 404),
        ("doctor", 403),
        ("other_doctor", 403),
        ("desk", 201),
        ("admin", 201),
        ("integration", 201),
    ],
)
def test_reschedule_per_role(world, visit, role, status):
    response = world.client(role).post(
        url("appointment_reschedule", visit), {"slot": world.slot(VISIT_DAY, 11)}, format="json"
    )
    assert response.status_code == status
    visit.refresh_from_db()
    if status == 201:
        body = response.json()
        assert body["start"]["local"] == "2026-12-03T11:00:00+05:30"
        assert body["rescheduled_from"] == visit.pk
        assert visit.status == Status.CANCELLED
        assert visit.rescheduled_to.pk == body["id"]
        assert response["Location"] == reverse("api:appointment", kwargs={"pk": body["id"]})
    else:
        assert visit.status == Status.BOOKED
        assert Appointment.objects.count() == 1


def test_a_move_to_a_taken_time_changes_nothing(world, visit, others):
    slot = slot_id(world.doctor, world.clinic, local(VISIT_DAY, 11))
    AppointmentFactory(doctor=world.doctor, clinic=world.clinic, start=local(VISIT_DAY, 11))
    response = world.client("patient").post(
        url("appointment_reschedule", visit), {"slot": slot}, format="json"
    )
    assert_error(response, 409, "slot_taken")
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED


def test_a_move_to_its_own_time_is_refused(world, visit):
    response = world.client("desk").post(
        url("appointment_reschedule", visit), {"slot": world.slot(VISIT_DAY, 10)}, format="json"
    )
    assert_error(response, 422, "same_time")


@pytest.mark.parametrize("which", ["doctor", "clinic"])
def test_a_move_keeps_the_doctor_and_the_clinic(world, visit, which):
    doctor = world.other_doctor if which == "doctor" else world.doctor
    clinic = ClinicFactory() if which == "clinic" else world.clinic
    slot = slot_id(doctor, clinic, local(VISIT_DAY, 11))
    response = world.client("desk").post(
        url("appointment_reschedule", visit), {"slot": slot}, format="json"
    )
    assert "slot" in assert_error(response, 400, "invalid")["fields"]


@pytest.mark.parametrize("body", [{}, {"slot": "nonsense"}, {"slot": 5}])
def test_a_move_needs_a_slot(world, visit, body):
    response = world.client("patient").post(
        url("appointment_reschedule", visit), body, format="json"
    )
    assert "slot" in assert_error(response, 400, "invalid")["fields"]


def test_a_retried_move_with_its_key_moves_once(world, visit):
    client = world.client("desk")
    headers = {"Idempotency-Key": "move-1"}
    body = {"slot": world.slot(VISIT_DAY, 11)}
    first = client.post(url("appointment_reschedule", visit), body, format="json", headers=headers)
    again = client.post(url("appointment_reschedule", visit), body, format="json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Appointment.objects.count() == 2


# The visit's day ---------------------------------------------------------------------------------


@pytest.fixture
def todays(world):
    """The patient's visit today at 11:00."""
    return AppointmentFactory(
        patient=world.patient, doctor=world.doctor, clinic=world.clinic, start=local(TODAY, 11)
    )


@pytest.mark.parametrize(
    "role, status",
    [
        ("anon", 401),
        ("patient", 403),
        ("other_patient", 403),
        ("doctor", 200),
        ("other_doctor", 404),
        ("desk", 200),
        ("admin", 200),
        ("integration", 200),
    ],
)
def test_check_in_per_role(world, todays, role, status):
    response = world.client(role).post(url("appointment_check_in", todays), format="json")
    assert response.status_code == status
    todays.refresh_from_db()
    assert (todays.status == Status.CHECKED_IN) == (status == 200)
    if status == 200:
        assert response.json()["checked_in_at"] == "2026-12-01T04:00:00Z"


def test_check_in_only_on_the_visits_day(world, visit):
    response = world.client("desk").post(url("appointment_check_in", visit), format="json")
    assert_error(response, 422, "not_today")


def test_check_in_twice_is_invalid_status(world, todays):
    client = world.client("desk")
    client.post(url("appointment_check_in", todays), format="json")
    assert_error(
        client.post(url("appointment_check_in", todays), format="json"), 409, "invalid_status"
    )


@pytest.mark.parametrize(
    "role, status",
    [
        ("anon", 401),
        ("patient", 403),
        ("doctor", 200),
        ("other_doctor", 404),
        ("desk", 403),
        ("admin", 403),
        ("integration", 403),
    ],
)
def test_only_the_doctor_completes_their_visit(world, todays, role, status):
    todays.status = Status.CHECKED_IN
    todays.save()
    response = world.client(role).post(url("appointment_complete", todays), format="json")
    assert response.status_code == status
    todays.refresh_from_db()
    assert (todays.status == Status.COMPLETED) == (status == 200)


def test_completing_a_visit_not_checked_in_is_refused(world, todays):
    response = world.client("doctor").post(url("appointment_complete", todays), format="json")
    error = assert_error(response, 409, "invalid_status")
    assert "Check the patient in first" in error["message"]


@pytest.mark.parametrize(
    "role, status",
    [("patient", 403), ("doctor", 200), ("other_doctor", 404), ("desk", 403)],
)
def test_only_the_doctor_marks_a_no_show_after_the_start(world, role, status):
    missed = AppointmentFactory(
        patient=world.patient, doctor=world.doctor, clinic=world.clinic, start=local(TODAY, 9)
    )
    response = world.client(role).post(url("appointment_no_show", missed), format="json")
    assert response.status_code == status
    missed.refresh_from_db()
    assert (missed.status == Status.NO_SHOW) == (status == 200)


def test_a_no_show_before_the_start_is_too_early(world, todays):
    response = world.client("doctor").post(url("appointment_no_show", todays), format="json")
    assert_error(response, 422, "too_early")


def test_an_appointment_that_does_not_exist_is_404_for_every_action(world):
    for name in ("appointment", "appointment_cancel", "appointment_check_in"):
        path = reverse(f"api:{name}", kwargs={"pk": 999999})
        method = "get" if name == "appointment" else "post"
        assert_error(getattr(world.client("desk"), method)(path), 404, "not_found")
