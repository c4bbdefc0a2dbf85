"""A stand-in for Twilio's Messages API on a real local socket, for the SMS backend's tests.

It answers POST .../Accounts/<sid>/Messages.json (creating a message, as Twilio does) and GET on
the same address (the account's messages to a number, newest first), checking the basic auth.
Each POST follows the next step of `plan` (then "ok"):

- "ok": the message is created and answered 201 with its SID;
- (status, code): answered `status` with Twilio's error body carrying `code` (its message quotes
  the number, as Twilio's do); nothing is created;
- "slow": the message is created after `slow_seconds`, then answered (the client gave up first);
- "slow-lost": answered after `slow_seconds` with a 500, nothing created (it went nowhere);
- "drop": the message is created and the connection closed without an answer;
- "drop-lost": the connection is closed without an answer, nothing created.

`posts` counts the POSTs received, `messages` the messages created: a text sent twice is two.
"""

import base64
import datetime as dt
import email.utils
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM_NUMBER = "+15005550006"


class FakeTwilio:
    def __init__(self):
        self.plan = []
        self.slow_seconds = 1.5
        self.posts = []
        self.gets = []
        self.messages = []
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self._handlers_busy = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_idle(self, seconds=10):
        """Waits until no request is being handled (a slow one has finished its work)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                if not self._handlers_busy:
                    return
            time.sleep(0.02)
        raise AssertionError("The fake Twilio is still busy.")

    def texts_to(self, number):
        return [message for message in self.messages if message["to"] == number]

    # Called by the handler ------------------------------------------------------------------

    def next_step(self):
        with self._lock:
            return self.plan.pop(0) if self.plan else "ok"

    def create(self, form):
        with self._lock:
            message = {
                "sid": f"SM{next(self._sids):032x}",
                "to": form["To"],
                "from": form.get("From", FROM_NUMBER),
                "body": form["Body"],
                "status": "queued",
                "direction": "outbound-api",
                "date_created": email.utils.format_datetime(
                    dt.datetime.now(dt.UTC).replace(microsecond=0), usegmt=True
                ),
                "status_callback": form.get("StatusCallback", ""),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "smart_encoded": form.get("SmartEncoded"),
            }
            self.messages.append(message)
            return message

    def busy(self, delta):
        with self._lock:
            self._handlers_busy += delta


def _handler_for(fake):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _authorised(self):
            expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            return self.headers.get("Authorization") == f"Basic {expected}"

        def _answer(self, status, body):
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                pass

        def _error(self, status, code, to=""):
            self._answer(
                status,
                {
                    "code": code,
                    "message": f"The 'To' number {to} is not valid.",
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status,
                },
            )

        def do_POST(self):
            fake.busy(1)
            try:
                self._post()
            finally:
                fake.busy(-1)

        def _post(self):
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            fake.posts.append(form)
            if not self._authorised():
                return self._error(401, 20003)
            step = fake.next_step()
            if step == "ok":
                return self._answer(201, fake.create(form))
            if isinstance(step, tuple):
                status, code = step
                return self._error(status, code, form.get("To", ""))
            if step in ("slow", "slow-lost"):
                time.sleep(fake.slow_seconds)
                if step == "slow":
                    return self._answer(201, fake.create(form))
                return self._error(500, 20500)
            if step == "drop":
                fake.create(form)
            # "drop", "drop-lost": no answer at all.
            self.close_connection = True

        def do_GET(self):
            fake.gets.append(self.path)
            if not self._authorised():
                return self._error(401, 20003)
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            step = fake.next_step() if fake.plan and isinstance(fake.plan[0], tuple) else "ok"
            if isinstance(step, tuple):
                return self._error(*step)
            listed = [
                message
                for message in reversed(fake.messages)
                if message["to"] == query.get("To")
                and ("From" not in query or message["from"] == query["From"])
            ]
            self._answer(200, {"messages": listed, "next_page_uri": None})

    return Handler
