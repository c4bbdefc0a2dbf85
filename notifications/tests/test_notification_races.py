"""Several notification workers at once on PostgreSQL: real threads, each with its own connection.

send_due() claims rows with SELECT ... FOR UPDATE SKIP LOCKED; SQLite has no row locks, so these
tests only mean something on PostgreSQL and are skipped elsewhere (CI, on PostgreSQL, fails skips).
"""

import collections
import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

from bookings.scheduling import at
from bookings.tests.factories import AppointmentFactory
from clinic.tests.concurrency import WAIT_SECONDS, run_concurrently
from notifications import delivery, sms
from notifications.models import Notification
from notifications.tests.factories import NotificationFactory

# serialized_rollback like every transactional test here: each starts from the migrated data (roles
# included) and none recreates content types under new ids for the next to trip over.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = at(dt.date(2030, 1, 7), dt.time(8), KOLKATA)
WORKERS = 4


class Deliveries:
    """Every message the backends were handed, from any thread.

    Each worker's first send waits until every worker is in the middle of a send: all of them
    then hold a claimed row at the same moment, so the claims really do overlap.
    """

    def __init__(self):
        self.sent = []
        self.lock = threading.Lock()
        self.all_sending = threading.Barrier(WORKERS, timeout=WAIT_SECONDS)
        self.waited = set()

    def record(self, channel, address):
        thread = threading.get_ident()
        if thread not in self.waited:
            self.waited.add(thread)
            self.all_sending.wait()
        with self.lock:
            self.sent.append((channel, address))


deliveries = None


class RecordingSmsBackend(sms.SmsBackend):
    def send(self, *, to, body):
        deliveries.record(Notification.Channel.SMS, to)


class RecordingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            deliveries.record(Notification.Channel.EMAIL, message.to[0])
        return len(email_messages)


@pytest.fixture(autouse=True)
def postgresql_only(settings):
    global deliveries
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL (set DATABASE_URL)")
    settings.SMS_BACKEND = f"{__name__}.RecordingSmsBackend"
    settings.EMAIL_BACKEND = f"{__name__}.RecordingEmailBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 5
    deliveries = Deliveries()
    yield
    deliveries = None


def work_until_nothing_is_due():
    """A worker: small batches, again and again, until a round finds nothing."""
    done = collections.Counter()
    while True:
        counts = delivery.send_due(now=NOW, batch=2)
        if not any(counts.values()):
            return done
        done.update(counts)


def test_workers_running_at_once_send_every_due_notice_exactly_once():
    expected = []
    for n in range(15):
        appointment = AppointmentFactory()
        for channel, address in [
            (Notification.Channel.EMAIL, f"patient{n}@example.com"),
            (Notification.Channel.SMS, f"+9198000{n:05d}"),
        ]:
            NotificationFactory(
                appointment=appointment, channel=channel, address=address, send_after=NOW
            )
            expected.append((channel, address))
    not_yet_due = NotificationFactory(send_after=NOW + dt.timedelta(minutes=1))

    outcomes = run_concurrently(*[work_until_nothing_is_due] * WORKERS)

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sorted(deliveries.sent) == sorted(expected)  # each once: none lost, none twice
    assert sum(o["sent"] for o in outcomes) == 30
    assert not any(o["retrying"] or o["failed"] or o["skipped"] for o in outcomes)
    states = collections.Counter(Notification.objects.values_list("state", flat=True))
    assert states == {Notification.State.SENT: 30, Notification.State.PENDING: 1}
    not_yet_due.refresh_from_db()
    assert (not_yet_due.state, not_yet_due.attempts) == (Notification.State.PENDING, 0)
    assert Notification.objects.filter(state=Notification.State.SENT, attempts=1).count() == 30
