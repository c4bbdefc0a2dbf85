from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = "Intake questions"

    def ready(self):
        from intake import receivers  # noqa: F401  (connects to bookings' signals and panels)
