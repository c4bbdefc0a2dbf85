"""Webhook deliveries written with the changes they announce: one per event and endpoint, in the
service's transaction, with the body the API (JSON) or the FHIR interface (FHIR) would answer.

The changes go through the real services (bookings.services, billing.services) at fixed instants
around a Wednesday-morning appointment in Kolkata; each body is compared with what the API or
the FHIR interface answers for the same record right after.
"""

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.tests.factories import PatientFactory
from billing import services as billing
from bookings import services as bookings
from bookings import signals as booking_signals
from bookings.models import Appointment, AppointmentType, PaymentMode
from bookings.scheduling import at
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)
from notifications import webhook_payloads, webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from notifications.tests.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)
Event = WebhookEvent
APPOINTMENT_EVENTS = [event for event in Event if event.family == "appointment"]


def local(days, hour, minute=0):
    return at(MONDAY + dt.timedelta(days=days), dt.time(hour, minute), KOLKATA)


NOW = local(0, 8)  # Monday 08:00
WEDNESDAY_10 = local(2, 10)
ON_THE_DAY = local(2, 9, 50)
REASON = "Persistent cough"


@pytest.fixture(autouse=True)
def booking_rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(
        slot_minutes=15,
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
    return doctor


@pytest.fixture
def patient():
    return PatientFactory(with_account=True, full_name="Asha Menon")


@pytest.fixture
def book(patient, doctor, clinic, front_desk_user):
    def book(start=WEDNESDAY_10, **overrides):
        arguments = {
            "patient": patient,
            "doctor": doctor,
            "clinic": clinic,
            "start": start,
            "appointment_type": AppointmentType.CONSULTATION,
            "payment_mode": PaymentMode.AT_CLINIC,
            "reason": REASON,
            "by": front_desk_user,
            "now": NOW,
        }
        return bookings.book_appointment(**{**arguments, **overrides})

    return book


def endpoint_for(*events, format=WebhookEndpoint.Format.JSON, **fields):
    return WebhookEndpointFactory(events=[str(e) for e in events], format=format, **fields)


def deliveries(event=None):
    rows = WebhookDelivery.objects.order_by("pk")
    return list(rows.filter(event_type=event) if event else rows)


def the_delivery(event):
    [delivery] = deliveries(event)
    return delivery


def body(delivery):
    return json.loads(delivery.body)


def client_for(user):
    """An API client with a token of `user`'s (made here: notifications' tests, like its code,
    import nothing of the API above it)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


def api_appointment(user, appointment):
    response = client_for(user).get(f"/api/v1/appointments/{appointment.pk}/")
    assert response.status_code == 200
    answer = response.json()
    del answer["price"]  # the detail page's money: payments are events of their own
    return answer


def api_receipt(user, entry):
    response = client_for(user).get(f"/api/v1/payments/{entry.pk}/")
    assert response.status_code == 200
    return response.json()


def fhir_appointment(user, appointment):
    response = client_for(user).get(f"/fhir/R4/Appointment/{appointment.pk}")
    assert response.status_code == 200
    return response.json()


def assert_json_event(delivery, event, data, occurred_at):
    assert delivery.content_type == "application/json"
    assert body(delivery) == {
        "id": str(delivery.event_id),
        "type": event,
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (
        WebhookDelivery.State.PENDING,
        0,
        occurred_at,
    )


# Each appointment event, as JSON ----------------------------------------------------------------


def test_a_booking_queues_appointment_booked_with_the_appointment_as_the_api_shows_it(
    book, front_desk_user
):
    endpoint = endpoint_for(*Event.values[:-1])

    appointment = book()

    delivery = the_delivery(Event.APPOINTMENT_BOOKED)
    assert delivery.endpoint == endpoint
    expected = api_appointment(front_desk_user, appointment)
    assert_json_event(delivery, Event.APPOINTMENT_BOOKED, expected, NOW)
    assert body(delivery)["data"]["reason"] == REASON
    assert body(delivery)["data"]["status"] == "booked"
    assert len(deliveries()) == 1


def test_a_cancellation_queues_appointment_cancelled(book, front_desk_user):
    appointment = book()
    endpoint_for(Event.APPOINTMENT_CANCELLED)

    bookings.cancel_appointment(
        appointment=appointment, by=front_desk_user, reason="Travelling", now=NOW
    )

    delivery = the_delivery(Event.APPOINTMENT_CANCELLED)
    expected = api_appointment(front_desk_user, appointment)
    assert_json_event(delivery, Event.APPOINTMENT_CANCELLED, expected, NOW)
    assert body(delivery)["data"]["status"] == "cancelled"
    assert body(delivery)["data"]["cancellation_reason"] == "Travelling"


def test_a_reschedule_queues_appointment_rescheduled_with_the_new_appointment(
    book, front_desk_user
):
    old = book()
    endpoint_for(*Event.values[:-1])

    new = bookings.reschedule_appointment(
        appointment=old, start=local(2, 11), by=front_desk_user, now=NOW
    )

    # One event for the move (not a cancellation and a booking besides).
    assert [d.event_type for d in deliveries()] == [Event.APPOINTMENT_RESCHEDULED]
    delivery = the_delivery(Event.APPOINTMENT_RESCHEDULED)
    expected = api_appointment(front_desk_user, new)
    assert_json_event(delivery, Event.APPOINTMENT_RESCHEDULED, expected, NOW)
    assert body(delivery)["data"]["rescheduled_from"] == old.pk


@pytest.mark.parametrize(
    ("steps", "event", "status"),
    [
        (["check_in"], Event.APPOINTMENT_CHECKED_IN, "checked_in"),
        (["check_in", "complete"], Event.APPOINTMENT_COMPLETED, "completed"),
        (["no_show"], Event.APPOINTMENT_NO_SHOW, "no_show"),
    ],
)
def test_the_visits_day_queues_its_own_event_for_each_step(
    book, front_desk_user, steps, event, status
):
    appointment = book()
    endpoint_for(event)
    services = {
        "check_in": (bookings.check_in_appointment, ON_THE_DAY),
        "complete": (bookings.complete_appointment, local(2, 10, 20)),
        "no_show": (bookings.mark_no_show, local(2, 10, 30)),
    }

    for step in steps:
        service, when = services[step]
        service(appointment=appointment, by=front_desk_user, now=when)

    delivery = the_delivery(event)
    assert_json_event(delivery, event, api_appointment(front_desk_user, appointment), when)
    assert body(delivery)["data"]["status"] == status
    assert len(deliveries()) == 1  # the endpoint asked for this step only


# Payment events, as JSON ------------------------------------------------------------------------


def test_a_payment_and_its_refund_queue_events_with_the_receipts_as_the_api_shows_them(
    book, front_desk_user, clinic_admin_user
):
    appointment = book()
    endpoint_for(Event.PAYMENT_RECORDED, Event.PAYMENT_REFUNDED)
    paid_at, refunded_at = local(2, 10, 20), local(2, 11)

    payment = billing.record_payment(
        charge=appointment.charge, amount="590.00", mode="cash", by=front_desk_user, now=paid_at
    )
    recorded = the_delivery(Event.PAYMENT_RECORDED)
    assert_json_event(
        recorded, Event.PAYMENT_RECORDED, api_receipt(front_desk_user, payment), paid_at
    )
    assert body(recorded)["data"]["total"] == "590.00"
    assert body(recorded)["data"]["status"] == "paid"

    refund = billing.refund_payment(
        payment=payment,
        amount="100.00",
        reason="Test not needed",
        by=clinic_admin_user,
        now=refunded_at,
    )
    refunded = the_delivery(Event.PAYMENT_REFUNDED)
    assert_json_event(
        refunded, Event.PAYMENT_REFUNDED, api_receipt(front_desk_user, refund), refunded_at
    )
    assert body(refunded)["data"]["kind"] == "refund"
    assert body(refunded)["data"]["refund_of"] == payment.pk
    # The payment's event keeps the bytes it was written with: it said "paid" then.
    recorded.refresh_from_db()
    assert body(recorded)["data"]["status"] == "paid"


# The FHIR format ---------------------------------------------------------------------------------


def test_a_fhir_endpoint_gets_the_appointment_resource_as_the_fhir_interface_serves_it(
    book, front_desk_user
):
    endpoint_for(*APPOINTMENT_EVENTS, format=WebhookEndpoint.Format.FHIR)

    appointment = book()
    bookings.check_in_appointment(appointment=appointment, by=front_desk_user, now=ON_THE_DAY)

    booked, arrived = (
        the_delivery(Event.APPOINTMENT_BOOKED),
        the_delivery(Event.APPOINTMENT_CHECKED_IN),
    )
    for delivery in (booked, arrived):
        assert delivery.content_type == "application/fhir+json"
        assert body(delivery)["resourceType"] == "Appointment"
        assert body(delivery)["id"] == str(appointment.pk)
    assert body(booked)["status"] == "booked"
    assert body(arrived) == fhir_appointment(front_desk_user, appointment)
    assert body(arrived)["status"] == "arrived"


def test_a_fhir_body_is_a_valid_r4b_appointment():
    endpoint_for(Event.APPOINTMENT_BOOKED, format=WebhookEndpoint.Format.FHIR)
    appointment = AppointmentFactory(reason=REASON)

    webhooks.queue_event(Event.APPOINTMENT_BOOKED, appointment, now=NOW)

    resource = FhirAppointment.model_validate_json(the_delivery(Event.APPOINTMENT_BOOKED).body)
    assert resource.id == str(appointment.pk)
    assert resource.reasonCode[0].text == REASON


def test_one_event_to_a_json_and_a_fhir_endpoint_has_one_id_and_a_body_for_each(book):
    json_endpoint = endpoint_for(Event.APPOINTMENT_BOOKED)
    fhir_endpoint = endpoint_for(Event.APPOINTMENT_BOOKED, format=WebhookEndpoint.Format.FHIR)

    appointment = book()

    by_endpoint = {d.endpoint: d for d in deliveries()}
    assert set(by_endpoint) == {json_endpoint, fhir_endpoint}
    assert by_endpoint[json_endpoint].event_id == by_endpoint[fhir_endpoint].event_id
    assert body(by_endpoint[json_endpoint])["data"]["id"] == appointment.pk
    assert body(by_endpoint[fhir_endpoint])["id"] == str(appointment.pk)


# Who gets what -----------------------------------------------------------------------------------


def test_only_active_endpoints_that_asked_for_the_event_get_it(book):
    wants = endpoint_for(Event.APPOINTMENT_BOOKED)
    endpoint_for(Event.APPOINTMENT_CANCELLED)
    endpoint_for(Event.APPOINTMENT_BOOKED, active=False)

    book()

    assert [d.endpoint for d in deliveries()] == [wants]


def test_each_event_gets_its_own_id():
    endpoint_for(Event.APPOINTMENT_BOOKED)
    first, second = AppointmentFactory(), AppointmentFactory()

    webhooks.queue_event(Event.APPOINTMENT_BOOKED, first, now=NOW)
    webhooks.queue_event(Event.APPOINTMENT_BOOKED, second, now=NOW)

    ids = [d.event_id for d in deliveries()]
    assert len(set(ids)) == 2
    assert all(isinstance(i, uuid.UUID) for i in ids)


# In the transaction of the change ----------------------------------------------------------------


def test_a_change_that_rolls_back_leaves_no_delivery(book):
    endpoint_for(*Event.values[:-1])
    seen_inside = []

    class Undone(Exception):
        pass

    def fails_after_the_webhook_was_queued(sender, appointment, **kwargs):
        seen_inside.append(len(deliveries()))
        raise Undone

    # Connected after notifications' receiver, so it runs after it, in the same transaction.
    booking_signals.appointment_booked.connect(fails_after_the_webhook_was_queued)
    try:
        with pytest.raises(Undone):
            book()
    finally:
        booking_signals.appointment_booked.disconnect(fails_after_the_webhook_was_queued)

    assert seen_inside == [1]  # written inside the booking's transaction...
    assert deliveries() == []  # ...and gone with it
    assert not Appointment.objects.exists()


def test_a_refused_booking_leaves_no_delivery(book, patient):
    endpoint_for(Event.APPOINTMENT_BOOKED)
    book()

    with pytest.raises(bookings.SlotUnavailable):
        book(patient=PatientFactory())

    assert len(deliveries()) == 1  # the first booking's only


def test_a_refused_payment_leaves_no_delivery(book, front_desk_user):
    appointment = book()
    endpoint_for(Event.PAYMENT_RECORDED)

    with pytest.raises(billing.BillingError):
        billing.record_payment(
            charge=appointment.charge, amount="9999.00", mode="cash", by=front_desk_user
        )

    assert deliveries() == []


# What it costs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoints", ["none", "none that want it", "inactive"])
def test_an_event_nobody_wants_costs_one_query(endpoints):
    if endpoints == "none that want it":
        endpoint_for(Event.PAYMENT_RECORDED)
    elif endpoints == "inactive":
        endpoint_for(Event.APPOINTMENT_BOOKED, active=False)
    appointment = AppointmentFactory()

    with CaptureQueriesContext(connection) as captured:
        webhooks.queue_event(Event.APPOINTMENT_BOOKED, appointment, now=NOW)

    assert len(captured) == 1
    assert "notifications_webhookendpoint" in captured[0]["sql"]
    assert deliveries() == []


# A format nobody registered ---------------------------------------------------------------------


def test_every_format_has_its_builder_registered_and_the_check_says_when_one_is_missing(
    monkeypatch,
):
    assert webhook_payloads.every_format_has_its_builders(None) == []

    monkeypatch.delitem(webhook_payloads._builders, ("fhir", "appointment"))

    [error] = webhook_payloads.every_format_has_its_builders(None)
    assert error.id == "notifications.E001"
    assert "appointment events in the fhir format" in error.msg


def test_a_missing_builder_costs_that_endpoint_the_event_not_the_booking(book, monkeypatch, caplog):
    json_endpoint = endpoint_for(Event.APPOINTMENT_BOOKED)
    fhir_endpoint = endpoint_for(Event.APPOINTMENT_BOOKED, format=WebhookEndpoint.Format.FHIR)
    monkeypatch.delitem(webhook_payloads._builders, ("fhir", "appointment"))

    appointment = book()

    assert Appointment.objects.filter(pk=appointment.pk).exists()
    assert [d.endpoint for d in deliveries()] == [json_endpoint]
    assert f"Webhook endpoint {fhir_endpoint.pk}: no fhir payload" in caplog.text
