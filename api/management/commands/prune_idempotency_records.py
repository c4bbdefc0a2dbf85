from django.core.management.base import BaseCommand

from api.idempotency import prune


class Command(BaseCommand):
    help = (
        "Forgets Idempotency-Key records older than API_IDEMPOTENCY_HOURS. Optional: every "
        "keyed write already deletes expired records; this clears them when no writes come."
    )

    def handle(self, *args, **options):
        count = prune()
        self.stdout.write(f"Removed {count} expired idempotency record(s).")
