"""Measures the booking paths on the benchmark clinic that bench/build.py made.

For the busiest bookable doctor (most appointments in the coming month) it times, over repeated
runs after a warm-up:

1. the slot search over the whole 30-day booking window (bookings.selectors.open_slots);
2. the day's free-times page, GET bookings:day, as a logged-in patient through django.test.Client;
3. a booking, POST bookings:confirm, each run on a different free slot; what it makes (the
   appointment, its notices, its charge and their audit entries) is deleted afterwards (untimed)
   so that every run, and every `make bench`, sees the same data;
4. "first available" for the department with the most bookable doctors
   (bookings.first_available: its doctors at their clinics, then the next five free times across
   them), target median and p95 under 100 ms, and the department's doctors page that shows it;
5. the desk's patient search (accounts.selectors.search_patients) for part of a name, an email
   address and a phone number in turn.

While the booking views do not exist yet (NoReverseMatch), 2 and 3 measure what they will call:
open_slots for one day and bookings.services.book_appointment, and say so.

Then each report of clinic.reporting.REPORTS over the last 365 days for all clinics, departments
and doctors (per week where the report has periods), built as the reports page builds it
(ReportFilterForm's Scope, then report.build), with fewer runs: each takes far longer.

Prints median and p95 wall time, queries and statements (queries less transaction control) per
call, and writes them as JSON to bench/results/<UTC timestamp>.json. The targets are reported, not
enforced; what is enforced is that the run leaves the data as it found it: the row counts of every
table it writes to are compared before and after, and a difference fails the run.

    python -m bench.run [--runs 50] [--warmup 5] [--report-runs 10] [--report-warmup 1]
"""

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.environment import configure_django, describe_database

configure_django()

import django  # noqa: E402
from auditlog.context import disable_auditlog  # noqa: E402
from auditlog.models import LogEntry  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from knox.models import AuthToken  # noqa: E402

from accounts.models import Patient  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.selectors import search_patients  # noqa: E402
from api.slots import slot_id as api_slot_id  # noqa: E402
from bench.build import row_counts  # noqa: E402
from billing.models import Charge, Payment  # noqa: E402
from bookings import slot_pages  # noqa: E402
from bookings.first_available import department_pairs, first_available  # noqa: E402
from bookings.models import Appointment, Status  # noqa: E402
from bookings.selectors import open_slots  # noqa: E402
from bookings.services import book_appointment  # noqa: E402
from clinic.reporting import REPORTS, ReportFilterForm  # noqa: E402
from doctors.models import Clinic, Department, Doctor, VisitType  # noqa: E402
from doctors.selectors import bookable_doctors  # noqa: E402
from notifications.models import Notification  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# WhiteNoise looks for collectstatic's output, which the benchmark does not need.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
UTC = dt.UTC
# Bookings are made this far ahead at least, well clear of the minimum notice during the run.
BOOKING_LEAD = dt.timedelta(hours=24)
REPORT_DAYS = 365
REPORT_GRAIN = "week"


@dataclass
class Operation:
    name: str
    via: str  # "selector", "view", "service" or "report"
    run: Callable[[int], None]  # the measured call, given the run's number
    after: Callable[[int], None] = lambda number: None  # untimed clean-up
    target: str = ""
    meets_target: Callable[[dict], bool] = None
    note: str = ""


@dataclass
class Target:
    """The doctor, clinic, patient and times the runs use, chosen once."""

    doctor: Doctor
    clinic: Clinic
    patient: Patient
    staff_user: object
    day: dt.date
    booking_slots: list = field(default_factory=list)


def choose_target(now):
    window_end = now + dt.timedelta(days=settings.BOOKING_WINDOW_DAYS + 1)
    upcoming = Q(appointments__start__gte=now, appointments__start__lt=window_end) & ~Q(
        appointments__status=Status.CANCELLED
    )
    doctor = (
        Doctor.objects.bookable_on(timezone.localdate(now))
        .filter(working_hours__isnull=False)
        .select_related("department")
        .annotate(upcoming=Count("appointments", filter=upcoming, distinct=True))
        .order_by("-upcoming", "pk")
        .first()
    )
    if doctor is None:
        sys.exit("No bookable doctor in the benchmark database: run `python -m bench.build`.")
    clinic = Clinic.objects.filter(working_hours__doctor=doctor).distinct().first()
    patient = (
        Patient.objects.filter(user__isnull=False, user__is_active=True)
        .annotate(
            upcoming=Count(
                "appointments",
                filter=Q(
                    appointments__end__gt=now,
                    appointments__status__in=[Status.BOOKED, Status.CHECKED_IN],
                ),
            )
        )
        .select_related("user")
        .order_by("upcoming", "pk")
        .first()
    )
    staff_user = Group.objects.get(name=Role.FRONT_DESK).user_set.order_by("pk").first()
    slots = [
        slot
        for slot in open_slots(doctor=doctor, clinic=clinic, now=now)
        if slot.start >= now + BOOKING_LEAD
    ]
    if not slots:
        sys.exit(f"{doctor} has no free slot a day or more ahead; rebuild the data.")
    day = slots[0].local_start(clinic.zone).date()
    return Target(doctor, clinic, patient, staff_user, day, booking_slots=slots)


def release(target, start, patient=None):
    """Deletes what a booking run made, untimed, so that every run and every `make bench` sees the
    same data: the appointment, its notices, its charge and their audit entries.

    The booking committed as a real one does (its COMMIT is part of what is timed). A charge with
    payments would be ledger, which is never deleted: the benchmark makes none, and stops if one
    appears rather than delete it.
    """
    made = list(
        Appointment.objects.filter(
            doctor=target.doctor, start=start, patient=patient or target.patient
        ).exclude(status=Status.CANCELLED)
    )
    charges = list(Charge.objects.filter(appointment__in=made))
    if Payment.objects.filter(charge__in=charges).exists():
        sys.exit("A benchmark booking has payments; stopping rather than delete ledger entries.")
    with transaction.atomic(), disable_auditlog():
        for instances in (made, charges):
            if instances:
                LogEntry.objects.get_for_objects(
                    type(instances[0]).objects.filter(pk__in=[i.pk for i in instances])
                ).delete()
        Charge.objects.filter(pk__in=[charge.pk for charge in charges]).delete()
        # The notices go with their appointment (on_delete=CASCADE).
        Appointment.objects.filter(pk__in=[appointment.pk for appointment in made]).delete()


def watched_counts():
    """Rows of every table a benchmark run could write to, to show it left them as it found them."""
    return {
        **row_counts(),
        **{
            model._meta.db_table: model.objects.count()
            for model in (Notification, LogEntry, Session)
        },
    }


def operations(target, now, client):
    doctor, clinic, patient = target.doctor, target.clinic, target.patient
    slots = target.booking_slots

    def slot_for(number):
        return slots[number % len(slots)]

    search = Operation(
        name=f"slot search, {settings.BOOKING_WINDOW_DAYS}-day window",
        via="selector",
        run=lambda number: open_slots(doctor=doctor, clinic=clinic, now=now),
        target="median < 50 ms, <= 6 queries",
        meets_target=lambda r: r["median_ms"] < 50 and r["queries_max"] <= 6,
    )

    # Mixed visit lengths (issue 15): the same search for a 45-minute visit type with 10 minutes
    # kept free after it, whose starts step along the doctor's grid and whose every candidate
    # checks its buffers against the appointments' own (an unsaved type: the search only reads
    # it, and the run writes nothing).
    procedure = VisitType(
        name="Procedure",
        department=doctor.department,
        minutes=45,
        buffer_before_minutes=5,
        buffer_after_minutes=10,
    )
    typed_search = Operation(
        name=f"slot search for a 45-minute visit with buffers, {settings.BOOKING_WINDOW_DAYS}-day "
        "window",
        via="selector",
        run=lambda number: open_slots(doctor=doctor, clinic=clinic, now=now, visit_type=procedure),
        target="median < 50 ms, <= 6 queries",
        meets_target=lambda r: r["median_ms"] < 50 and r["queries_max"] <= 6,
    )

    try:
        day_url = reverse(
            "bookings:day",
            kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, "day": target.day.isoformat()},
        )
    except NoReverseMatch:
        day_page = Operation(
            name="day's free times (open_slots, 1 day)",
            via="selector",
            run=lambda number: open_slots(
                doctor=doctor, clinic=clinic, now=now, first_day=target.day, last_day=target.day
            ),
            note="bookings:day does not exist yet; measured the selector the page will call",
        )
    else:

        def get_day_page(number):
            response = client.get(day_url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {day_url} answered {response.status_code}, not 200")

        day_page = Operation(name="day's free-times page GET", via="view", run=get_day_page)

    try:
        confirm_url = reverse(
            "bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk}
        )
    except NoReverseMatch:

        def book(number):
            book_appointment(
                patient=patient,
                doctor=doctor,
                clinic=clinic,
                start=slot_for(number).start,
                appointment_type="consultation",
                payment_mode="at_clinic",
                reason="",
                by=patient.user,
            )

        booking = Operation(
            name="booking (book_appointment)",
            via="service",
            run=book,
            note="bookings:confirm does not exist yet; measured the service the view will call",
        )
    else:

        def post_booking(number):
            start = slot_for(number).start.astimezone(UTC)
            response = client.post(
                confirm_url,
                {
                    "start": start.strftime("%Y-%m-%dT%H:%MZ"),
                    "appointment_type": "consultation",
                    "payment_mode": "at_clinic",
                    "reason": "",
                },
            )
            if response.status_code != 302:
                raise RuntimeError(
                    f"POST {confirm_url} for {start:%Y-%m-%d %H:%M} UTC answered "
                    f"{response.status_code}, not a 302 redirect"
                )

        booking = Operation(name="booking POST", via="view", run=post_booking)
    booking.after = lambda number: release(target, slot_for(number).start)
    booking.target = "median < 30 ms"
    booking.meets_target = lambda r: r["median_ms"] < 30
    return [search, typed_search, day_page, booking]


# How much slower than the page's own figure the API's row may be (issue 11).
API_TOLERANCE = 1.5


def api_operations(target, now, page_results, token):
    """The API's slot search over the whole booking window and its booking, as an integration
    or a patient's app calls them (the patient's token, JSON in and out, the throttles
    counting), each held to API_TOLERANCE times the page row named after it in `page_results`:
    the slot search to the selector's row, the booking to the booking page's POST."""
    doctor, clinic = target.doctor, target.clinic
    slots = target.booking_slots
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT="application/json")
    first_day, last_day = slot_pages.window(clinic, now)
    slots_url = reverse("api:slots")
    query = {
        "doctor": doctor.pk,
        "clinic": clinic.pk,
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "page_size": 100,
    }
    page_figure = {r["via"] + ":" + r["operation"].split(",")[0]: r for r in page_results}

    def within(page_key):
        page = page_figure.get(page_key)
        return lambda r: page is not None and r["median_ms"] <= API_TOLERANCE * page["median_ms"]

    def get_slots(number):
        response = client.get(slots_url, query)
        if response.status_code != 200:
            raise RuntimeError(f"GET {slots_url} answered {response.status_code}, not 200")

    def slot_for(number):
        return slots[number % len(slots)]

    booking_url = reverse("api:appointments")

    def post_booking(number):
        start = slot_for(number).start
        body = {
            "slot": api_slot_id(doctor, clinic, start),
            "appointment_type": "consultation",
            "payment_mode": "at_clinic",
            "reason": "",
        }
        response = client.post(booking_url, json.dumps(body), content_type="application/json")
        if response.status_code != 201:
            raise RuntimeError(
                f"POST {booking_url} for {start.astimezone(UTC):%Y-%m-%d %H:%M} UTC answered "
                f"{response.status_code}, not 201: {response.content[:200]!r}"
            )

    return [
        Operation(
            name=f"API slot search, {settings.BOOKING_WINDOW_DAYS}-day window",
            via="api",
            run=get_slots,
            target=f"median <= {API_TOLERANCE}x the selector's",
            meets_target=within("selector:slot search"),
            note="API slot search: GET /api/v1/slots/ from today to the window's end, "
            "100 slots a page (every day's slots are computed, as the selector's row does)",
        ),
        Operation(
            name="API booking POST",
            via="api",
            run=post_booking,
            after=lambda number: release(target, slot_for(number).start),
            target=f"median <= {API_TOLERANCE}x the page's POST",
            meets_target=within("view:booking POST"),
        ),
    ]


def busiest_department(now):
    """The department with the most doctors taking bookings (the widest first-available search),
    with that number."""
    bookable = bookable_doctors(now=now).values("pk")
    department = (
        Department.objects.annotate(
            doctor_count=Count("doctors", filter=Q(doctors__in=bookable), distinct=True)
        )
        .order_by("-doctor_count", "pk")
        .first()
    )
    if department is None or not department.doctor_count:
        sys.exit("No department has a bookable doctor: run `python -m bench.build`.")
    return department


FIRST_AVAILABLE_TARGET_MS = 100


def first_available_operations(now, client):
    """ "First available" for the department with the most doctors: the selector (its doctors at
    their clinics, then the search) and the department's doctors page that shows it, as a
    logged-in patient. The target, median and p95 under 100 ms, is the selector's."""
    department = busiest_department(now)
    pairs = department_pairs(department, now=now)
    url = reverse("bookings:doctors", kwargs={"department_id": department.pk})

    def get_page(number):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}, not 200")

    found = first_available(pairs, now=now)
    about = (
        f"first available: department {department.pk}, {department.doctor_count} doctors at "
        f"{len(pairs)} (doctor, clinic) pairs; the {len(found)} times found start "
        + (
            f"{min(t.start for t in found):%Y-%m-%d %H:%M} to "
            f"{max(t.start for t in found):%Y-%m-%d %H:%M} UTC"
            if found
            else "nowhere (nothing free in the window)"
        )
    )
    return [
        Operation(
            name=f"first available, {department.doctor_count} doctors",
            via="selector",
            run=lambda number: first_available(department_pairs(department, now=now), now=now),
            target=f"median and p95 < {FIRST_AVAILABLE_TARGET_MS} ms",
            meets_target=lambda r: (
                r["median_ms"] < FIRST_AVAILABLE_TARGET_MS
                and r["p95_ms"] < FIRST_AVAILABLE_TARGET_MS
            ),
            note=about,
        ),
        Operation(name="department's doctors page GET (first available)", via="view", run=get_page),
    ]


def api_token(user):
    """A token for the API rows (what a patient's app holds), and its clean-up."""
    instance, token = AuthToken.objects.create(user=user)
    return token, lambda: AuthToken.objects.filter(pk=instance.pk).delete()


# Every request of the API rows would soon be throttled (60 writes a minute per token): the
# throttle still runs and counts, at a rate the benchmark does not reach.
API_UNTHROTTLED = {
    **settings.REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(
        settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "1000000/m"
    ),
}


def search_terms():
    """What the desk types to find a patient: part of a name, of an email address, or of a phone
    number, each taken from a patient of the benchmark (so each search finds someone)."""
    patients = list(
        Patient.objects.exclude(email="")
        .exclude(phone="")
        .order_by("pk")
        .values_list("full_name", "email", "phone")[1000:1003]
    )
    terms = []
    for full_name, email, phone in patients:
        surname = full_name.split()[-1]
        terms += [surname[1:5], email.split("@")[0][2:8], phone[-6:]]
    return terms


def search_operation():
    terms = search_terms()
    count = Patient.objects.count()
    return Operation(
        name=f"patient search, {count:,} patients",
        via="selector",
        run=lambda number: search_patients(terms[number % len(terms)]),
        target="median < 20 ms",
        meets_target=lambda r: r["median_ms"] < 20,
        note="patient search: part of a name, an email address and a phone number in turn",
    )


def report_operations(now):
    """Each report over the last REPORT_DAYS days, unfiltered: the Scope comes from the reports
    page's own form, so the figures are what a clinic admin's page costs (less the template)."""
    today = timezone.localdate(now)
    form = ReportFilterForm(
        {
            "start": (today - dt.timedelta(days=REPORT_DAYS - 1)).isoformat(),
            "end": today.isoformat(),
            "grain": REPORT_GRAIN,
        }
    )
    if not form.is_valid():
        sys.exit(f"The reports' filter form refused the benchmark's range: {form.errors}")
    grain = form.cleaned_data["grain"]

    def build(report):
        # A fresh Scope each run, as each request makes its own (nothing cached between runs).
        return lambda number: report.build(form.scope(), grain)

    return [
        Operation(
            name=f"report: {report.title}, {REPORT_DAYS} days"
            + (f" per {grain}" if report.uses_grain else ""),
            via="report",
            run=build(report),
            target="median < 500 ms",
            meets_target=lambda r: r["median_ms"] < 500,
        )
        for report in REPORTS.values()
    ]


def percentile(values, share):
    """Nearest-rank percentile: the smallest value with `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def statements(captured):
    """The queries that do the work, not transaction control (BEGIN, SAVEPOINT, COMMIT...)."""
    return [
        query
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(TRANSACTION_CONTROL)
    ]


def measure(operation, runs, warmup):
    timings, query_counts, statement_counts = [], [], []
    for number in range(warmup + runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            operation.run(number)
            elapsed = time.perf_counter() - started
        operation.after(number)
        if number >= warmup:
            timings.append(elapsed * 1000)
            query_counts.append(len(captured))
            statement_counts.append(len(statements(captured)))
    result = {
        "operation": operation.name,
        "via": operation.via,
        "runs": runs,
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 0.95), 2),
        "min_ms": round(min(timings), 2),
        "max_ms": round(max(timings), 2),
        "queries_median": statistics.median(query_counts),
        "queries_max": max(query_counts),
        "statements_median": statistics.median(statement_counts),
        "statements_max": max(statement_counts),
        "target": operation.target,
        "note": operation.note,
        "sql_of_last_run": [query["sql"] for query in captured.captured_queries],
    }
    result["target_met"] = operation.meets_target(result) if operation.meets_target else None
    return result


def print_table(results):
    headers = ["operation", "via", "runs", "median ms", "p95 ms", "queries", "statements", "target"]

    def spread(r, name):
        low, high = r[f"{name}_median"], r[f"{name}_max"]
        return f"{high}" if low == high else f"{low:g}-{high}"

    rows = []
    for r in results:
        verdict = "" if r["target_met"] is None else (" met" if r["target_met"] else " MISSED")
        target = f"{r['target']}{verdict}" if r["target"] else ""
        rows.append(
            [
                r["operation"],
                r["via"],
                str(r["runs"]),
                f"{r['median_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                spread(r, "queries"),
                spread(r, "statements"),
                target,
            ]
        )
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    numeric = {2, 3, 4, 5, 6}

    def line(cells):
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ).rstrip()

    print(line(headers))
    print(line(["-" * width for width in widths]))
    for row in rows:
        print(line(row))
    for r in results:
        if r["note"]:
            print(f"Note: {r['note']}.")


def print_queries(results):
    for r in results:
        print(f"\n{r['operation']}: {len(r['sql_of_last_run'])} queries in the last run")
        for number, query in enumerate(r["sql_of_last_run"], 1):
            print(f"{number:>3}. {query if len(query) <= 200 else query[:197] + '...'}")


def git_commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=RESULTS_DIR.parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description="Measure the booking paths (see bench/README.md).")
    parser.add_argument("--runs", type=int, default=50, help="measured runs of each (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured runs first (default 5)")
    parser.add_argument(
        "--report-runs",
        type=int,
        default=10,
        help="measured runs of each report (default 10; 0 skips the reports)",
    )
    parser.add_argument(
        "--report-warmup",
        type=int,
        default=1,
        help="unmeasured runs of each report first (default 1)",
    )
    parser.add_argument(
        "--show-queries",
        action="store_true",
        help="also print the SQL of each operation's last run",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    if args.report_runs < 0 or args.report_warmup < 0:
        parser.error("--report-runs and --report-warmup must be at least 0")

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        sys.exit("The benchmark database lacks migrations: run `python -m bench.build` first.")
    if not Doctor.objects.exists():
        sys.exit("The benchmark database is empty: run `python -m bench.build` first.")
    now = timezone.now()
    target = choose_target(now)
    counts_before = watched_counts()
    # As the test suite does: plain static file URLs (production's manifest needs collectstatic),
    # and the test client's host name.
    with override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        client = Client()
        client.force_login(target.patient.user)
        results = [measure(op, args.runs, args.warmup) for op in operations(target, now, client)]
        results += [
            measure(op, args.runs, args.warmup) for op in first_available_operations(now, client)
        ]
        client.logout()  # its session row goes with it
        token, forget_token = api_token(target.patient.user)
        with override_settings(REST_FRAMEWORK=API_UNTHROTTLED):
            results += [
                measure(op, args.runs, args.warmup)
                for op in api_operations(target, now, results, token)
            ]
        forget_token()
    results.append(measure(search_operation(), args.runs, args.warmup))
    counts_after = watched_counts()
    changed = {
        table: [counts_before[table], counts_after[table]]
        for table in counts_before
        if counts_before[table] != counts_after[table]
    }
    if args.report_runs:
        results += [
            measure(op, args.report_runs, args.report_warmup) for op in report_operations(now)
        ]

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres_version = cursor.fetchone()[0]
    rows = row_counts()
    report = {
        "measured_at": now.isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "database": describe_database(),
        "postgresql": postgres_version,
        "django": django.get_version(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "debug": settings.DEBUG,
        "runs": args.runs,
        "warmup": args.warmup,
        "report_runs": args.report_runs,
        "report_warmup": args.report_warmup,
        "report_days": REPORT_DAYS,
        "rows": rows,
        "rows_total": sum(rows.values()),
        "rows_unchanged": not changed,
        "rows_changed": changed,
        "subject": {
            "doctor_id": target.doctor.pk,
            "clinic_id": target.clinic.pk,
            "clinic_timezone": target.clinic.timezone,
            "slot_minutes": target.doctor.slot_minutes,
            "appointments_in_window": target.doctor.upcoming,
            "free_slots_in_window": len(
                open_slots(doctor=target.doctor, clinic=target.clinic, now=now)
            ),
            "day": target.day.isoformat(),
            "patient_id": target.patient.pk,
        },
        "results": results,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")

    subject = report["subject"]
    print(
        f"{report['rows_total']:,} rows in {report['database']}; doctor {subject['doctor_id']} "
        f"({subject['slot_minutes']}-minute slots, {subject['appointments_in_window']} "
        f"appointments and {subject['free_slots_in_window']} free slots in the window) at "
        f"clinic {subject['clinic_id']} ({subject['clinic_timezone']}); day page for "
        f"{subject['day']}. {args.runs} runs each after {args.warmup} warm-up runs"
        + (f"; reports {args.report_runs} after {args.report_warmup}." if args.report_runs else ".")
    )
    print_table(results)
    print("Queries: all SQL sent; statements: less transaction control (BEGIN, SAVEPOINT, COMMIT).")
    if report["rows_unchanged"]:
        print("The data is as the run found it (row counts of every table it writes to).")
    else:
        print(f"The run changed the data: {report['rows_changed']}", file=sys.stderr)
    if args.show_queries:
        print_queries(results)
    print(f"Written to {path.relative_to(RESULTS_DIR.parent.parent)}")
    if changed:
        sys.exit(1)


if __name__ == "__main__":
    main()
