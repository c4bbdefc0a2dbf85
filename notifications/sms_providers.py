"""Text messages through Twilio's Programmable Messaging REST API (2010-04-01), with requests.

Twilio sends to Indian numbers (DLT-registered sender and templates, as every provider there
must), answers each message with an id (its SID) and status callbacks signed with the account's
auth token, and lets the portal read back the messages it took: after a try that got no answer,
the next try asks first (find_sent) instead of sending the text a second time.

What an answer means for the notice (notifications.delivery):
- 2xx with a SID: taken; the SID and status are recorded.
- 400, 401, 403, 404: refused for good (a bad or blocked number, wrong credentials, no such
  account): the notice fails at once. Only Twilio's status and error code are kept: its message
  may quote the number.
- 429, another 5xx, a refused or failed connection: tried again later, with the usual pauses.
- No answer after the request went out (read time-out, the connection dropped, 502 or 504 from a
  gateway, the try's hard time limit): the message may have been taken, so the next try looks it
  up before sending.

Settings: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER or
TWILIO_MESSAGING_SERVICE_SID, TWILIO_API_URL (tests point it at a local server),
SMS_TIMEOUT_SECONDS and SMS_CALLBACK_BASE_URL (the portal's public address for status callbacks).
"""

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import re

import requests
from django.conf import settings
from django.urls import reverse
from urllib3.exceptions import NewConnectionError

from notifications.sms import Accepted, SmsBackend, SmsError, SmsOutcomeUnknown, SmsRefused
from notifications.webhook_http import TookTooLong, Try

API_VERSION = "2010-04-01"
# Refusals that the same request would meet again.
PERMANENT_STATUSES = {400, 401, 403, 404}
# A gateway's answer: the request may have reached Twilio, which may have taken the message.
GATEWAY_STATUSES = {502, 504}
# How far before an unanswered try a message found at Twilio may have been created (clocks).
CLOCK_SLACK = dt.timedelta(minutes=1)
LINK = re.compile(r"https?://\S+")
# Twilio's message statuses, as the notice records them (Notification.ProviderStatus).
STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
# Settings a Twilio backend cannot work without (system check notifications.E010).
REQUIRED_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
SENDER_SETTINGS = ("TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID")


def provider_status(twilio_status):
    """The notice's status for one of Twilio's, or "" for one it does not track."""
    return STATUSES.get((twilio_status or "").lower(), "")


def twilio_signature(auth_token, url, params):
    """Twilio's X-Twilio-Signature for a request: HMAC-SHA1, keyed with the auth token, of the
    URL it called followed by each POST parameter's name and value, sorted by name; base64."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(*, auth_token, url, params, signature):
    """Whether `signature` is Twilio's for this request. `params` is (name, value) pairs."""
    if not auth_token or not signature:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())


def _without_links(text):
    return LINK.sub("", text)


def _never_connected(error):
    """A ConnectionError that came before any byte was sent (refused, no such host, TLS)."""
    if isinstance(error, (requests.exceptions.SSLError, requests.exceptions.ProxyError)):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)


class TwilioSmsBackend(SmsBackend):
    def __init__(self):
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.from_number = settings.TWILIO_FROM_NUMBER
        self.messaging_service_sid = settings.TWILIO_MESSAGING_SERVICE_SID
        self.timeout = settings.SMS_TIMEOUT_SECONDS
        base = settings.TWILIO_API_URL.rstrip("/")
        self.messages_url = f"{base}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    # Sending ------------------------------------------------------------------------------------

    def send(self, *, to, body):
        return self._create({"To": to, "Body": body})

    def send_notice(self, *, notification, body):
        params = {"To": notification.address, "Body": body}
        callback = status_callback_url(notification)
        if callback:
            params["StatusCallback"] = callback
        return self._create(params)

    def _create(self, params):
        if self.messaging_service_sid:
            params["MessagingServiceSid"] = self.messaging_service_sid
        else:
            params["From"] = self.from_number
        # Sent as written: find_sent compares bodies, which Twilio's look-alike replacement
        # of Unicode characters would change.
        params["SmartEncoded"] = "false"
        response = self._request("POST", data=params)
        if response.status_code in (200, 201):
            return self._accepted(response)
        raise self._refusal(response)

    def _accepted(self, response):
        try:
            message = response.json()
            return Accepted(message_id=message["sid"], status=provider_status(message["status"]))
        except (ValueError, KeyError, TypeError):
            # Taken, by the status, but the id cannot be read: look it up before any new try.
            raise SmsOutcomeUnknown(
                f"Twilio answered HTTP {response.status_code} without a message id."
            ) from None

    def _refusal(self, response):
        status = response.status_code
        code = self._error_code(response)
        what = f"HTTP {status}" + (f", Twilio error {code}" if code else "")
        if status in PERMANENT_STATUSES:
            return SmsRefused(f"Twilio refused the message ({what}).")
        if status in GATEWAY_STATUSES:
            return SmsOutcomeUnknown(f"No answer from Twilio ({what} from a gateway).")
        return SmsError(f"Twilio could not take the message now ({what}).")

    @staticmethod
    def _error_code(response):
        # Only the code: Twilio's message may quote the number.
        try:
            code = response.json().get("code")
        except (ValueError, AttributeError):
            return None
        return code if isinstance(code, int) else None

    # Looking up what an unanswered try did -----------------------------------------------------

    def find_sent(self, *, notification, body, since):
        """Twilio's record of the text the unanswered try sent to the notice's number, or None.

        It is a message to that number created since that try began (`since`, the worker
        round's time, at or before the try's start; a minute's slack for clocks) with the same
        text, links aside: each try makes fresh one-click links. Only the same appointment's
        next reminder has the same words, so a text found is this one or says what it says.
        Twilio lists the newest first."""
        params = {"To": notification.address, "PageSize": "50"}
        if not self.messaging_service_sid:
            params["From"] = self.from_number
        response = self._request("GET", params=params)
        if response.status_code != 200:
            raise self._refusal(response)
        earliest = since - CLOCK_SLACK
        try:
            for message in response.json()["messages"]:
                created = email.utils.parsedate_to_datetime(message["date_created"])
                if (
                    message["direction"].startswith("outbound")
                    and created >= earliest
                    and _without_links(message["body"]) == _without_links(body)
                ):
                    return Accepted(
                        message_id=message["sid"], status=provider_status(message["status"])
                    )
        except (ValueError, KeyError, TypeError):
            raise SmsError("Twilio's list of messages could not be read.") from None
        return None

    # HTTP ---------------------------------------------------------------------------------------

    def _request(self, method, **kwargs):
        """One request within a hard time limit (connect, then read, each SMS_TIMEOUT_SECONDS;
        the whole at most twice that). Raises SmsError when nothing can have been sent, and
        SmsOutcomeUnknown when the request may have reached Twilio."""
        attempt = Try(2 * self.timeout)

        def call():
            with attempt.session() as session:
                return session.request(
                    method,
                    self.messages_url,
                    auth=(self.account_sid, self.auth_token),
                    timeout=(self.timeout, self.timeout),
                    allow_redirects=False,
                    **kwargs,
                )

        try:
            return attempt.run(call)
        except requests.ConnectTimeout:
            raise SmsError("Twilio could not be reached (connection timed out).") from None
        except requests.ConnectionError as error:
            if _never_connected(error):
                raise SmsError("Twilio could not be reached (no connection).") from None
            raise SmsOutcomeUnknown("No answer from Twilio (the connection dropped).") from None
        except (requests.Timeout, TookTooLong):
            raise SmsOutcomeUnknown(f"No answer from Twilio within {self.timeout:g} s.") from None
        except requests.RequestException as error:
            raise SmsError(f"Twilio could not be reached ({type(error).__name__}).") from None


def status_callback_url(notification):
    """Where Twilio reports this notice's message status, naming the notice (so a report that
    comes before the send's answer, or instead of it, still finds it); "" without a public
    address for the portal (SMS_CALLBACK_BASE_URL)."""
    base = settings.SMS_CALLBACK_BASE_URL.rstrip("/")
    if not base:
        return ""
    return f"{base}{reverse('notifications:sms_status')}?notice={notification.pk}"
