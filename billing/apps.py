from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = gettext_lazy("Billing")

    def ready(self):
        from billing import receivers  # noqa: F401  (connects to bookings' signals and panels)
