import time

from django.core.management.base import BaseCommand

from bookings.delivery import send_due


class Command(BaseCommand):
    help = "Sends the notifications that are due (confirmations, notices, reminders)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="Keep running, checking every --interval seconds."
        )
        parser.add_argument("--interval", type=float, default=30.0)
        parser.add_argument("--batch", type=int, default=100, help="At most this many per round.")

    def handle(self, *args, loop=False, interval=30.0, batch=100, **options):
        # Ctrl-C (or a supervisor's interrupt) stops the worker with a line, not a traceback;
        # whatever was sent is already marked (send_due commits each notice on its own).
        try:
            self.work(loop=loop, interval=interval, batch=batch)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    def work(self, *, loop, interval, batch):
        while True:
            counts = send_due(batch=batch)
            # A full batch means more may be waiting: go again at once.
            while sum(counts.values()) >= batch:
                self.report(counts)
                counts = send_due(batch=batch)
            self.report(counts, quiet=loop)
            if not loop:
                return
            time.sleep(interval)

    def report(self, counts, quiet=True):
        if not quiet and not any(counts.values()):
            self.stdout.write("Nothing is due.")
        if any(counts.values()):
            summary = "Sent {sent}, retrying {retrying}, failed {failed}, no longer needed {skipped}."
            self.stdout.write(summary.format(**counts))
