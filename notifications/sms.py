"""Text messages through a small backend interface, picked by the SMS_BACKEND setting.

The console backend prints messages (development); the locmem one keeps them in `outbox` (tests).
A provider is a subclass with its own send() (notifications.sms_providers: Twilio). A provider's
send() returns what it said of the message it took (Accepted: its id and status), and raises
SmsRefused for a refusal that trying again cannot change (a bad number, wrong credentials),
SmsOutcomeUnknown when the message went out but no answer came back (it may have been taken), and
SmsError for anything else worth trying again.
"""

import dataclasses
import sys

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The provider refused or could not take the message."""


class SmsRefused(SmsError):
    """The provider refused the message for good: the same message would be refused again."""


class SmsOutcomeUnknown(SmsError):
    """The request went out but no answer came back: the provider may have taken the message.
    It must not be sent again before the provider is asked (find_sent)."""


@dataclasses.dataclass(frozen=True)
class Accepted:
    """The provider took a message: its id for the message, and the status it gave."""

    message_id: str
    status: str = ""


class SmsBackend:
    def send(self, *, to, body):
        raise NotImplementedError

    def send_notice(self, *, notification, body):
        """Sends one outbox notice's text; a provider may pass the notice's id along (for its
        status callbacks). Returns an Accepted or None (a backend that keeps no ids)."""
        return self.send(to=notification.address, body=body)

    def find_sent(self, *, notification, body, since):
        """The Accepted for this text if the provider took it since `since` (an earlier try got
        no answer), or None. Backends that never leave an outcome unknown have nothing to find."""
        return None


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
