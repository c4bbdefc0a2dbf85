"""Webhook workers on PostgreSQL against a real HTTP receiver: a worker killed in the middle of a
delivery loses nothing, and workers running at once send each delivery once.

A worker claims a row in a short transaction (FOR UPDATE SKIP LOCKED, a lease), posts with no
transaction open, and records the answer in another: SQLite has no row locks and its test
database lives in the test's own transaction, so these tests only mean something on PostgreSQL
and are skipped elsewhere (CI, on PostgreSQL, fails skips).
"""

import collections
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections
from django.utils import timezone

from bookings.tests.factories import AppointmentFactory
from clinic.tests.concurrency import WAIT_SECONDS, postgresql_only, run_concurrently, until
from notifications import webhook_delivery
from notifications.models import Notification, WebhookDelivery
from notifications.tests.factories import (
    NotificationFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from notifications.tests.receiver import Receiver
from notifications.tests.test_notification_worker import worker_environment

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

State = WebhookDelivery.State
WORKER_APP_NAME = "clinic-webhook-worker-test"
# The shortest lease the system check allows for this timeout (2 x 2 s and a 5 s margin): the
# worker is killed long before its try's 4 s run out, and the next takes the row 9 s after.
TIMEOUT_SECONDS = 2
LEASE_SECONDS = 9


@pytest.fixture(autouse=True)
def on_postgresql(settings):
    postgresql_only()
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = True


@pytest.fixture
def receiver():
    with Receiver(secret="whsec_worker-test-secret") as receiver:
        yield receiver


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpointFactory(url=receiver.url, secret=receiver.secret)


def start_worker(tmp_path, name, *, interval=0.2, timeout=TIMEOUT_SECONDS, lease=LEASE_SECONDS):
    environment = {
        **worker_environment(),
        "PGAPPNAME": WORKER_APP_NAME,
        "WEBHOOK_ALLOW_LOCAL_RECEIVERS": "True",
        "WEBHOOK_LEASE_SECONDS": str(lease),
        "WEBHOOK_TIMEOUT_SECONDS": str(timeout),
    }
    log = (tmp_path / f"{name}.txt").open("w+")
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "send_notifications",
            "--loop",
            "--interval",
            str(interval),
        ],
        cwd=Path(django_settings.BASE_DIR),
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return worker, Path(log.name)


def worker_connections():
    """(pid, state) of the workers' database sessions, as PostgreSQL sees them now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE application_name = %s",
            [WORKER_APP_NAME],
        )
        return cursor.fetchall()


def fresh(delivery):
    """The row as it is now (a new instance: earlier readings stay as they were)."""
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_a_worker_killed_mid_delivery_loses_nothing(tmp_path, endpoint, receiver):
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    receiver.answer("hold")  # the first request is kept open until the test lets it go

    first, first_log = start_worker(tmp_path, "first")
    try:
        assert receiver.holding.wait(WAIT_SECONDS), first_log.read_text()
        # The receiver has the request: the worker's claim is committed, and its connection sits
        # idle, not "idle in transaction", while it waits for the answer.
        claimed = fresh(delivery)
        assert (claimed.state, claimed.attempts) == (State.PENDING, 1)
        assert claimed.locked_until > timezone.now()
        assert [state for _, state in worker_connections()] == ["idle"]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(WAIT_SECONDS)
    assert first.returncode == -signal.SIGKILL
    receiver.release()  # its answer goes nowhere: the worker is gone

    # Nobody recorded an answer: the row waits for its lease to run out.
    orphan = fresh(delivery)
    assert (orphan.state, orphan.attempts, orphan.last_status) == (State.PENDING, 1, None)

    second, second_log = start_worker(tmp_path, "second")
    try:
        until(lambda: fresh(delivery).state == State.DELIVERED)
        delivered = fresh(delivery)
        assert delivered.state == State.DELIVERED, second_log.read_text()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(WAIT_SECONDS)
    assert second.returncode == 0, second_log.read_text()

    assert delivered.attempts == 2
    assert delivered.last_status == 200
    assert delivered.delivered_at >= orphan.locked_until  # taken again only after the lease
    # At least once: the receiver saw the event twice, the same id and bytes, both signed...
    assert receiver.event_ids() == [str(delivery.event_id)] * 2
    assert {request.body for request in receiver.received} == {delivery.body.encode()}
    assert all(request.signed for request in receiver.received)
    assert [request.attempt for request in receiver.received] == ["1", "2"]
    # ...and a receiver that drops repeats by event id keeps it once.
    assert len(set(receiver.event_ids())) == 1
    assert "Webhooks: delivered 1" in second_log.read_text()


def test_workers_running_at_once_deliver_each_event_once(endpoint, receiver):
    deliveries = WebhookDeliveryFactory.create_batch(16, endpoint=endpoint)
    workers = 4
    # Each worker's first post waits until every worker is posting: all hold a claimed row at
    # once, so the claims really do overlap.
    all_posting = threading.Barrier(workers, timeout=WAIT_SECONDS)
    waited = set()
    post = webhook_delivery._post

    def post_when_all_are_posting(delivery, *, at):
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            all_posting.wait()
        return post(delivery, at=at)

    def work_until_nothing_is_due():
        done = collections.Counter()
        while True:
            counts = webhook_delivery.deliver_due_webhooks(batch=3)
            if not any(counts.values()):
                return done
            done.update(counts)

    webhook_delivery._post = post_when_all_are_posting
    try:
        outcomes = run_concurrently(*[work_until_nothing_is_due] * workers)
    finally:
        webhook_delivery._post = post

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sum(o["delivered"] for o in outcomes) == 16
    assert sorted(receiver.event_ids()) == sorted(str(d.event_id) for d in deliveries)
    assert collections.Counter(WebhookDelivery.objects.values_list("state", "attempts")) == {
        (State.DELIVERED, 1): 16
    }


def test_a_lease_that_ran_out_is_taken_by_the_next_worker_even_while_the_first_still_posts(
    endpoint, receiver, settings, monkeypatch
):
    """The first worker is slow, not dead: both post (at least once), one answer is kept. A try
    ends before its lease does (try_seconds()), so this takes a worker stalled past it (paused,
    say): here, a try allowed to outlast the lease."""
    settings.WEBHOOK_LEASE_SECONDS = 0.5
    settings.WEBHOOK_TIMEOUT_SECONDS = WAIT_SECONDS
    monkeypatch.setattr(webhook_delivery, "try_seconds", lambda: WAIT_SECONDS)
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    receiver.answer("hold")

    def deliver_slowly():
        try:
            webhook_delivery.deliver_due_webhooks(batch=1)
        finally:
            connections.close_all()  # this thread's own connection

    slow = threading.Thread(target=deliver_slowly)
    slow.start()
    try:
        assert receiver.holding.wait(WAIT_SECONDS)
        lease_out = fresh(delivery).locked_until
        until(lambda: timezone.now() > lease_out)
        assert webhook_delivery.deliver_due_webhooks(batch=1)["delivered"] == 1
    finally:
        receiver.release()
        slow.join(WAIT_SECONDS)
    assert not slow.is_alive()

    # The slow worker's late 200 is not written over the second worker's record.
    delivered = fresh(delivery)
    assert (delivered.state, delivered.attempts, delivered.last_status) == (
        State.DELIVERED,
        2,
        200,
    )
    assert receiver.event_ids() == [str(delivery.event_id)] * 2


def test_a_receiver_that_trickles_does_not_keep_a_worker_from_the_patients_notices(
    tmp_path, endpoint, receiver
):
    """A worker busy with a backlog for a receiver that answers a byte at a time (each try runs
    until its time limit) still sends a notice that falls due meanwhile, within about a round."""
    backlog = WebhookDeliveryFactory.create_batch(20, endpoint=endpoint)
    receiver.answer(*["trickle"] * 20)  # a try of 2 x 0.5 s each: 20 s for the whole backlog

    worker, log = start_worker(tmp_path, "busy", interval=1, timeout=0.5)
    try:
        until(lambda: receiver.received)  # the worker is into the backlog
        notice = NotificationFactory(appointment=AppointmentFactory())
        queued = time.monotonic()
        until(lambda: Notification.objects.get(pk=notice.pk).state == Notification.State.SENT)
        waited = time.monotonic() - queued
        tried = WebhookDelivery.objects.filter(pk__in=[d.pk for d in backlog], attempts__gt=0)
        assert Notification.objects.get(pk=notice.pk).state == Notification.State.SENT, (
            log.read_text()
        )
        # One round's webhooks (an interval and the try under way) and the nap between rounds.
        assert waited < 1 + 1 + 1 + 1.5, log.read_text()
        assert tried.count() < len(backlog)  # the rest of the backlog waited its turn
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(WAIT_SECONDS)
    assert worker.returncode == 0, log.read_text()
