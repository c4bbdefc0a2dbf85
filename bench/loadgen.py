"""A bounded, closed-loop load generator and the load run's table. Nothing here sets Django up.

Closed loop: a fixed number of clients, each sending its next request as soon as its last one is
answered, until a fixed list of jobs is used up. The offered load therefore follows the server
(no queue builds up outside it), and the run ends after a known number of requests.
"""

import http.client
import math
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def percentile(values, share):
    """Nearest-rank percentile: the smallest value with `share` of the values at or below it
    (as bench.run computes it; that module sets Django up on import, this one must not)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Summary:
    """What one measured stretch of requests came to: each request's time (ms), the wall time of
    the stretch (s), and the problems found in the answers, counted by description."""

    timings_ms: list
    wall_seconds: float
    problems: Counter = field(default_factory=Counter)
    # CPU per request (ms) of the app server's workers and of PostgreSQL, where it was read.
    worker_cpu_ms: float | None = None
    database_cpu_ms: float | None = None
    # The load generator's own CPU per request (ms): it shares the machine with the server.
    client_cpu_ms: float | None = None

    @property
    def requests(self):
        return len(self.timings_ms)

    @property
    def errors(self):
        return sum(self.problems.values())

    @property
    def per_second(self):
        """Good answers per second of wall time."""
        return (self.requests - self.errors) / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def median_ms(self):
        return statistics.median(self.timings_ms) if self.timings_ms else 0.0

    @property
    def p95_ms(self):
        return percentile(self.timings_ms, 0.95) if self.timings_ms else 0.0

    def as_dict(self):
        return {
            "requests": self.requests,
            "errors": self.errors,
            "problems": dict(self.problems),
            "wall_seconds": round(self.wall_seconds, 3),
            "per_second": round(self.per_second, 1),
            "median_ms": round(self.median_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "worker_cpu_ms_per_request": self.worker_cpu_ms,
            "database_cpu_ms_per_request": self.database_cpu_ms,
            "load_generator_cpu_ms_per_request": self.client_cpu_ms,
        }


def closed_loop(send, jobs, clients):
    """Sends every job with `clients` concurrent clients (threads), each taking the next job as
    soon as its last one is answered. `send(job)` makes one request and returns None for a good
    answer or a short description of what was wrong with it; an exception counts as a problem
    too (its class name), so one bad answer neither stops the run nor goes unseen."""
    pending = iter(list(jobs))
    taking = threading.Lock()
    timings, problems = [], Counter()
    recording = threading.Lock()

    def client():
        while True:
            with taking:
                job = next(pending, StopIteration)
            if job is StopIteration:
                return
            started = time.perf_counter()
            try:
                problem = send(job)
            except Exception as error:  # counted and reported, never swallowed
                problem = type(error).__name__
            elapsed = time.perf_counter() - started
            with recording:
                timings.append(elapsed * 1000)
                if problem is not None:
                    problems[problem] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(max(1, clients))]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Summary(timings, time.perf_counter() - began, problems)


def answer_problem(status, headers, expected_status, expected_view=None):
    """None when the answer is `expected_status` (for a redirect, to a page of `expected_view`,
    a URL name such as "bookings:booked"); otherwise a short description for the report: the
    status and the page it redirects to, by name, never a path's values. Resolving the page needs
    Django set up (the caller's); nothing else here does."""
    from django.urls import Resolver404, resolve

    location = headers.get("location")
    view = None
    if location:
        try:
            view = resolve(urlsplit(location).path).view_name
        except Resolver404:
            view = "an unknown page"
    if status == expected_status and (expected_view is None or view == expected_view):
        return None
    return f"{status} to {view}" if view else str(status)


def http_request(port, method, path, body=None, headers=None, timeout=30):
    """One request to 127.0.0.1:`port` on a new connection (gunicorn's sync workers close each
    one after the answer); returns the status, the headers (a dict, lower-case names) and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        content = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, content
    finally:
        connection.close()


@dataclass
class Row:
    """One worker count's figures: the booking POSTs and the floor page."""

    workers: int
    clients: int
    booking: Summary
    floor: Summary
    load_average: tuple = ()

    @property
    def ratio(self):
        """Booking throughput over the floor's. With the same workers on both, per worker too."""
        return self.booking.per_second / self.floor.per_second if self.floor.per_second else 0.0

    @property
    def meets_half(self):
        return self.ratio >= 0.5

    def as_dict(self):
        return {
            "workers": self.workers,
            "clients": self.clients,
            "booking": self.booking.as_dict(),
            "floor": self.floor.as_dict(),
            "ratio": round(self.ratio, 3),
            "booking_at_least_half_of_floor": self.meets_half,
            "floor_over_booking_cpu": cpu_ratio(self),
            "load_average_after": list(self.load_average),
        }


HEADINGS = (
    "workers",
    "clients",
    "booking req/s",
    "booking p95 ms",
    "floor req/s",
    "floor p95 ms",
    "booking/floor",
    ">= half",
    "load avg (1 min)",
)


def table(rows):
    """The load run's figures as a fixed-width text table, one line per worker count."""
    lines = [
        (
            str(row.workers),
            str(row.clients),
            f"{row.booking.per_second:.1f}",
            f"{row.booking.p95_ms:.1f}",
            f"{row.floor.per_second:.1f}",
            f"{row.floor.p95_ms:.1f}",
            f"{row.ratio:.2f}",
            "yes" if row.meets_half else "NO",
            f"{row.load_average[0]:.2f}" if row.load_average else "",
        )
        for row in rows
    ]
    return _aligned([HEADINGS, *lines])


def _aligned(lines):
    widths = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


CPU_HEADINGS = (
    "workers",
    "booking: worker",
    "PostgreSQL",
    "floor: worker",
    "PostgreSQL",
    "floor/booking CPU",
    "generator: booking",
    "floor",
)


def cpu_ratio(row):
    """The floor's CPU per request over the booking's, workers and PostgreSQL together: the
    booking/floor throughput ratio a machine limited by its CPU would give, and far steadier
    than the throughputs on a busy machine. None unless all four were read."""
    parts = (
        row.booking.worker_cpu_ms,
        row.booking.database_cpu_ms,
        row.floor.worker_cpu_ms,
        row.floor.database_cpu_ms,
    )
    if any(part is None for part in parts) or not parts[0] + parts[1]:
        return None
    return (parts[2] + parts[3]) / (parts[0] + parts[1])


def cpu_table(rows):
    """CPU per request (ms) of the workers and of PostgreSQL, booking and floor, where read, and of
    the load generator; None when nothing of the servers' was read."""

    def cell(value):
        return "" if value is None else f"{value:.1f}"

    lines = [
        (
            str(row.workers),
            cell(row.booking.worker_cpu_ms),
            cell(row.booking.database_cpu_ms),
            cell(row.floor.worker_cpu_ms),
            cell(row.floor.database_cpu_ms),
            "" if cpu_ratio(row) is None else f"{cpu_ratio(row):.2f}",
            cell(row.booking.client_cpu_ms),
            cell(row.floor.client_cpu_ms),
        )
        for row in rows
    ]
    if not any(any(line[1:6]) for line in lines):
        return None
    return _aligned([CPU_HEADINGS, *lines])
