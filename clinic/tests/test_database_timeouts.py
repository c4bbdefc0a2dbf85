"""No page waits for ever on PostgreSQL: a booking that cannot get its locks in time, or a
statement that runs too long, answers 503 "please try again" (never a 500, never a hung worker).

Real locks held by another connection, on PostgreSQL (skipped elsewhere; CI fails on skips).
Each request runs in a thread of its own, so it opens a connection of its own, with the options
and limits a web worker's connection gets.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import OperationalError, connection, transaction
from django.http import JsonResponse
from django.test import Client
from django.urls import path, reverse

from accounts.tests.factories import PatientFactory
from bookings.forms import slot_token
from bookings.models import Appointment
from bookings.scheduling import at
from clinic.database_timeouts import ran_out_of_time
from clinic.tests.concurrency import postgresql_only, run_concurrently
from doctors.models import Doctor
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)
TUESDAY = MONDAY + dt.timedelta(days=1)
NOW = at(MONDAY, dt.time(8), KOLKATA)
SHORT_MS = 300


def seconds_of(setting):
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXTRACT(EPOCH FROM current_setting(%s)::interval)", [setting])
        return float(cursor.fetchone()[0])


def limits_seen():
    """A view that tells which limits its own connection has."""
    return JsonResponse({name: seconds_of(name) for name in ("lock_timeout", "statement_timeout")})


def slow_page(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")
    return JsonResponse({})


urlpatterns = [
    path("limits/", lambda request: limits_seen()),
    path("slow/", slow_page),
]


@pytest.fixture(autouse=True)
def on_postgresql():
    postgresql_only()


@pytest.fixture
def short_lock_waits(monkeypatch):
    """New connections (each request's thread opens one) wait SHORT_MS for a lock."""
    monkeypatch.setitem(
        connection.settings_dict["OPTIONS"], "options", f"-c lock_timeout={SHORT_MS}"
    )


def test_every_connection_waits_a_limited_time_for_a_lock(settings):
    [lock_timeout] = run_concurrently(lambda: seconds_of("lock_timeout"))
    assert lock_timeout == settings.DATABASE_LOCK_TIMEOUT_SECONDS > 0


def test_every_connection_waits_a_limited_time_to_connect(settings):
    """libpq's own limit, in each connection's parameters: a database host that drops packets
    makes /readyz answer 503 after it, not hang the balancer's probe."""

    def connect_timeout_in_use():
        connection.ensure_connection()
        return connection.connection.get_dsn_parameters()["connect_timeout"]

    [in_use] = run_concurrently(connect_timeout_in_use)
    assert int(in_use) == settings.DATABASE_CONNECT_TIMEOUT_SECONDS == 5


def test_only_web_requests_limit_how_long_a_statement_runs(settings):
    settings.ROOT_URLCONF = __name__
    settings.DATABASE_STATEMENT_TIMEOUT_SECONDS = 12.5
    [in_a_request, outside] = run_concurrently(
        lambda: Client().get("/limits/").json(),
        # The notification worker, migrate and other commands.
        lambda: seconds_of("statement_timeout"),
    )
    assert in_a_request == {
        "lock_timeout": settings.DATABASE_LOCK_TIMEOUT_SECONDS,
        "statement_timeout": 12.5,
    }
    assert outside == 0


def test_a_statement_that_runs_too_long_asks_the_visitor_to_try_again(settings, caplog):
    settings.ROOT_URLCONF = __name__
    settings.DATABASE_STATEMENT_TIMEOUT_SECONDS = SHORT_MS / 1000
    [response] = run_concurrently(lambda: Client(raise_request_exception=False).get("/slow/"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "try again" in response.content.decode()
    assert "SQLSTATE 57014" in caplog.text


@pytest.fixture
def bookable():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )
    WorkingHoursFactory(
        doctor=doctor,
        clinic=clinic,
        weekday=TUESDAY.weekday(),
        starts_at=dt.time(9),
        ends_at=dt.time(12),
    )
    patient = PatientFactory(with_account=True)
    url = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    body = {
        "start": slot_token(at(TUESDAY, dt.time(9), KOLKATA)),
        "appointment_type": "consultation",
        "payment_mode": "at_clinic",
        "reason": "",
    }

    def book():
        client = Client(raise_request_exception=False)
        client.force_login(patient.user)
        return client.post(url, body)

    return doctor, book


def test_a_booking_that_cannot_get_its_locks_in_time_asks_the_patient_to_try_again(
    settings, bookable, short_lock_waits, caplog
):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    doctor, book = bookable
    with time_machine.travel(NOW, tick=False):
        with transaction.atomic():
            # Another booking (or a long report) holds the doctor's row.
            Doctor.objects.select_for_update().get(pk=doctor.pk)
            [response] = run_concurrently(book)

        assert response.status_code == 503
        assert "try again" in response.content.decode()
        assert not Appointment.objects.exists()
        assert "SQLSTATE 55P03" in caplog.text

        # Once the lock is free, the same booking goes through.
        [response] = run_concurrently(book)
    assert response.status_code == 302
    assert Appointment.objects.count() == 1


def test_other_database_errors_are_not_taken_for_a_busy_database():
    assert not ran_out_of_time(OperationalError("could not connect to server"))
    assert not ran_out_of_time(ValueError("55P03"))


def test_an_api_request_that_waits_too_long_gets_the_json_busy_answer(
    settings, short_lock_waits, caplog
):
    DepartmentFactory()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A migration (or anything else) holds the departments' table.
            cursor.execute("LOCK TABLE doctors_department IN ACCESS EXCLUSIVE MODE")
        [response] = run_concurrently(
            lambda: Client(raise_request_exception=False).get(reverse("api:departments"))
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "busy"
    assert "SQLSTATE 55P03" in caplog.text
