"""How long a webhook try may take, and how long webhooks may hold up the worker's round.

A try ends within try_seconds() (twice WEBHOOK_TIMEOUT_SECONDS, and less than the lease) whatever
the receiver does: a receiver that trickles its answer a byte at a time, each within the read
timeout, and a name server that does not answer are both cut off, so the lease never runs out
under a try (another worker would send the event again). A system check says when the lease is
too short for the timeout. The worker's round gives webhooks --interval seconds, then the
patients' notices have their turn.
"""

import datetime as dt
import socket
import threading
import time
from io import StringIO

import pytest
from django.core import checks
from django.core.management import call_command
from django.utils import timezone

from notifications import webhook_delivery
from notifications.models import Notification, WebhookDelivery
from notifications.tests.factories import (
    NotificationFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from notifications.tests.receiver import TRICKLE_SECONDS, Receiver

pytestmark = pytest.mark.django_db

State = WebhookDelivery.State
NOTHING = {"delivered": 0, "retrying": 0, "failed": 0}
TIMEOUT = 0.5


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = True  # the receiver is on 127.0.0.1, over http://
    settings.WEBHOOK_TIMEOUT_SECONDS = TIMEOUT
    settings.WEBHOOK_LEASE_SECONDS = 60
    return settings


@pytest.fixture
def receiver():
    with Receiver(secret="whsec_time-limit-test-secret") as receiver:
        yield receiver


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpointFactory(url=receiver.url, secret=receiver.secret)


def fresh(delivery):
    delivery.refresh_from_db()
    return delivery


# One try ------------------------------------------------------------------------------------------


def test_a_try_is_twice_the_timeout_and_always_shorter_than_the_lease(settings):
    assert webhook_delivery.try_seconds() == 2 * TIMEOUT

    settings.WEBHOOK_TIMEOUT_SECONDS = 10
    settings.WEBHOOK_LEASE_SECONDS = 12  # too short: the system check says so
    assert webhook_delivery.try_seconds() == 7  # the lease less its margin
    settings.WEBHOOK_LEASE_SECONDS = 3
    assert 0 < webhook_delivery.try_seconds() < 3


def test_a_receiver_trickling_its_answer_is_cut_off_when_the_try_runs_out(endpoint, receiver):
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    receiver.answer("trickle")  # a byte every 50 ms: no read ever waits TIMEOUT
    start = timezone.now()
    began = time.monotonic()

    assert webhook_delivery.deliver_due_webhooks(now=start) == {**NOTHING, "retrying": 1}

    took = time.monotonic() - began
    assert 2 * TIMEOUT <= took < 2 * TIMEOUT + 1 < TRICKLE_SECONDS
    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (State.PENDING, 1, None)
    assert delivery.last_error == "No answer within 1 s, the longest a try may take."
    assert delivery.locked_until is None  # recorded well within the lease
    assert delivery.next_attempt_at == start + dt.timedelta(minutes=1)  # the usual pause
    # The connection is cut, not left to trickle on in the background.
    assert receiver.cut.wait(5)


def test_a_name_that_takes_forever_to_resolve_is_given_up_on_and_nothing_is_posted_later(
    endpoint, settings, monkeypatch
):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = False
    endpoint.url = "https://slow-dns.example.org/in"
    endpoint.save()
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    answered = threading.Event()
    looked_up = []

    def getaddrinfo(host, port, *args, **kwargs):
        looked_up.append(host)
        answered.wait(10)  # the name server is slow: the answer comes when the test says
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    posted = []
    monkeypatch.setattr(
        webhook_delivery.Try, "session", lambda attempt: posted.append(attempt) or None
    )
    began = time.monotonic()

    assert webhook_delivery.deliver_due_webhooks() == {**NOTHING, "retrying": 1}

    assert time.monotonic() - began < 2 * TIMEOUT + 1
    assert fresh(delivery).last_error.startswith("No answer within")
    # The look-up answers at last, in the try's abandoned thread: it posts nothing.
    answered.set()
    time.sleep(0.2)
    assert looked_up == ["slow-dns.example.org"]
    assert posted == []


def test_a_try_that_answers_in_time_is_not_affected(endpoint, receiver):
    delivery = WebhookDeliveryFactory(endpoint=endpoint)

    assert webhook_delivery.deliver_due_webhooks() == {**NOTHING, "delivered": 1}
    assert fresh(delivery).last_status == 200
    assert not receiver.cut.is_set()


# The system check --------------------------------------------------------------------------------


def lease_errors():
    return [
        message
        for message in checks.run_checks()
        if message.id == "notifications.E002" and message.level >= checks.ERROR
    ]


@pytest.mark.parametrize(
    ("timeout", "lease", "refused"),
    [(10, 120, False), (10, 25, False), (10, 24.9, True), (30, 60, True), (0.5, 3, True)],
)
def test_the_system_check_wants_the_lease_to_outlast_two_timeouts_and_a_margin(
    settings, timeout, lease, refused
):
    settings.WEBHOOK_TIMEOUT_SECONDS = timeout
    settings.WEBHOOK_LEASE_SECONDS = lease

    errors = lease_errors()

    assert bool(errors) == refused
    if refused:
        assert "WEBHOOK_LEASE_SECONDS" in errors[0].msg
        assert f"at least {2 * timeout + 5:g}" in errors[0].hint


# The worker's round ------------------------------------------------------------------------------


def test_a_slow_receiver_gets_about_one_interval_of_the_round_and_the_notices_their_turn(
    endpoint, receiver, settings
):
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    backlog = WebhookDeliveryFactory.create_batch(10, endpoint=endpoint)
    receiver.answer(*["hang"] * 10)  # each try waits out its TIMEOUT: 5 s for them all
    notice = NotificationFactory()
    began = time.monotonic()

    call_command("send_notifications", "--interval", "1", stdout=StringIO())

    # One interval, and the try under way when it ran out.
    assert time.monotonic() - began < 1 + 2 * TIMEOUT + 0.5
    tried = [delivery for delivery in backlog if fresh(delivery).attempts]
    assert 1 <= len(tried) <= 4
    notice.refresh_from_db()
    assert notice.state == Notification.State.SENT

    # The rest wait for the next round, still due; the next round's notices go first again.
    later = NotificationFactory()
    call_command("send_notifications", "--interval", "1", stdout=StringIO())
    later.refresh_from_db()
    assert later.state == Notification.State.SENT
    due = WebhookDelivery.objects.filter(state=State.PENDING, next_attempt_at__lte=timezone.now())
    assert due.filter(attempts=0).exists()


def test_a_round_gives_webhooks_at_least_a_second_whatever_the_interval(endpoint, receiver):
    WebhookDeliveryFactory.create_batch(3, endpoint=endpoint)

    call_command("send_notifications", "--interval", "0", stdout=StringIO())

    assert WebhookDelivery.objects.filter(state=State.DELIVERED).count() == 3
