"""A real HTTP receiver for the webhook tests: http.server in a thread on 127.0.0.1.

It checks each request's signature the way docs/webhooks.md tells a receiver to (the standard
library only, not the portal's own code), records what came, and answers as the test scripted:
a status code, "hang" (say nothing until the test ends: the sender's timeout runs out), "hold"
(keep the request open until the test calls release(): a worker can be killed meanwhile) or
"trickle" (answer a byte of a header at a time, each well within the sender's read timeout, for
TRICKLE_SECONDS, then finish with 200, unless the sender cuts the connection first, which sets
`cut`). Once the script is used up it answers 200.
"""

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SAFETY_SECONDS = 30  # nothing waits this long when the tests pass
TRICKLE_PAUSE_SECONDS = 0.05
TRICKLE_SECONDS = 5


@dataclass(frozen=True)
class Received:
    event_id: str
    event_type: str
    attempt: str
    content_type: str
    timestamp: int | None
    body: bytes
    signed: bool  # the signature checks out with the endpoint's secret


def check_signature(secret, header, body):
    """(timestamp, valid): docs/webhooks.md's verification, less the age check."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        signed = fields["t"].encode() + b"." + body
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return None, False
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return timestamp, hmac.compare_digest(expected, fields.get("v1", ""))


class Receiver:
    def __init__(self, secret):
        self.secret = secret
        self.received = []
        self._answers = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.holding = threading.Event()  # set while a "hold" request is being held open
        self.cut = threading.Event()  # set when the sender cut a "trickle" answer short

    def answer(self, *answers):
        """What the next requests get, in order (then 200)."""
        with self._lock:
            self._answers.extend(answers)

    def release(self):
        self._released.set()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_port}/hooks/clinic"

    def event_ids(self):
        return [request.event_id for request in self.received]

    def __enter__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver._handle(self)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll: shutdown() waits for the loop to look up.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info):
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, request):
        body = request.rfile.read(int(request.headers["Content-Length"]))
        timestamp, signed = check_signature(
            self.secret, request.headers.get("Clinic-Signature", ""), body
        )
        with self._lock:
            self.received.append(
                Received(
                    event_id=request.headers.get("Clinic-Event-Id"),
                    event_type=request.headers.get("Clinic-Event-Type"),
                    attempt=request.headers.get("Clinic-Delivery-Attempt"),
                    content_type=request.headers.get("Content-Type"),
                    timestamp=timestamp,
                    body=body,
                    signed=signed,
                )
            )
            answer = self._answers.pop(0) if self._answers else 200
        if answer == "trickle":
            self._trickle(request)
            return
        if answer in ("hang", "hold"):
            if answer == "hold":
                self.holding.set()
            self._released.wait(SAFETY_SECONDS)
            answer = 200
        try:
            request.send_response(answer)
            request.send_header("Content-Length", "0")
            request.end_headers()
        except OSError:
            pass  # the sender stopped waiting (its timeout) or is gone (killed)

    def _trickle(self, request):
        until = time.monotonic() + TRICKLE_SECONDS
        try:
            request.wfile.write(b"HTTP/1.1 200 OK\r\nX-Trickle: ")
            request.wfile.flush()
            while time.monotonic() < until and not self._released.wait(TRICKLE_PAUSE_SECONDS):
                request.wfile.write(b"x")
                request.wfile.flush()
            request.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")
            request.wfile.flush()
        except OSError:
            self.cut.set()
