from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Appointments"

    def ready(self):
        # The series section of appointment pages; the video backend's system check.
        from bookings import series_views, video  # noqa: F401
