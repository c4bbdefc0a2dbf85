from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Connect to bookings' and billing's signals: notices, and webhook deliveries; and
        # register the system checks (the webhook lease's, the message providers').
        from notifications import (  # noqa: F401
            checks,
            receivers,
            webhook_delivery,
            webhook_receivers,
        )
