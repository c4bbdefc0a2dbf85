from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Connect to bookings' and billing's signals: notices, and webhook deliveries.
        from notifications import receivers, webhook_receivers  # noqa: F401
