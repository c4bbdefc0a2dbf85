"""The email backend of an install that has not chosen one (DEBUG off, EMAIL_BACKEND unset).

Django's console backend would print every message, patient details included, into the server's
logs, and its SMTP default would try a mail server that is usually not there. This one sends
nothing and says so: the outbox retries a notice and then marks it failed with the reason, where
the admin shows it; a password reset or sign-up email is logged as not sent (by user id only).
"""

from django.core.mail.backends.base import BaseEmailBackend


class EmailNotConfigured(Exception):
    pass


class NotConfiguredEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        if self.fail_silently:
            return 0
        raise EmailNotConfigured(
            "No email provider is configured: set EMAIL_BACKEND (README, Settings)."
        )
