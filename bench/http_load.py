"""The load run over HTTP: booking throughput and p95 against the framework floor, with 1, 2 and 4
gunicorn workers (bench/README.md, "The load run over HTTP").

    python -m bench.http_load [--workers 1 2 4] [--requests 400] [--floor-requests 800]
                              [--warmup 20] [--clients-per-worker 2] [--floor read|write]

For each worker count it starts gunicorn on loopback as production does (sync workers, the same
options as deploy/start-web.sh, a metrics directory of its own) with the bench server's settings
(bench/load_settings.py: the portal's URLs plus a trivial floor page), and drives it with a
closed-loop load generator (bench/loadgen.py) of twice as many clients as workers:

- the floor: GET of the floor page by logged-in patients (every middleware, the session and the
  user read, a two-byte answer); with --floor write, a POST of the write floor instead, which
  also passes the CSRF check and commits one small change (the session's counter);
- bookings: POST of the confirm form as bench/http_bookings.py posts it, each request a different
  free slot of the busiest doctor for patients still under the cap. Every answer must be the
  redirect to the booked page; anything else is counted, reported and fails the run.

Between worker counts, and at the end, what the bookings made is deleted (bench.run's release), so
each worker count books the same slots; at the end the sessions go too and the row counts of every
table the run writes to are compared with the ones before it. A measurement, not a test: nothing
fails when a figure is slow (booking under half the floor's throughput is reported, not fatal).
"""

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import time
from importlib import import_module
from urllib.parse import urlencode

from bench.environment import configure_django, database_url, describe_database

configure_django()

from django.conf import settings  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import cpu, load_urls  # noqa: E402
from bench.http_bookings import booking_patients, session_cookie  # noqa: E402
from bench.loadgen import (  # noqa: E402
    Row,
    answer_problem,
    closed_loop,
    cpu_table,
    http_request,
    table,
)
from bench.run import (  # noqa: E402
    RESULTS_DIR,
    choose_target,
    git_commit,
    release,
    watched_counts,
)
from bench.servers import booking_form, free_port, start_gunicorn, wait_for  # noqa: E402

BENCH_SETTINGS = "bench.load_settings"


def session_store(session_key):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def main(argv=None):
    parser = argparse.ArgumentParser(description="The load run over HTTP (see bench/README.md).")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--requests", type=int, default=400, help="booking POSTs per worker count")
    parser.add_argument("--floor-requests", type=int, default=800, help="floor GETs per count")
    parser.add_argument("--warmup", type=int, default=20, help="of each kind, per worker count")
    parser.add_argument("--clients-per-worker", type=int, default=2)
    parser.add_argument(
        "--floor",
        choices=["read", "write"],
        default="read",
        help="the floor page: a logged-in GET (read) or a POST committing one small change (write)",
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.floor_requests < 1:
        sys.exit("Ask for at least one request of each kind.")

    now = timezone.now()
    target = choose_target(now)
    # Each worker count books the same slots (deleted in between): the busiest doctor's free
    # slots a day or more ahead bound the requests. Fewer than asked is said, not fatal, so that
    # `make bench` on data built days ago still runs; too few to measure stops the run.
    bookers = booking_patients(args.warmup + args.requests, now)
    available = min(len(target.booking_slots), len(bookers))
    if available - args.warmup < min(args.requests, 50):
        sys.exit(
            f"Only {available} free slots or bookable patients for {args.warmup} warm-up and "
            f"{args.requests} measured bookings; rebuild the data or ask for fewer requests."
        )
    if available - args.warmup < args.requests:
        print(
            f"Only {available} free slots or bookable patients: {available - args.warmup} bookings."
        )
        args.requests = available - args.warmup
    per_round = args.warmup + args.requests
    slots = target.booking_slots[:per_round]
    bookers = bookers[:per_round]
    patients = list({patient.pk: patient for patient in bookers}.values())
    counts_before = watched_counts()
    with override_settings(ALLOWED_HOSTS=["*"]):
        cookies = {patient.pk: session_cookie(patient.user) for patient in patients}
    # Any well-formed CSRF secret sent in both the cookie and the form passes (bench.servers).
    csrf = secrets.token_hex(16)
    confirm_url = reverse(
        "bookings:confirm", kwargs={"doctor_id": target.doctor.pk, "clinic_id": target.clinic.pk}
    )
    floor_url = "/" + (
        load_urls.WRITE_FLOOR_ROUTE if args.floor == "write" else load_urls.FLOOR_ROUTE
    )
    jobs = list(zip((slot.start for slot in slots), bookers, strict=True))

    def cookie_of(patient):
        return (
            f"{settings.SESSION_COOKIE_NAME}={cookies[patient.pk]}; "
            f"{settings.CSRF_COOKIE_NAME}={csrf}"
        )

    metrics_root = tempfile.mkdtemp(prefix="clinic-bench-metrics-")
    rows = []
    try:
        for workers in args.workers:
            rows.append(
                measure_workers(
                    workers=workers,
                    clients=workers * args.clients_per_worker,
                    args=args,
                    jobs=jobs,
                    patients=patients,
                    cookie_of=cookie_of,
                    csrf=csrf,
                    confirm_url=confirm_url,
                    floor_url=floor_url,
                    target=target,
                    metrics_dir=os.path.join(metrics_root, f"workers-{workers}"),
                )
            )
    finally:
        shutil.rmtree(metrics_root, ignore_errors=True)
        # Through the session engine, so that a cached one (REDIS_URL) leaves the cache too.
        for session_key in cookies.values():
            session_store(session_key).delete()
        Session.objects.filter(session_key__in=list(cookies.values())).delete()

    changed = {
        table_name: [counts_before[table_name], count]
        for table_name, count in watched_counts().items()
        if counts_before[table_name] != count
    }
    report(args, rows, target)
    problems = [
        f"{row.workers} workers, {kind}: {dict(summary.problems)}"
        for row in rows
        for kind, summary in (("booking", row.booking), ("floor", row.floor))
        if summary.errors
    ]
    if changed:
        sys.exit(f"The run changed the data: {changed}")
    print("The data is as the run found it (row counts of every table it writes to).")
    if problems:
        sys.exit("Some answers were not the expected ones: " + "; ".join(problems))


def measure_workers(
    *,
    workers,
    clients,
    args,
    jobs,
    patients,
    cookie_of,
    csrf,
    confirm_url,
    floor_url,
    target,
    metrics_dir,
):
    """Starts gunicorn with `workers` sync workers, measures the floor and then the bookings, and
    stops it; then deletes what the bookings made. Returns the Row."""
    port = free_port()
    os.makedirs(metrics_dir)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": BENCH_SETTINGS,
        "DATABASE_URL": database_url(),
        "DEBUG": "False",
        # gunicorn on loopback speaks plain HTTP, so the HTTPS-only defaults are off.
        "PLAIN_HTTP": "True",
        "ALLOWED_HOSTS": "127.0.0.1",
        # As deploy/start-web.sh runs an app server: prometheus-client's multiprocess mode, in an
        # empty directory of this server's own.
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        # WhiteNoise looks for collectstatic's output, which the load run does not need.
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }
    server = start_gunicorn(port, environment, workers=workers)
    floor_jobs = [patients[number % len(patients)] for number in range(args.floor_requests)]
    try:
        wait_for(port, server)

        def get_floor(patient):
            if args.floor == "write":
                status, headers, body = http_request(
                    port,
                    "POST",
                    floor_url,
                    urlencode({"csrfmiddlewaretoken": csrf}),
                    {
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": cookie_of(patient),
                        "Referer": f"http://127.0.0.1:{port}{floor_url}",
                    },
                )
            else:
                status, headers, body = http_request(
                    port, "GET", floor_url, headers={"Cookie": cookie_of(patient)}
                )
            problem = answer_problem(status, headers, 200, None)
            return problem or (None if body == b"ok" else "200 without the floor's body")

        def post_booking(job):
            start, patient = job
            status, headers, _ = http_request(
                port,
                "POST",
                confirm_url,
                urlencode(booking_form(start, csrf)),
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookie_of(patient),
                    "Referer": f"http://127.0.0.1:{port}{confirm_url}",
                },
            )
            return answer_problem(status, headers, 302, "bookings:booked")

        closed_loop(get_floor, floor_jobs[: args.warmup], clients)
        floor = with_cpu(lambda: closed_loop(get_floor, floor_jobs, clients), server.pid)
        closed_loop(post_booking, jobs[: args.warmup], clients)
        booking = with_cpu(
            lambda: closed_loop(post_booking, jobs[args.warmup :], clients), server.pid
        )
        load_average = os.getloadavg()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        for start, patient in jobs:
            release(target, start, patient=patient)
    return Row(workers, clients, booking, floor, load_average)


def database_cpu_reader():
    """A function giving PostgreSQL's CPU so far, in seconds, for the load run's database, or
    None when PostgreSQL is not on this machine or /proc does not show it.

    At CONN_MAX_AGE=0 each request has a backend of its own, counted when it exits: the
    postmaster's reaped children (which also counts other databases' backends that ended
    meanwhile). With connections kept, the workers' backends live through the run: the CPU of
    the live backends on this database, other than this process's own."""
    host = settings.DATABASES["default"].get("HOST") or "localhost"
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_backend = cursor.fetchone()[0]
    if not settings.DATABASES["default"]["CONN_MAX_AGE"]:
        postmaster = cpu.parent_of(own_backend)
        if postmaster is None or cpu.reaped_children_cpu_seconds(postmaster) is None:
            return None
        return lambda: cpu.reaped_children_cpu_seconds(postmaster)

    def live_backends():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            pids = [row[0] for row in cursor.fetchall()]
        readings = [cpu.own_cpu_seconds(pid) for pid in pids]
        return sum(seconds for seconds in readings if seconds is not None)

    return live_backends if cpu.own_cpu_seconds(own_backend) is not None else None


def with_cpu(run, server_pid):
    """run()'s Summary with the CPU per request of the server's workers and of PostgreSQL
    (database_cpu_reader), where they can be read."""
    database_cpu = database_cpu_reader()
    workers_before = cpu.workers_cpu_seconds(server_pid)
    database_before = database_cpu and database_cpu()
    client_before = time.process_time()
    summary = run()
    client_after = time.process_time()
    workers_after = cpu.workers_cpu_seconds(server_pid)
    database_after = database_cpu and database_cpu()
    if summary.requests:
        summary.client_cpu_ms = (client_after - client_before) * 1000 / summary.requests
        if workers_before is not None and workers_after is not None:
            summary.worker_cpu_ms = (workers_after - workers_before) * 1000 / summary.requests
        if database_before is not None and database_after is not None:
            summary.database_cpu_ms = (database_after - database_before) * 1000 / summary.requests
    return summary


def report(args, rows, target):
    print(
        f"Load run over HTTP: {args.requests} booking POSTs and {args.floor_requests} floor "
        f"{'POSTs (write floor)' if args.floor == 'write' else 'GETs'} per worker count after "
        f"{args.warmup} warm-up ones of each; gunicorn sync workers, "
        f"{args.clients_per_worker} clients per worker (closed loop), CONN_MAX_AGE "
        f"{settings.DATABASES['default']['CONN_MAX_AGE']}, sessions "
        f"{settings.SESSION_ENGINE.rsplit('.', 1)[-1]}; {os.cpu_count()} CPUs."
    )
    print(table(rows))
    cpu_figures = cpu_table(rows)
    if cpu_figures:
        print(
            "CPU per request, ms (the workers' own; PostgreSQL's: "
            + (
                "the workers' backends):"
                if settings.DATABASES["default"]["CONN_MAX_AGE"]
                else "its exited backends, which also counts other databases' work meanwhile):"
            )
        )
        print(cpu_figures)
    for row in rows:
        for kind, summary in (("booking", row.booking), ("floor", row.floor)):
            if summary.errors:
                print(f"  {row.workers} workers, {kind}: {dict(summary.problems)}")
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"load-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "database": describe_database(),
                "git_commit": git_commit(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
                "session_engine": settings.SESSION_ENGINE,
                "doctor": target.doctor.pk,
                "arguments": vars(args),
                "rows": [row.as_dict() for row in rows],
            },
            indent=2,
        )
    )
    print(f"Figures written to {path.relative_to(RESULTS_DIR.parent.parent)}.")


if __name__ == "__main__":
    main()
