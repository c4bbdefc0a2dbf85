"""The Twilio backend against a local server playing Twilio's Messages API (fake_twilio): what
each answer does to the notice, and that no notice is ever texted twice, whatever the answer."""

import datetime as dt
import email.utils
import logging
import socket

import pytest
from django.utils import timezone

from notifications import delivery
from notifications.models import Notification
from notifications.sms_providers import TwilioSmsBackend
from notifications.tests.factories import NotificationFactory
from notifications.tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio

State = Notification.State
PHONE = "+919812345678"
NOTHING = {"sent": 0, "failed": 0, "retrying": 0, "skipped": 0}
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio().start()
    settings.SMS_BACKEND = "notifications.sms_providers.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_URL = fake.url
    settings.SMS_TIMEOUT_SECONDS = 0.5
    settings.SMS_CALLBACK_BASE_URL = "https://clinic.example.org"
    yield fake
    fake.stop()


@pytest.fixture
def notice(db):
    return NotificationFactory(channel=Notification.Channel.SMS, address=PHONE)


def send(now):
    return delivery.send_due(now=now)


def test_a_text_twilio_takes_is_sent_with_its_id_and_status(twilio, notice):
    now = timezone.now()

    assert send(now) == {**NOTHING, "sent": 1}

    notice.refresh_from_db()
    [message] = twilio.messages
    assert (notice.state, notice.provider_message_id, notice.provider_status) == (
        State.SENT,
        message["sid"],
        Notification.ProviderStatus.QUEUED,
    )
    assert (notice.provider_status_at, notice.sent_at, notice.attempts) == (now, now, 1)
    assert message["to"] == PHONE and message["from"] == FROM_NUMBER
    assert "booked" in message["body"]
    assert message["status_callback"] == (
        f"https://clinic.example.org/notifications/sms/twilio/status/?notice={notice.pk}"
    )
    assert message["smart_encoded"] == "false"


def test_a_messaging_service_sends_instead_of_a_number_when_set(twilio, notice, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32

    send(timezone.now())

    [post] = twilio.posts
    assert post["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in post


def test_without_the_portals_public_address_no_status_callback_is_asked(twilio, notice, settings):
    settings.SMS_CALLBACK_BASE_URL = ""

    send(timezone.now())

    [post] = twilio.posts
    assert "StatusCallback" not in post


@pytest.mark.parametrize(
    ("answer", "expected"),
    [((400, 21211), "HTTP 400, Twilio error 21211"), ((404, 20404), "HTTP 404")],
)
def test_a_refused_number_fails_the_notice_at_once_without_the_number_in_error_or_logs(
    twilio, notice, answer, expected, caplog
):
    twilio.plan = [answer]
    now = timezone.now()

    with caplog.at_level(logging.INFO):
        assert send(now) == {**NOTHING, "failed": 1}

    notice.refresh_from_db()
    assert (notice.state, notice.attempts) == (State.FAILED, 1)
    assert expected in notice.last_error and "SmsRefused" in notice.last_error
    assert PHONE not in notice.last_error and PHONE not in caplog.text
    assert "booked" not in caplog.text
    # Failed means failed: later runs send nothing.
    assert send(now + 10 * MINUTE) == NOTHING
    assert len(twilio.posts) == 1 and twilio.messages == []


def test_wrong_credentials_fail_the_notice_at_once(twilio, notice, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"

    assert send(timezone.now()) == {**NOTHING, "failed": 1}

    notice.refresh_from_db()
    assert notice.state == State.FAILED
    assert "HTTP 401, Twilio error 20003" in notice.last_error
    assert AUTH_TOKEN not in notice.last_error


@pytest.mark.parametrize(("answer", "code"), [((429, 20429), "429"), ((500, 20500), "500")])
def test_a_busy_or_broken_twilio_is_tried_again_after_the_pause_and_texts_once(
    twilio, notice, answer, code
):
    twilio.plan = [answer]
    now = timezone.now()

    assert send(now) == {**NOTHING, "retrying": 1}

    notice.refresh_from_db()
    assert (notice.state, notice.attempts, notice.send_after) == (State.PENDING, 1, now + MINUTE)
    assert f"HTTP {code}" in notice.last_error
    assert notice.provider_check_since is None  # Twilio said no: nothing to look up
    assert send(now + MINUTE / 2) == NOTHING  # not before the pause

    assert send(now + MINUTE) == {**NOTHING, "sent": 1}
    notice.refresh_from_db()
    assert (notice.state, notice.last_error) == (State.SENT, "")
    assert len(twilio.texts_to(PHONE)) == 1 and twilio.gets == []


def test_a_refused_connection_is_tried_again(twilio, notice, settings):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    settings.TWILIO_API_URL = f"http://127.0.0.1:{port}"
    now = timezone.now()

    assert send(now) == {**NOTHING, "retrying": 1}
    notice.refresh_from_db()
    assert "could not be reached (no connection)" in notice.last_error
    assert notice.provider_check_since is None

    settings.TWILIO_API_URL = twilio.url
    assert send(now + MINUTE) == {**NOTHING, "sent": 1}
    assert len(twilio.messages) == 1 and twilio.gets == []


@pytest.mark.parametrize("step", ["slow", "drop"])
def test_a_text_twilio_took_without_answering_is_found_and_never_sent_again(twilio, notice, step):
    twilio.plan = [step]
    now = timezone.now()

    assert send(now) == {**NOTHING, "retrying": 1}
    twilio.wait_idle()

    notice.refresh_from_db()
    assert (notice.state, notice.provider_check_since) == (State.PENDING, now)
    assert "No answer from Twilio" in notice.last_error
    [message] = twilio.messages  # Twilio did take it

    assert send(now + MINUTE) == {**NOTHING, "sent": 1}

    notice.refresh_from_db()
    assert (notice.state, notice.provider_message_id) == (State.SENT, message["sid"])
    assert notice.provider_check_since is None and notice.attempts == 2
    assert len(twilio.posts) == 1 and len(twilio.messages) == 1
    [looked_up] = twilio.gets
    assert "To=%2B919812345678" in looked_up


@pytest.mark.parametrize("step", ["slow-lost", "drop-lost"])
def test_a_text_lost_without_an_answer_is_looked_up_then_sent_once(twilio, notice, step):
    twilio.plan = [step]
    now = timezone.now()

    assert send(now) == {**NOTHING, "retrying": 1}
    twilio.wait_idle()
    assert twilio.messages == []

    assert send(now + MINUTE) == {**NOTHING, "sent": 1}

    notice.refresh_from_db()
    assert notice.state == State.SENT and notice.provider_check_since is None
    assert len(twilio.gets) == 1 and len(twilio.posts) == 2
    [message] = twilio.messages
    assert notice.provider_message_id == message["sid"]


def test_a_text_of_another_notice_or_another_time_is_not_taken_for_the_lost_one(twilio, db):
    # To the same number: another notice's text in the same minute, and a text like this
    # notice's an hour before the try. Neither is the text the unanswered try sent.
    other = NotificationFactory(
        channel=Notification.Channel.SMS, address=PHONE, kind=Notification.Kind.CANCELLATION
    )
    now = timezone.now()
    send(now)
    lost = NotificationFactory(channel=Notification.Channel.SMS, address=PHONE, send_after=now)
    twilio.plan = ["drop-lost"]
    send(now)
    twilio.wait_idle()
    earlier = {**twilio.messages[0], "sid": "SM" + "e" * 32, "body": delivery.render_sms(lost)}
    earlier["date_created"] = email.utils.format_datetime(now - 60 * MINUTE, usegmt=True)
    twilio.messages.insert(0, earlier)

    result = send(now + MINUTE)
    lost.refresh_from_db()
    assert result == {**NOTHING, "sent": 1}, lost.last_error
    other.refresh_from_db()
    assert lost.provider_message_id not in (other.provider_message_id, earlier["sid"])
    assert len(twilio.posts) == 3 and len(twilio.texts_to(PHONE)) == 3


def test_a_gateway_error_is_treated_as_no_answer(twilio, notice):
    twilio.plan = [(502, 0)]
    now = timezone.now()

    send(now)

    notice.refresh_from_db()
    assert notice.provider_check_since == now
    assert "HTTP 502" in notice.last_error and "gateway" in notice.last_error


def test_while_twilio_cannot_be_asked_the_text_is_not_sent_again(twilio, notice):
    twilio.plan = ["drop-lost", (500, 20500)]  # the look-up fails
    now = timezone.now()
    send(now)
    twilio.wait_idle()

    assert send(now + MINUTE) == {**NOTHING, "retrying": 1}

    notice.refresh_from_db()
    assert (notice.state, notice.provider_check_since, notice.attempts) == (
        State.PENDING,
        now,
        2,
    )
    assert len(twilio.posts) == 1 and len(twilio.gets) == 1


def test_an_unreadable_list_is_tried_again_and_sends_nothing(twilio, notice, monkeypatch):
    twilio.plan = ["drop-lost"]
    now = timezone.now()
    send(now)
    twilio.wait_idle()
    monkeypatch.setitem(twilio.__dict__, "messages", [{"to": PHONE, "from": FROM_NUMBER}])

    assert send(now + MINUTE) == {**NOTHING, "retrying": 1}

    notice.refresh_from_db()
    assert "could not be read" in notice.last_error
    assert len(twilio.posts) == 1


def test_unanswered_tries_up_to_the_last_fail_the_notice(twilio, notice, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    twilio.plan = ["drop-lost", "drop-lost"]
    now = timezone.now()

    send(now)
    assert send(now + MINUTE) == {**NOTHING, "failed": 1}

    notice.refresh_from_db()
    assert notice.state == State.FAILED and "No answer" in notice.last_error
    assert twilio.messages == []


def test_an_answer_without_a_message_id_is_looked_up_before_any_new_try(
    twilio, notice, monkeypatch
):
    def created_without_sid(form):
        message = FakeTwilio.create(twilio, form)
        return {"status": message["status"]}

    monkeypatch.setattr(twilio, "create", created_without_sid)
    now = timezone.now()

    send(now)

    notice.refresh_from_db()
    assert notice.provider_check_since == now
    assert "without a message id" in notice.last_error


def test_a_try_is_cut_off_at_its_hard_limit(twilio, notice, settings, monkeypatch):
    # A server that trickles its answer keeps every read under the timeout: the whole try
    # still ends after twice the timeout, as one without an answer.
    monkeypatch.setattr("notifications.sms_providers.Try.run", _took_too_long)
    now = timezone.now()

    send(now)

    notice.refresh_from_db()
    assert notice.provider_check_since == now and "within 0.5 s" in notice.last_error


def _took_too_long(self, work):
    from notifications.webhook_http import TookTooLong

    raise TookTooLong(self.seconds)


def test_another_request_failure_is_tried_again(twilio, notice, monkeypatch):
    import requests

    def invalid(self, work):
        raise requests.exceptions.InvalidURL("bad")

    monkeypatch.setattr("notifications.sms_providers.Try.run", invalid)

    assert send(timezone.now()) == {**NOTHING, "retrying": 1}
    notice.refresh_from_db()
    assert "InvalidURL" in notice.last_error and notice.provider_check_since is None


def test_a_connect_time_out_is_tried_again_as_not_sent(twilio, notice, monkeypatch):
    import requests

    def connect_timeout(self, work):
        raise requests.ConnectTimeout("slow")

    monkeypatch.setattr("notifications.sms_providers.Try.run", connect_timeout)

    send(timezone.now())
    notice.refresh_from_db()
    assert "connection timed out" in notice.last_error and notice.provider_check_since is None


def test_sending_again_from_the_admin_forgets_the_old_texts_id_and_status(twilio, notice):
    send(timezone.now())

    delivery.resend(Notification.objects.filter(pk=notice.pk))

    notice.refresh_from_db()
    assert (notice.provider_message_id, notice.provider_status, notice.provider_status_at) == (
        "",
        "",
        None,
    )


def test_the_backend_sends_a_plain_text_too(twilio):
    accepted = TwilioSmsBackend().send(to=PHONE, body="Hello")

    assert accepted.message_id == twilio.messages[0]["sid"] and accepted.status == "queued"
    assert twilio.messages[0]["status_callback"] == ""


def test_an_error_body_that_is_not_twilios_keeps_the_status_only(twilio):
    from notifications.sms import SmsError

    response = type("Answer", (), {"status_code": 503, "json": lambda self: [1]})()

    error = TwilioSmsBackend()._refusal(response)

    assert type(error) is SmsError and str(error).endswith("(HTTP 503).")


def test_a_tls_failure_is_tried_again_as_not_sent(twilio, notice, monkeypatch):
    import requests

    def handshake_failed(self, work):
        raise requests.exceptions.SSLError("certificate verify failed")

    monkeypatch.setattr("notifications.sms_providers.Try.run", handshake_failed)

    send(timezone.now())
    notice.refresh_from_db()
    assert "no connection" in notice.last_error and notice.provider_check_since is None


def test_a_backend_that_keeps_no_ids_has_nothing_to_look_up_and_sends(notice, settings):
    # An unanswered Twilio try, then the backend changed (here to the test one).
    from notifications import sms

    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    sms.outbox.clear()
    now = timezone.now()
    Notification.objects.filter(pk=notice.pk).update(provider_check_since=now - MINUTE)

    assert send(now) == {**NOTHING, "sent": 1}

    notice.refresh_from_db()
    assert [text["to"] for text in sms.outbox] == [PHONE]
    assert (notice.provider_check_since, notice.provider_message_id) == (None, "")
    sms.outbox.clear()


def test_a_text_taken_long_after_its_round_began_is_still_found(twilio, notice):
    # A round's time is when it began: its last notices are tried minutes later.
    round_began = timezone.now() - 10 * MINUTE
    Notification.objects.filter(pk=notice.pk).update(send_after=round_began)
    twilio.plan = ["drop"]
    assert send(round_began) == {**NOTHING, "retrying": 1}  # Twilio took it just now

    assert send(timezone.now()) == {**NOTHING, "sent": 1}

    notice.refresh_from_db()
    assert notice.provider_message_id == twilio.messages[0]["sid"]
    assert len(twilio.posts) == 1


def test_with_a_messaging_service_the_look_up_asks_for_any_sender(twilio, notice, settings):
    # The service picks the sending number: the look-up cannot name it.
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    twilio.plan = ["drop"]
    now = timezone.now()
    send(now)

    assert send(now + MINUTE) == {**NOTHING, "sent": 1}

    [looked_up] = twilio.gets
    assert "From=" not in looked_up and len(twilio.posts) == 1
