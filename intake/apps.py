from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = gettext_lazy("Intake questions")

    def ready(self):
        from intake import receivers  # noqa: F401  (connects to bookings' signals and panels)
