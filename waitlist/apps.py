from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class WaitlistConfig(AppConfig):
    name = "waitlist"
    verbose_name = gettext_lazy("Waitlist")

    def ready(self):
        from waitlist import receivers  # noqa: F401  (connects to bookings' signals)
