"""The HTTP load run's own parts (bench/loadgen.py, bench/load_urls.py), so that `make bench`'s load
run does not rot: the closed-loop generator against a small local server, the figures and the
table, the answer checks, and the bench-only floor page (which the portal's URLs do not have).
The load run itself needs the benchmark database and is run by `make bench`, not here."""

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, reverse

from bench import cpu
from bench.load_urls import FLOOR_ROUTE, WRITE_FLOOR_KEY, WRITE_FLOOR_ROUTE
from bench.loadgen import (
    Row,
    Summary,
    answer_problem,
    closed_loop,
    cpu_table,
    http_request,
    percentile,
    table,
)

FLOOR_URL = "/" + FLOOR_ROUTE
WRITE_FLOOR_URL = "/" + WRITE_FLOOR_ROUTE


class CountingServer(ThreadingHTTPServer):
    """Answers /ok with 200 and anything else with 500, a little slowly, and remembers every path
    it was asked for and the most requests it had in hand at once."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), CountingHandler)
        self.lock = threading.Lock()
        self.paths = []
        self.in_hand = 0
        self.most_in_hand = 0


class CountingHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # the name http.server calls
        server = self.server
        with server.lock:
            server.paths.append(self.path)
            server.in_hand += 1
            server.most_in_hand = max(server.most_in_hand, server.in_hand)
        time.sleep(0.005)
        with server.lock:
            server.in_hand -= 1
        status = 200 if self.path.startswith("/ok") else 500
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def counting_server():
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_closed_loop_sends_every_job_once_with_at_most_its_clients_at_a_time(counting_server):
    port = counting_server.server_address[1]
    jobs = [f"/ok/{number}" for number in range(40)]

    def send(path):
        status, _, body = http_request(port, "GET", path)
        return None if status == 200 and body == b"ok" else str(status)

    summary = closed_loop(send, jobs, clients=3)

    assert sorted(counting_server.paths) == sorted(jobs)
    assert 1 < counting_server.most_in_hand <= 3
    assert summary.requests == 40
    assert summary.errors == 0
    assert all(milliseconds >= 5 for milliseconds in summary.timings_ms)
    assert summary.per_second == pytest.approx(40 / summary.wall_seconds)


def test_closed_loop_counts_bad_answers_and_failures_and_carries_on(counting_server):
    port = counting_server.server_address[1]

    def send(path):
        if path == "/raise":
            raise ConnectionResetError
        status, _, _ = http_request(port, "GET", path)
        return None if status == 200 else str(status)

    summary = closed_loop(send, ["/ok", "/bad", "/raise", "/bad", "/ok"], clients=2)

    assert summary.requests == 5
    assert summary.problems == Counter({"500": 2, "ConnectionResetError": 1})
    assert summary.errors == 3
    # Only good answers count towards the throughput.
    assert summary.per_second == pytest.approx(2 / summary.wall_seconds)


def test_percentile_is_the_nearest_rank():
    values = list(range(100, 0, -1))
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.5) == 50
    assert percentile([7], 0.95) == 7


def test_summary_figures():
    summary = Summary([float(ms) for ms in range(1, 21)], wall_seconds=2.0, problems=Counter())
    assert (summary.per_second, summary.median_ms, summary.p95_ms) == (10.0, 10.5, 19.0)
    assert summary.as_dict()["p95_ms"] == 19.0
    empty = Summary([], wall_seconds=0.0)
    assert (empty.per_second, empty.median_ms, empty.p95_ms) == (0.0, 0.0, 0.0)


def test_table_gives_the_ratio_and_whether_booking_is_half_the_floor():
    def summary(per_second, p95):
        return Summary([p95] * 20, wall_seconds=20 / per_second)

    rows = [
        Row(1, 2, summary(60, 30.0), summary(100, 12.0), (1.25, 1.0, 0.5)),
        Row(2, 4, summary(40, 80.0), summary(100, 20.0), (2.5, 1.0, 0.5)),
    ]

    lines = table(rows).splitlines()

    assert lines[0].split()[:2] == ["workers", "clients"]
    assert lines[1].split() == ["1", "2", "60.0", "30.0", "100.0", "12.0", "0.60", "yes", "1.25"]
    assert lines[2].split() == ["2", "4", "40.0", "80.0", "100.0", "20.0", "0.40", "NO", "2.50"]
    assert rows[1].as_dict()["booking_at_least_half_of_floor"] is False
    assert Row(1, 2, summary(60, 1.0), Summary([], 0.0)).ratio == 0.0


def test_cpu_table_only_when_cpu_was_read():
    def summary(worker, database):
        return Summary([1.0], 1.0, worker_cpu_ms=worker, database_cpu_ms=database)

    assert cpu_table([Row(1, 2, summary(None, None), summary(None, None))]) is None
    lines = cpu_table([Row(2, 4, summary(12.34, None), summary(3.0, 0.5))]).splitlines()
    assert lines[1].split() == ["2", "12.3", "3.0", "0.5"]
    row = Row(4, 8, summary(14.0, 20.0), summary(4.0, 6.2))
    row.booking.client_cpu_ms, row.floor.client_cpu_ms = 0.8, 0.61
    assert cpu_table([row]).splitlines()[1].split() == [
        "4",
        "14.0",
        "20.0",
        "4.0",
        "6.2",
        "0.30",
        "0.8",
        "0.6",
    ]
    assert row.as_dict()["floor_over_booking_cpu"] == pytest.approx(0.3)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_cpu_readings_from_proc():
    busy = time.process_time() + 0.05
    while time.process_time() < busy:
        pass
    assert cpu.own_cpu_seconds(os.getpid()) >= 0.05
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in cpu.children_of(os.getpid())
        assert cpu.parent_of(child.pid) == os.getpid()
        assert cpu.workers_cpu_seconds(os.getpid()) is not None
    finally:
        child.kill()
        child.wait()
    assert cpu.reaped_children_cpu_seconds(os.getpid()) >= 0
    # A process that is gone reads as nothing, not as an error or a zero.
    assert cpu.own_cpu_seconds(child.pid) is None
    assert cpu.reaped_children_cpu_seconds(child.pid) is None
    assert cpu.parent_of(child.pid) is None
    assert cpu.children_of(child.pid) == []
    assert cpu.workers_cpu_seconds(child.pid) is None


def test_answer_problem_accepts_only_the_expected_answer():
    booked = reverse("bookings:booked", kwargs={"pk": 12})
    home = reverse("home")
    assert answer_problem(302, {"location": booked}, 302, "bookings:booked") is None
    assert answer_problem(302, {"location": home}, 302, "bookings:booked") == "302 to home"
    assert answer_problem(302, {"location": "/nowhere/x/"}, 302, "bookings:booked") == (
        "302 to an unknown page"
    )
    assert answer_problem(500, {}, 302, "bookings:booked") == "500"
    assert answer_problem(200, {}, 200) is None
    assert answer_problem(403, {}, 200) == "403"


def test_floor_page_is_not_among_the_portals_urls(client):
    with pytest.raises(NoReverseMatch):
        reverse("bench-floor")
    assert client.get(FLOOR_URL).status_code == 404


@override_settings(ROOT_URLCONF="bench.load_urls")
def test_floor_page_answers_a_logged_in_user_through_the_middleware(client, patient_user):
    client.force_login(patient_user)

    response = client.get(FLOOR_URL)

    assert response.status_code == 200
    assert response.content == b"ok"
    # The middleware ran: a request id, the security headers, a logged-in page's no-store.
    assert response.headers["X-Request-ID"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    # The portal's pages are still there.
    assert client.get(reverse("bookings:mine")).status_code == 200


@override_settings(ROOT_URLCONF="bench.load_urls")
def test_floor_page_sends_an_anonymous_request_to_the_login(client):
    response = client.get(FLOOR_URL)

    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("accounts:login"))


def test_write_floor_page_is_not_among_the_portals_urls(client):
    with pytest.raises(NoReverseMatch):
        reverse("bench-write-floor")
    assert client.post(WRITE_FLOOR_URL).status_code in (403, 404)


@override_settings(ROOT_URLCONF="bench.load_urls")
def test_write_floor_commits_one_change_to_the_session_per_post(client, patient_user):
    from django.contrib.sessions.models import Session

    client.force_login(patient_user)
    for expected in (1, 2):
        response = client.post(WRITE_FLOOR_URL)
        assert (response.status_code, response.content) == (200, b"ok")
        stored = Session.objects.get(session_key=client.session.session_key).get_decoded()
        assert stored[WRITE_FLOOR_KEY] == expected
    assert client.get(WRITE_FLOOR_URL).status_code == 405


@override_settings(ROOT_URLCONF="bench.load_urls")
def test_write_floor_checks_csrf_and_the_login(patient_user):
    from django.test import Client

    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(WRITE_FLOOR_URL).status_code == 403  # no CSRF token
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(patient_user)
    assert checked.post(WRITE_FLOOR_URL).status_code == 403
