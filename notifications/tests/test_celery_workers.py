"""Celery workers and beat as real processes, on Redis and PostgreSQL: beat sends the periodic
tasks, and workers running at once, one of them killed mid-batch and started again, send every
notice exactly once.

The notices are claimed by the workers' own transactions (FOR UPDATE SKIP LOCKED), which only
PostgreSQL has; the broker is a real Redis. Without either the tests are skipped (under CI=true,
failed). Sends are counted in a file that every worker process appends to
(notifications/tests/recording_sms.py).
"""

import collections
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from bookings.tests.factories import AppointmentFactory
from clinic.tests.concurrency import WAIT_SECONDS, postgresql_only, redis_only, until
from notifications.models import Notification
from notifications.tests import recording_sms
from notifications.tests.factories import NotificationFactory
from notifications.tests.test_notification_worker import worker_environment

State = Notification.State
INTERVAL_SECONDS = 0.3
# Notices in the burst; each takes the "provider" 20 ms, so two workers need most of a second.
BURST = 80
RECORDING_BACKEND = "notifications.tests.recording_sms.RecordingSmsBackend"
PERIODIC_TASKS = {
    "notifications.send_due_notices",
    "notifications.deliver_due_webhooks",
    "notifications.delete_expired_holds",
    "waitlist.offer_freed_times",
}


@pytest.fixture
def broker():
    """The test Redis, emptied before and after (nothing else lives in that database)."""
    url = redis_only()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


class Processes:
    """Celery processes started by a test, each in its own process group (a prefork worker is a
    parent and its child), each logging to a file; whatever is still running at the end is
    killed."""

    def __init__(self, tmp_path, environment):
        self.tmp_path = tmp_path
        self.environment = environment
        self.running = []

    def start(self, name, *arguments, **extra_environment):
        log = self.tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "clinic", *arguments],
            cwd=Path(django_settings.BASE_DIR),
            env={**self.environment, **extra_environment},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log = log
        self.running.append(process)
        return process

    def worker(self, name, **extra_environment):
        # Without mingle and gossip a worker starts in a moment (they wait for other workers'
        # replies); neither has a part in sharing the work, which the database does.
        worker = self.start(
            name,
            "worker",
            "--hostname",
            f"{name}@%h",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            **extra_environment,
        )
        return worker

    def wait_until_ready(self, *workers):
        def ready(worker):
            return " ready." in worker.log.read_text()

        for worker in workers:
            until(lambda: ready(worker) or worker.poll() is not None)  # noqa: B023 (called at once)
            assert ready(worker), worker.log.read_text()

    def beat(self):
        return self.start("beat", "beat", "--schedule", str(self.tmp_path / "beat-schedule"))

    def kill(self, process):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(WAIT_SECONDS)

    def stop_all(self):
        """SIGTERM to each still running (a worker finishes its task in hand); returns their exit
        codes by name."""
        stopping = [process for process in self.running if process.poll() is None]
        for process in stopping:
            process.send_signal(signal.SIGTERM)
        codes = {}
        for process in stopping:
            try:
                codes[process.log.stem] = process.wait(WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill(process)
        return codes

    def kill_all(self):
        for process in self.running:
            if process.poll() is None:
                self.kill(process)


@pytest.fixture
def processes(tmp_path, broker):
    started = Processes(
        tmp_path,
        {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "SECRET_KEY": "x",
            "DEBUG": "False",
            "LOG_LEVEL": "INFO",
            "CELERY_BROKER_URL": broker,
            "BEAT_INTERVAL_SECONDS": str(INTERVAL_SECONDS),
        },
    )
    yield started
    started.kill_all()


def queued_messages(url):
    """The task messages waiting in the default queue, oldest first, as kombu wrote them."""
    client = redis.Redis.from_url(url)
    try:
        return [json.loads(raw) for raw in reversed(client.lrange("celery", 0, -1))]
    finally:
        client.close()


def test_beat_sends_each_periodic_task_every_interval_with_an_expiry(processes, broker):
    beat = processes.beat()
    until(lambda: len(queued_messages(broker)) >= 3 * len(PERIODIC_TASKS))
    processes.stop_all()

    messages = queued_messages(broker)
    sent = collections.Counter(message["headers"]["task"] for message in messages)
    assert set(sent) == PERIODIC_TASKS, beat.log.read_text()
    assert min(sent.values()) >= 2
    # A trigger nobody took within one interval is dropped, not run late.
    assert all(message["headers"]["expires"] for message in messages)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_one_killed_mid_batch_send_every_notice_exactly_once(processes, tmp_path):
    postgresql_only()
    record = tmp_path / "sent.txt"
    processes.environment.update(
        {
            **worker_environment(),  # the test database, and no patient details in the logs
            "CELERY_BROKER_URL": processes.environment["CELERY_BROKER_URL"],
            "SMS_BACKEND": RECORDING_BACKEND,
            "RECORDED_SMS_FILE": str(record),
            "RECORDED_SMS_SECONDS": "0.02",
        }
    )
    processes.beat()
    first = processes.worker("first", RECORDED_SMS_NAME="first", RECORDED_SMS_HOLD="1")
    second = processes.worker("second", RECORDED_SMS_NAME="second")
    processes.wait_until_ready(first, second)
    # The burst comes once both are listening: one doctor's appointments, quick to write.
    one = AppointmentFactory()
    notices = [
        NotificationFactory(appointment=appointment, channel=Notification.Channel.SMS)
        for appointment in AppointmentFactory.create_batch(
            BURST,
            doctor=one.doctor,
            clinic=one.clinic,
            patient=one.patient,
            created_by=one.created_by,
        )
    ]

    def lines(what):
        return [(name, to) for name, done, to in recording_sms.read(record) if done == what]

    # Both workers are sending the burst at once...
    until(lambda: {"first", "second"} <= {name for name, _ in lines("sent")})
    assert {"first", "second"} <= {name for name, _ in lines("sent")}, first.log.read_text()
    # ...when the first is killed with a message in flight: its provider call never came back.
    Path(f"{record}.hold").touch()
    until(lambda: lines("holding"))
    [(_, in_flight)] = lines("holding")
    processes.kill(first)
    assert first.returncode == -signal.SIGKILL

    again = processes.worker("first-again", RECORDED_SMS_NAME="first-again")
    processes.wait_until_ready(again)

    def all_sent():
        return not Notification.objects.exclude(state=State.SENT).exists()

    until(all_sent)
    assert all_sent(), second.log.read_text() + again.log.read_text()
    exit_codes = processes.stop_all()

    sent = collections.Counter(to for _, to in lines("sent"))
    assert sent == collections.Counter(notice.address for notice in notices)  # each once
    assert max(sent.values()) == 1
    # The message in flight went out once, from a worker still alive; its row was never marked
    # sent by the killed worker, whose transaction died with its connection.
    [sender] = [name for name, to in lines("sent") if to == in_flight]
    assert sender in ("second", "first-again")
    assert set(Notification.objects.values_list("state", "attempts")) == {(State.SENT, 1)}
    # The workers left standing stop cleanly on SIGTERM, their task in hand finished.
    assert exit_codes == {"second": 0, "first-again": 0, "beat": 0}, exit_codes
    logs = second.log.read_text() + again.log.read_text()
    assert "Traceback" not in logs
    assert "/MainProcess]" not in logs  # Django's log format, not Celery's own
    assert one.patient.full_name not in logs
    assert not any(notice.address in logs for notice in notices)
