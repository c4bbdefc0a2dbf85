"""Text messages through a small backend interface, picked by the SMS_BACKEND setting.

The console backend prints messages (development); the locmem one keeps them in `outbox` (tests).
A provider (Twilio, MSG91, an anymail-style gateway) is a subclass with its own send().
"""

import sys

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The provider refused or could not take the message."""


class SmsBackend:
    def send(self, *, to, body):
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, *, to, body):
        self.stream.write(f"SMS to {to}:\n{body}\n{'-' * 40}\n")
        self.stream.flush()


outbox = []


class NotConfiguredSmsBackend(SmsBackend):
    """The default with DEBUG off until SMS_BACKEND names a provider: sends nothing, and says so
    (the console backend would print patients' messages into the server's logs)."""

    def send(self, *, to, body):
        raise SmsError("No SMS provider is configured: set SMS_BACKEND (README, Settings).")


class LocmemSmsBackend(SmsBackend):
    def send(self, *, to, body):
        outbox.append({"to": to, "body": body})


def get_backend():
    return import_string(settings.SMS_BACKEND)()
