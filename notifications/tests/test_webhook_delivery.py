"""Delivering webhooks to a real HTTP receiver (notifications/tests/receiver.py): signed POSTs,
retries with growing pauses for a receiver that fails, hangs and then recovers (the same event id
and the same bytes every time), failure after the last try, sending again, leases.

deliver_due_webhooks() runs at chosen instants (`now`); the HTTP is real, on 127.0.0.1.
"""

import datetime as dt
import json
import logging
import socket
import time
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from bookings.tests.factories import AppointmentFactory
from notifications import webhook_delivery, webhooks
from notifications.models import WebhookDelivery, WebhookEvent
from notifications.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from notifications.tests.receiver import Receiver

pytestmark = pytest.mark.django_db

State = WebhookDelivery.State
MINUTE = dt.timedelta(minutes=1)
PATIENT_NAME = "Meera Iyer"
REASON = "Recurring migraine"
NOTHING = {"delivered": 0, "retrying": 0, "failed": 0}


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = True  # the receiver is on 127.0.0.1, over http://
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_LEASE_SECONDS = 60
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    return settings


@pytest.fixture
def receiver():
    with Receiver(secret="whsec_receiver-test-secret") as receiver:
        yield receiver


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpointFactory(url=receiver.url, secret=receiver.secret)


@pytest.fixture
def booked(endpoint):
    """The delivery of a real appointment.booked event (a patient's name and reason inside)."""
    appointment = AppointmentFactory(patient__full_name=PATIENT_NAME, reason=REASON)
    [delivery] = webhooks.queue_event(
        WebhookEvent.APPOINTMENT_BOOKED, appointment, now=timezone.now()
    )
    return delivery


def fresh(delivery):
    delivery.refresh_from_db()
    return delivery


def deliver(now, **kwargs):
    return webhook_delivery.deliver_due_webhooks(now=now, **kwargs)


def test_a_due_delivery_is_posted_signed_and_marked_delivered(booked, receiver):
    before = time.time()

    assert deliver(None) == {**NOTHING, "delivered": 1}

    [request] = receiver.received
    assert request.signed
    assert request.event_id == str(booked.event_id)
    assert request.event_type == "appointment.booked"
    assert request.attempt == "1"
    assert request.content_type == "application/json"
    assert request.body == booked.body.encode()  # the bytes written with the booking
    assert json.loads(request.body)["data"]["patient"]["full_name"] == PATIENT_NAME
    assert before - 1 <= request.timestamp <= time.time() + 1
    delivery = fresh(booked)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (State.DELIVERED, 1, 200)
    assert delivery.delivered_at is not None
    assert (delivery.locked_until, delivery.last_error) == (None, "")
    assert deliver(None) == NOTHING  # delivered once, not again
    assert len(receiver.received) == 1


def test_a_receiver_that_fails_then_hangs_then_recovers_gets_the_same_event_later(
    booked, receiver, caplog
):
    receiver.answer(500, "hang")
    start = timezone.now()

    assert deliver(start) == {**NOTHING, "retrying": 1}
    delivery = fresh(booked)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (State.PENDING, 1, 500)
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at == start + MINUTE  # retry_pause(1)
    assert delivery.locked_until is None

    assert deliver(start + 30 * dt.timedelta(seconds=1)) == NOTHING  # not due yet
    assert len(receiver.received) == 1

    hung_at = start + MINUTE
    began = time.monotonic()
    assert deliver(hung_at) == {**NOTHING, "retrying": 1}
    assert time.monotonic() - began < 5  # gave up after the timeout, not when the receiver did
    delivery = fresh(booked)
    assert (delivery.attempts, delivery.last_status) == (2, None)
    assert delivery.last_error == "ReadTimeout"
    assert delivery.next_attempt_at == hung_at + 5 * MINUTE  # retry_pause(2)

    recovered_at = hung_at + 5 * MINUTE
    assert deliver(recovered_at) == {**NOTHING, "delivered": 1}
    delivery = fresh(booked)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (State.DELIVERED, 3, 200)
    assert delivery.delivered_at == recovered_at

    # Three tries of one event: the same id and the same bytes, each signed at its own moment.
    assert receiver.event_ids() == [str(booked.event_id)] * 3
    assert {request.body for request in receiver.received} == {booked.body.encode()}
    assert all(request.signed for request in receiver.received)
    assert [request.attempt for request in receiver.received] == ["1", "2", "3"]
    assert [request.timestamp for request in receiver.received] == [
        int(moment.timestamp()) for moment in (start, hung_at, recovered_at)
    ]
    assert len(set(receiver.event_ids())) == 1  # a receiver dropping repeats by id keeps one
    # Neither the log nor the error names the patient or what the visit is about.
    assert "Webhook delivery" in caplog.text
    for secret in (PATIENT_NAME, REASON):
        assert secret not in caplog.text
        assert secret not in delivery.last_error


def test_after_the_last_try_a_delivery_is_failed_and_the_admins_send_again_sends_it(
    booked, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.answer(500, 503)
    start = timezone.now()

    assert deliver(start) == {**NOTHING, "retrying": 1}
    assert deliver(start + MINUTE) == {**NOTHING, "failed": 1}
    delivery = fresh(booked)
    assert (delivery.state, delivery.attempts, delivery.last_error) == (
        State.FAILED,
        2,
        "HTTP 503",
    )
    assert deliver(start + dt.timedelta(days=30)) == NOTHING  # failed stays failed

    assert webhook_delivery.resend(WebhookDelivery.objects.all()) == 1
    assert deliver(None) == {**NOTHING, "delivered": 1}
    assert fresh(booked).state == State.DELIVERED
    assert receiver.event_ids() == [str(booked.event_id)] * 3
    assert {request.body for request in receiver.received} == {booked.body.encode()}


def test_resending_leaves_a_delivery_still_waiting_alone(booked):
    assert webhook_delivery.resend(WebhookDelivery.objects.all()) == 0


@pytest.mark.parametrize("status", [201, 202, 204, 299])
def test_any_2xx_is_delivered(booked, receiver, status):
    receiver.answer(status)

    assert deliver(None) == {**NOTHING, "delivered": 1}
    assert fresh(booked).last_status == status


@pytest.mark.parametrize("status", [301, 302, 400, 404, 410, 429, 502])
def test_anything_else_is_tried_again_and_a_redirect_is_not_followed(booked, receiver, status):
    receiver.answer(status)

    assert deliver(None) == {**NOTHING, "retrying": 1}
    assert len(receiver.received) == 1
    assert fresh(booked).last_error == f"HTTP {status}"


def test_a_receiver_that_is_not_there_is_tried_again(endpoint):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint.url = f"http://127.0.0.1:{port}/hooks"
    endpoint.save()
    delivery = WebhookDeliveryFactory(endpoint=endpoint)

    assert deliver(None) == {**NOTHING, "retrying": 1}
    assert fresh(delivery).last_error == "ConnectionError"


def test_an_address_no_longer_allowed_is_not_posted(booked, receiver, settings):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = False  # e.g. DEBUG turned off since it was saved

    assert deliver(None) == {**NOTHING, "retrying": 1}
    assert receiver.received == []
    assert "not allowed any more" in fresh(booked).last_error


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "127.0.0.1",
        "169.254.169.254",
        "::1",
        # IPv6 forms that carry a local IPv4 address, which Python calls global: NAT64, 6to4
        # and IPv4-compatible.
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::7f00:1",
        "2002:a01:203::1",
        "::127.0.0.1",
    ],
)
def test_a_public_name_that_resolves_to_a_private_address_is_not_posted(
    booked, endpoint, settings, monkeypatch, address
):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = False
    endpoint.url = "https://hooks.example.org/in"
    endpoint.save()
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append((host, port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    posted = []
    monkeypatch.setattr(requests.Session, "post", lambda *a, **k: posted.append(a))

    assert deliver(None) == {**NOTHING, "retrying": 1}
    assert asked == [("hooks.example.org", 443)]
    assert posted == []
    assert "resolves to a private or local address" in fresh(booked).last_error


def test_a_public_name_that_resolves_to_a_public_address_is_posted(
    booked, endpoint, settings, monkeypatch
):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = False
    endpoint.url = "https://hooks.example.org/in"
    endpoint.save()
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))
        ],
    )

    class Answer:
        status_code = 204

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    posted = []
    monkeypatch.setattr(
        requests.Session, "post", lambda session, url, **k: posted.append(url) or Answer()
    )

    assert deliver(None) == {**NOTHING, "delivered": 1}
    assert posted == ["https://hooks.example.org/in"]


def test_an_inactive_endpoints_deliveries_wait_until_it_is_active_again(booked, endpoint, receiver):
    endpoint.active = False
    endpoint.save()
    assert deliver(None) == NOTHING

    endpoint.active = True
    endpoint.save()
    assert deliver(None) == {**NOTHING, "delivered": 1}
    assert receiver.event_ids() == [str(booked.event_id)]


def test_the_secret_and_url_of_the_endpoint_now_are_used(booked, endpoint, receiver):
    """A delivery queued before the admin fixed the URL or made a new secret goes with the new."""
    endpoint.secret = "whsec_rotated"
    endpoint.save()
    receiver.secret = "whsec_rotated"

    assert deliver(None) == {**NOTHING, "delivered": 1}
    assert receiver.received[0].signed


# Leases: a worker's claim, and what happens when the worker is gone ----------------------------


def test_a_claimed_delivery_is_not_taken_again_until_its_lease_runs_out(booked, settings):
    start = timezone.now()
    lease = dt.timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)

    first = webhook_delivery._claim_next(start)
    assert first.pk == booked.pk
    assert (first.attempts, first.locked_until, first.next_attempt_at) == (
        1,
        start + lease,
        start + lease,
    )
    assert webhook_delivery._claim_next(start + lease - dt.timedelta(seconds=1)) is None

    # The first worker never answered (killed): the lease ran out and another takes the row.
    second = webhook_delivery._claim_next(start + lease)
    assert (second.pk, second.attempts) == (booked.pk, 2)

    # The first worker's late answer is not written over the second's claim.
    assert webhook_delivery._record(first, at=start + lease, status=200) is None
    delivery = fresh(booked)
    assert (delivery.state, delivery.locked_until) == (State.PENDING, second.locked_until)
    assert webhook_delivery._record(second, at=start + lease, status=200) == "delivered"
    assert fresh(booked).state == State.DELIVERED


def test_a_batch_stops_when_asked(endpoint, receiver):
    WebhookDeliveryFactory.create_batch(3, endpoint=endpoint)
    asked = []

    def stop():
        asked.append(True)
        return len(asked) > 2

    assert deliver(None, stop=stop) == {**NOTHING, "delivered": 2}
    assert len(receiver.received) == 2


# The worker command ------------------------------------------------------------------------------


def test_send_notifications_delivers_the_due_webhooks_in_each_round(booked, receiver, caplog):
    caplog.set_level(logging.INFO)
    out = StringIO()

    call_command("send_notifications", stdout=out)

    assert out.getvalue().splitlines() == ["Webhooks: delivered 1, retrying 0, failed 0."]
    assert receiver.event_ids() == [str(booked.event_id)]
    assert fresh(booked).state == State.DELIVERED

    out = StringIO()
    call_command("send_notifications", stdout=out)
    assert out.getvalue().splitlines() == ["Nothing is due."]
