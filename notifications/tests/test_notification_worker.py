"""The send_notifications worker: it outlives a database outage and stops cleanly when told to.

A supervisor (systemd, Kubernetes) stops a worker with SIGTERM; a restart or failover of
PostgreSQL cuts its connection. Neither may lose or repeat a notice, and the outage must not end
the worker.
"""

import os
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError, connection

from bookings.tests.factories import AppointmentFactory
from clinic.tests.concurrency import WAIT_SECONDS, postgresql_only, until
from notifications import delivery, sms
from notifications.models import Notification
from notifications.tests.factories import NotificationFactory

State = Notification.State
WORKER_APP_NAME = "clinic-notification-worker-test"
PATIENT_NAME = "Meera Iyer"


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def due_notices(count, channel=Notification.Channel.EMAIL):
    """`count` notices due now, each about its own appointment."""
    email = channel == Notification.Channel.EMAIL
    return [
        NotificationFactory(
            appointment=AppointmentFactory(patient__full_name=PATIENT_NAME),
            channel=channel,
            address=f"meera{n}@example.com" if email else f"+9198{n:08d}",
        )
        for n in range(count)
    ]


def states():
    return list(Notification.objects.order_by("pk").values_list("state", flat=True))


class StopsTheWorkerWhileSending(sms.SmsBackend):
    """Stands for SIGTERM arriving while a text message is on its way out."""

    def send(self, *, to, body):
        os.kill(os.getpid(), signal.SIGTERM)
        sms.outbox.append({"to": to, "body": body})


def test_sigterm_lets_the_worker_finish_the_notice_in_hand_then_stop(settings, db):
    due_notices(3, channel=Notification.Channel.SMS)
    settings.SMS_BACKEND = f"{__name__}.StopsTheWorkerWhileSending"
    out = StringIO()
    # What the run had before: Ctrl-C's default, or "ignored" when started in the background.
    interrupt_before = signal.getsignal(signal.SIGINT)

    def no_sleep(seconds):
        pytest.fail("the worker went on instead of stopping")

    with mock.patch("notifications.management.commands.send_notifications.time.sleep", no_sleep):
        call_command("send_notifications", "--loop", "--interval", "30", stdout=out)

    assert len(sms.outbox) == 1
    assert states() == [State.SENT, State.PENDING, State.PENDING]
    assert out.getvalue().splitlines() == [
        "Sent 1, retrying 0, failed 0, no longer needed 0.",
        "Stopped.",
    ]
    # The handlers are put back: the test run itself still stops on Ctrl-C.
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is interrupt_before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_backs_off_and_carries_on_when_the_database_goes_away(caplog):
    due_notices(2)
    connection.ensure_connection()
    before = connection.connection
    claim = delivery._claim_next
    outage = iter([OperationalError("server closed the connection unexpectedly")])

    def claim_after_an_outage(now):
        for error in outage:
            raise error
        return claim(now)

    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        if states() == [State.SENT, State.SENT]:
            os.kill(os.getpid(), signal.SIGTERM)

    out = StringIO()
    with (
        mock.patch.object(delivery, "_claim_next", claim_after_an_outage),
        mock.patch("notifications.management.commands.send_notifications.time.sleep", sleep),
    ):
        call_command("send_notifications", "--loop", "--interval", "0.2", stdout=out)

    assert sorted(message.to[0] for message in mail.outbox) == [
        "meera0@example.com",
        "meera1@example.com",
    ]
    assert pauses[0] == 0.5  # the first nap of the one-second pause after the outage
    assert out.getvalue().splitlines()[-1] == "Stopped."
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING" and r.name.startswith("notifications.management")
    ]
    assert warnings == [
        "The database could not be reached (OperationalError); trying again in 1 s."
    ]
    assert "meera" not in caplog.text and PATIENT_NAME not in caplog.text
    if connection.vendor == "postgresql":  # (SQLite's in-memory test database is never closed)
        assert connection.connection is not before


def test_a_single_run_reports_an_unreachable_database_as_an_error(db):
    due_notices(1)
    with (
        mock.patch.object(delivery, "_claim_next", side_effect=OperationalError("gone")),
        pytest.raises(Exception, match="The database could not be reached"),
    ):
        call_command("send_notifications", stdout=StringIO())


# A real worker process against a real outage (PostgreSQL) ------------------------------------


def worker_environment():
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{credentials}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
            f"/{database['NAME']}"
        ),
        "PGAPPNAME": WORKER_APP_NAME,  # to find its connection in pg_stat_activity
        "SECRET_KEY": "x",
        "DEBUG": "False",
        "LOG_LEVEL": "INFO",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "SMS_BACKEND": "notifications.sms.ConsoleSmsBackend",
    }


def worker_backends():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [WORKER_APP_NAME]
        )
        return [pid for (pid,) in cursor.fetchall()]


def sent(notification):
    notification.refresh_from_db()
    return notification.state == State.SENT


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_process_survives_its_connection_being_cut_and_stops_on_sigterm(tmp_path):
    postgresql_only()
    [first] = due_notices(1)
    out, err = (tmp_path / "out.txt").open("w+"), (tmp_path / "err.txt").open("w+")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "send_notifications", "--loop", "--interval", "0.2"],
        cwd=Path(django_settings.BASE_DIR),
        env=worker_environment(),
        stdout=out,
        stderr=err,
    )
    try:
        until(lambda: sent(first) and worker_backends())
        assert sent(first), Path(err.name).read_text()

        # PostgreSQL restarting, a failover, an administrator: the connection is gone.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", [worker_backends()]
            )
        [second] = due_notices(1)

        until(lambda: sent(second))
        assert sent(second), Path(err.name).read_text()
        assert worker.poll() is None
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(WAIT_SECONDS)

    log, printed = Path(err.name).read_text(), Path(out.name).read_text()
    assert worker.returncode == 0, log
    assert printed.rstrip().endswith("Stopped.")
    assert "could not be reached (OperationalError)" in log
    assert "meera" not in log and PATIENT_NAME not in log
