"""gunicorn on loopback, as the HTTP benchmark and the multi-server test start it, and a booking
form posted to it. Nothing here sets Django up: the caller has done so (or has no need to)."""

import socket
import subprocess
import sys
import time

from bench.environment import PROJECT_DIR


class ServerDidNotStart(RuntimeError):
    pass


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port, environment, workers=2, **popen_options):
    """gunicorn serving clinic.wsgi on 127.0.0.1:`port` with `environment` as its whole
    environment; returns the process (wait_for it before sending requests)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "clinic.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_DIR,
        env=environment,
        **popen_options,
    )


def wait_for(port, server, seconds=30):
    """Returns once something accepts connections on the port; raises ServerDidNotStart if the
    server stops first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServerDidNotStart("gunicorn stopped before it answered; see its output.")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise ServerDidNotStart("gunicorn did not answer in time.")


def booking_form(start, csrf):
    """The patient's confirm form for the slot at `start` (an aware datetime), as the page posts
    it. Django accepts any well-formed CSRF secret sent in both the cookie and the form."""
    from bookings.forms import slot_token

    return {
        "start": slot_token(start),
        "appointment_type": "consultation",
        "payment_mode": "at_clinic",
        "reason": "",
        "csrfmiddlewaretoken": csrf,
    }
