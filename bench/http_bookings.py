"""Bookings over HTTP: gunicorn with two sync workers on the benchmark clinic, patients posting
the confirm form at once, as a server would take them (CONN_MAX_AGE as configured, DEBUG off).

    python -m bench.http_bookings [--requests 240] [--concurrency 2] [--workers 2]

Each request books a different free slot of the busiest doctor, for patients who may still book
(under the cap of upcoming appointments), with sessions and a CSRF cookie made beforehand.
Prints requests per second and the median and p95 time of a request; afterwards it deletes what
the bookings made (as bench.run does) and the sessions, and checks that every table it writes to
has as many rows as before. A measurement, not a test: nothing fails when a figure is slow.
"""

import argparse
import http.client
import os
import secrets
import signal
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from urllib.parse import urlencode

from bench.environment import configure_django, database_url

configure_django()

from django.conf import settings  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Patient  # noqa: E402
from bench.run import choose_target, percentile, release, watched_counts  # noqa: E402
from bench.servers import booking_form, free_port, start_gunicorn, wait_for  # noqa: E402
from bookings.models import Status  # noqa: E402

# A server connects the idle-session clock's login receiver when it loads its middleware, so a
# login's session carries its login time and last-seen mark. Without them, here, the first request
# of every session would also pay for the once-a-minute refresh (a query and a session write).
import_module("clinic.middleware")


def booking_patients(count, now):
    """Patients with a login, each as many times as they may still book (under the cap on
    upcoming appointments), `count` bookings in all at most."""
    upcoming = Q(
        appointments__end__gt=now, appointments__status__in=[Status.BOOKED, Status.CHECKED_IN]
    )
    cap = settings.BOOKING_MAX_OPEN_PER_PATIENT
    chosen = []
    patients = (
        Patient.objects.filter(user__isnull=False, user__is_active=True)
        .annotate(upcoming=Count("appointments", filter=upcoming))
        .filter(upcoming__lt=cap)
        .select_related("user")
        .order_by("upcoming", "pk")
    )
    for patient in patients.iterator():
        chosen += [patient] * (cap - patient.upcoming)
        if len(chosen) >= count:
            return chosen[:count]
    return chosen


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def main(argv=None):
    parser = argparse.ArgumentParser(description="Bookings over HTTP (see bench/README.md).")
    parser.add_argument("--requests", type=int, default=240)
    parser.add_argument("--warmup", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    now = timezone.now()
    target = choose_target(now)
    total = args.warmup + args.requests
    slots = target.booking_slots
    if len(slots) < total:
        sys.exit(f"Only {len(slots)} free slots a day or more ahead; ask for fewer requests.")
    bookers = booking_patients(total, now)
    if len(bookers) < total:
        sys.exit("Not enough patients under the cap of upcoming bookings; ask for fewer requests.")
    patients = {patient.pk: patient for patient in bookers}.values()
    counts_before = watched_counts()
    with override_settings(ALLOWED_HOSTS=["*"]):
        cookies = {patient.pk: session_cookie(patient.user) for patient in patients}
    # Django accepts any well-formed CSRF secret the client sends in both the cookie and the
    # form: no page needs fetching first.
    csrf = secrets.token_hex(16)
    url = reverse(
        "bookings:confirm", kwargs={"doctor_id": target.doctor.pk, "clinic_id": target.clinic.pk}
    )
    jobs = list(zip((slot.start for slot in slots), bookers, strict=False))

    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "False",
        # gunicorn on loopback speaks plain HTTP, so the HTTPS-only defaults are off.
        "PLAIN_HTTP": "True",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    server = start_gunicorn(port, environment, workers=args.workers)
    made = []
    try:
        wait_for(port, server)

        def post(job):
            start, patient = job
            body = urlencode(booking_form(start, csrf))
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.perf_counter()
            connection.request(
                "POST",
                url,
                body,
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookies[patient.pk]}; "
                    f"{settings.CSRF_COOKIE_NAME}={csrf}",
                    "Referer": f"http://127.0.0.1:{port}{url}",
                },
            )
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            connection.close()
            made.append((start, patient))
            if response.status != 302:
                raise RuntimeError(f"POST {url} answered {response.status}, not a 302 redirect")
            return elapsed

        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(post, jobs[: args.warmup]))
            began = time.perf_counter()
            timings = list(pool.map(post, jobs[args.warmup :]))
            wall = time.perf_counter() - began
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        for start, patient in made:
            release(target, start, patient=patient)
        Session.objects.filter(session_key__in=list(cookies.values())).delete()

    changed = {
        table: [counts_before[table], count]
        for table, count in watched_counts().items()
        if counts_before[table] != count
    }
    milliseconds = [seconds * 1000 for seconds in timings]
    print(
        f"{args.requests} booking POSTs over HTTP after {args.warmup} warm-up ones: gunicorn with "
        f"{args.workers} sync workers, {args.concurrency} at a time, CONN_MAX_AGE "
        f"{settings.DATABASES['default']['CONN_MAX_AGE']}; {os.cpu_count()} CPUs."
    )
    print(
        f"{args.requests / wall:.1f} requests per second; a request takes "
        f"{statistics.median(milliseconds):.1f} ms (median), {percentile(milliseconds, 0.95):.1f}"
        " ms (p95)."
    )
    if changed:
        sys.exit(f"The run changed the data: {changed}")
    print("The data is as the run found it (row counts of every table it writes to).")


if __name__ == "__main__":
    main()
