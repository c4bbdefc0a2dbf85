import contextlib
import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from bookings.links import delete_expired as delete_expired_links
from bookings.services import delete_expired_holds
from notifications.delivery import send_due
from notifications.webhook_delivery import deliver_due_webhooks
from notifications.webhook_retention import remove_old_bodies
from waitlist.services import offer_freed_times

logger = logging.getLogger(__name__)

# After the database goes away the worker tries again after 1, 2, 4... seconds, at most this many.
LONGEST_PAUSE_SECONDS = 60.0
# How soon a sleeping worker notices it was asked to stop.
NAP_SECONDS = 0.5
# Webhooks get --interval seconds of each round (at least this), then the notices have their
# turn again: a receiver that answers slowly holds up the next round by at most one more try.
SHORTEST_WEBHOOK_ROUND_SECONDS = 1.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Command(BaseCommand):
    help = (
        "Sends the notifications that are due (confirmations, notices, reminders) and the due "
        "webhook deliveries, clears expired slot holds, offers freed times to the waitlist and "
        "removes old webhook bodies."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="Keep running, checking every --interval seconds."
        )
        parser.add_argument("--interval", type=float, default=30.0)
        parser.add_argument("--batch", type=int, default=100, help="At most this many per round.")

    def handle(self, *args, loop=False, interval=30.0, batch=100, **options):
        self.stopping = False
        try:
            with self.stop_signals_handled():
                self.work(loop=loop, interval=interval, batch=batch)
        except KeyboardInterrupt:
            # A second Ctrl-C (or one while stuck in a send): whatever was sent is already
            # marked, since send_due commits each notice on its own.
            pass
        if loop or self.stopping:
            self.stdout.write("Stopped.")

    @contextlib.contextmanager
    def stop_signals_handled(self):
        """SIGTERM (a supervisor, systemd, Kubernetes) or Ctrl-C: finish the notice in hand, mark
        it, and stop. Asked twice, stop at once."""
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers belong to the main thread (e.g. call_command in a thread)
            return
        previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

        def ask_to_stop(number, frame):
            if self.stopping:
                raise KeyboardInterrupt
            self.stopping = True

        for number in STOP_SIGNALS:
            signal.signal(number, ask_to_stop)
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def work(self, *, loop, interval, batch):
        failures = 0
        while not self.stopping:
            try:
                self.send_round(batch, loop=loop, interval=interval)
            except (OperationalError, InterfaceError) as error:
                if not loop:
                    raise CommandError("The database could not be reached.") from error
                failures += 1
                pause = min(2.0 ** (failures - 1), LONGEST_PAUSE_SECONDS)
                # The error's kind only: its text may quote the statement and its values.
                logger.warning(
                    "The database could not be reached (%s); trying again in %.0f s.",
                    type(error).__name__,
                    pause,
                )
                self.drop_connections()
                self.nap(pause)
                continue
            if failures:
                logger.info("The database is back; sending again.")
                failures = 0
            if not loop:
                return
            self.nap(interval)

    def send_round(self, batch, *, loop, interval):
        # Expired holds are busy for nobody already; clearing them keeps the table small. A
        # webhook body delivered long ago is of no use to anyone and names a patient.
        delete_expired_holds()
        delete_expired_links()  # one-click links past the appointment's start open nothing
        remove_old_bodies()
        # Before the notices: an offer made now is announced in this same round.
        self.report_waitlist(offer_freed_times(batch=batch))
        notices = self.drain(send_due, self.report, batch, stop=self.stop_requested)
        webhooks_until = time.monotonic() + max(interval, SHORTEST_WEBHOOK_ROUND_SECONDS)

        def webhooks_stop():
            return self.stopping or time.monotonic() >= webhooks_until

        webhooks = self.drain(deliver_due_webhooks, self.report_webhooks, batch, stop=webhooks_stop)
        if not loop and not any(notices.values()) and not any(webhooks.values()):
            self.stdout.write("Nothing is due.")

    def drain(self, send, report, batch, *, stop):
        counts = send(batch=batch, stop=stop)
        # A full batch means more may be waiting: go again at once, unless it is time to stop.
        while sum(counts.values()) >= batch and not stop():
            report(counts)
            counts = send(batch=batch, stop=stop)
        report(counts)
        return counts

    def stop_requested(self):
        return self.stopping

    def drop_connections(self):
        # A broken connection is never reused: Django opens a new one at the next query.
        for connection in connections.all(initialized_only=True):
            with contextlib.suppress(DatabaseError):
                connection.close()

    def nap(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(NAP_SECONDS, left))

    def report(self, counts):
        if any(counts.values()):
            self.stdout.write(
                "Sent {sent}, retrying {retrying}, failed {failed}, "
                "no longer needed {skipped}.".format(**counts)
            )

    def report_waitlist(self, counts):
        if counts["offered"] or counts["settled"]:
            self.stdout.write(
                "Waitlist: offered {offered} freed times, settled {settled} offers.".format(
                    **counts
                )
            )

    def report_webhooks(self, counts):
        if any(counts.values()):
            self.stdout.write(
                "Webhooks: delivered {delivered}, retrying {retrying}, failed {failed}.".format(
                    **counts
                )
            )
