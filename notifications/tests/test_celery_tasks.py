"""The Celery tasks in this process (no broker): each runs the send_notifications command's own
function, one batch at a time, handing the rest on to the next run; a database outage is logged
by its kind and left to the next tick; the app and its beat schedule; without a broker nothing
of Celery is loaded. Real workers and beat on Redis: test_celery_workers.py."""

import datetime as dt
import importlib
import itertools
import json
import logging
import os
import subprocess
import sys
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.utils import timezone

from bookings.models import SlotHold
from bookings.tests.factories import SlotHoldFactory
from notifications import delivery, tasks
from notifications.models import Notification, WebhookDelivery
from notifications.tests.factories import (
    NotificationFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from notifications.tests.receiver import Receiver

pytestmark = pytest.mark.django_db
State = Notification.State
PATIENT_NAME = "Meera Iyer"


@pytest.fixture
def sent_again():
    """The task sending itself again (for a free worker), caught instead of reaching a broker."""
    with (
        mock.patch.object(tasks.send_due_notices, "apply_async") as notices,
        mock.patch.object(tasks.deliver_webhooks, "apply_async") as webhooks,
    ):
        yield {"notices": notices, "webhooks": webhooks}


def test_the_notices_task_sends_what_is_due_with_the_commands_function(sent_again):
    due = NotificationFactory.create_batch(2)
    later = NotificationFactory(send_after=timezone.now() + dt.timedelta(hours=2), kind="reminder")

    counts = tasks.send_due_notices.apply().get()

    assert counts == {"sent": 2, "failed": 0, "retrying": 0, "skipped": 0}
    assert sorted(message.to[0] for message in mail.outbox) == sorted(n.address for n in due)
    later.refresh_from_db()
    assert later.state == State.PENDING  # a reminder waits for its time
    sent_again["notices"].assert_not_called()  # nothing more was waiting


def test_a_full_batch_sends_the_task_again_at_once_for_whichever_worker_is_free(
    monkeypatch, settings, sent_again
):
    monkeypatch.setattr(tasks, "BATCH", 2)
    settings.BEAT_INTERVAL_SECONDS = 12.0
    NotificationFactory.create_batch(3)

    assert tasks.send_due_notices.apply().get()["sent"] == 2
    sent_again["notices"].assert_called_once_with(expires=12.0)

    # The run it asked for finds the last one, and asks for no other.
    assert tasks.send_due_notices.apply().get()["sent"] == 1
    assert sent_again["notices"].call_count == 1
    assert Notification.objects.filter(state=State.SENT).count() == 3


def test_a_task_stops_after_one_interval_and_hands_the_rest_on(monkeypatch, settings, sent_again):
    settings.BEAT_INTERVAL_SECONDS = 30.0
    NotificationFactory.create_batch(3)
    # The clock moves 20 s at each look: the deadline is 30 s after the start, so the task
    # sends one notice, sees its time is up before the second, and stops there.
    clock = itertools.count(0, 20)
    monkeypatch.setattr(tasks, "monotonic", lambda: next(clock))

    assert tasks.send_due_notices.apply().get()["sent"] == 1
    sent_again["notices"].assert_called_once_with(expires=30.0)
    assert Notification.objects.filter(state=State.PENDING).count() == 2


def test_a_database_outage_is_logged_by_its_kind_and_left_to_the_next_tick(caplog, sent_again):
    NotificationFactory(appointment__patient__full_name=PATIENT_NAME)
    outage = OperationalError(f"could not send: SELECT ... '{PATIENT_NAME}'")

    with mock.patch.object(delivery, "_claim_next", side_effect=outage):
        assert tasks.send_due_notices.apply().get() is None

    sent_again["notices"].assert_not_called()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "notifications.send_due_notices: the database could not be reached (OperationalError); "
        "the next run tries again."
    ]
    assert PATIENT_NAME not in caplog.text


def test_the_webhooks_task_delivers_what_is_due(settings, sent_again):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = True
    with Receiver(secret="whsec_task-test-secret") as receiver:
        endpoint = WebhookEndpointFactory(url=receiver.url, secret=receiver.secret)
        delivery_row = WebhookDeliveryFactory(endpoint=endpoint)

        counts = tasks.deliver_webhooks.apply().get()

    assert counts == {"delivered": 1, "retrying": 0, "failed": 0}
    assert receiver.event_ids() == [str(delivery_row.event_id)]
    delivery_row.refresh_from_db()
    assert delivery_row.state == WebhookDelivery.State.DELIVERED
    sent_again["webhooks"].assert_not_called()


def test_the_holds_task_clears_expired_holds_only():
    now = timezone.now()
    expired = SlotHoldFactory(created_at=now - dt.timedelta(minutes=20))
    live = SlotHoldFactory()

    assert tasks.clear_expired_holds.apply().get() == 1
    assert list(SlotHold.objects.values_list("pk", flat=True)) == [live.pk]
    assert not SlotHold.objects.filter(pk=expired.pk).exists()


def test_the_holds_task_leaves_an_outage_to_the_next_tick(caplog):
    with mock.patch.object(
        tasks, "delete_expired_holds", side_effect=OperationalError("server closed the connection")
    ):
        assert tasks.clear_expired_holds.apply().get() is None
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "Clearing expired holds: the database could not be reached (OperationalError)."
    ]


# The app --------------------------------------------------------------------------------------


@pytest.fixture
def fresh_celery_module(monkeypatch):
    """Imports clinic/celery.py anew (it reads the settings when imported)."""
    monkeypatch.delitem(sys.modules, "clinic.celery", raising=False)

    def load():
        return importlib.import_module("clinic.celery")

    return load


def test_the_app_runs_each_task_every_interval_as_a_trigger(settings, fresh_celery_module):
    settings.CELERY_BROKER_URL = "redis://broker.internal:6379/1"
    settings.BEAT_INTERVAL_SECONDS = 12.0
    app = fresh_celery_module().app
    app.loader.import_default_modules()  # what a worker does: finds notifications/tasks.py

    assert app.conf.broker_url == "redis://broker.internal:6379/1"
    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} == {
        "notifications.send_due_notices",
        "notifications.deliver_due_webhooks",
        "notifications.delete_expired_holds",
        "waitlist.offer_freed_times",
    }
    for entry in schedule.values():
        assert entry["task"] in app.tasks  # a misspelt name would be sent to nobody
        assert entry["schedule"] == 12.0
        assert entry["options"] == {"expires": 12.0}
    assert app.conf.task_acks_late is False
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit is None
    assert app.conf.task_ignore_result is True


def test_without_a_broker_url_the_app_refuses_to_start(settings, fresh_celery_module):
    settings.CELERY_BROKER_URL = ""
    with pytest.raises(ImproperlyConfigured, match="CELERY_BROKER_URL is empty"):
        fresh_celery_module()


def test_without_a_broker_url_the_portal_loads_nothing_of_celery_or_a_broker_client():
    probe = (
        "import json, sys, django; django.setup(); import clinic, clinic.urls, clinic.wsgi; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'celery', 'kombu', 'billiard', 'amqp', 'redis'})))"
    )
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL")
    }
    finished = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=django_settings.BASE_DIR,
        env={**environment, "DJANGO_SETTINGS_MODULE": "clinic.settings", "SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == []
