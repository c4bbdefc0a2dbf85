from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Connect to bookings' and billing's signals: notices, and webhook deliveries; and
        # register the webhook lease's system check.
        from notifications import receivers, webhook_delivery, webhook_receivers  # noqa: F401
