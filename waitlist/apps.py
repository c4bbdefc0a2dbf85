from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "waitlist"
    verbose_name = "Waitlist"

    def ready(self):
        from waitlist import receivers  # noqa: F401  (connects to bookings' signals)
