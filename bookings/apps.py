from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Appointments"

    def ready(self):
        from bookings import video  # noqa: F401  (registers the video backend's system check)
        from bookings import series_views  # noqa: F401  (the series section of appointment pages)
