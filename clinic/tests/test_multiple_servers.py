"""Two app servers, one database and one Redis (issue 13): two gunicorn instances on loopback
ports share the PostgreSQL test database and a Redis database of their own (cache and sessions),
as deploy/compose.yaml runs web1 and web2.

Patients race for the same slots through both servers: each slot is booked exactly once and
every other patient is sent back with the "just taken" message, never an error page. A login made
on one server is a login on the other, and a logout on either ends it on both.

Needs PostgreSQL (the servers are other processes: they see only committed rows) and Redis;
without them the tests are skipped (under CI=true, failed).
"""

import datetime as dt
import os
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from bench.servers import booking_form, free_port, start_gunicorn, wait_for
from bookings.models import Appointment
from clinic.tests.concurrency import (
    TEST_SERVERS_REDIS_URL,
    WAIT_SECONDS,
    database_url_for_processes,
    postgresql_only,
    redis_only,
)
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KOLKATA = ZoneInfo("Asia/Kolkata")
SLOTS = 6
CONTENDERS = 4  # patients per slot, alternating between the two servers
JUST_TAKEN = "Sorry, that time was just taken."
CSRF = "a" * 32  # any well-formed secret sent in both the cookie and the form
# The servers' host-only cookies are kept under this domain: cookies set by the test go there
# too, so that a server's new value replaces the test's instead of sitting beside it.
LOOPBACK = "127.0.0.1"


@pytest.fixture
def shared_redis():
    """The servers' Redis database, emptied before and after (nothing else lives there)."""
    url = redis_only(TEST_SERVERS_REDIS_URL)
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class Server:
    def __init__(self, name, process, port, log):
        self.name = name
        self.process = process
        self.port = port
        self.log = log

    def url(self, path):
        return f"http://{LOOPBACK}:{self.port}{path}"


@pytest.fixture
def servers(shared_redis, tmp_path):
    """Two gunicorn instances with two workers each, as production runs them (its settings, not
    the test settings; DEBUG off) but over plain HTTP on loopback."""
    postgresql_only()
    # The production settings, but for static files served unhashed: the hashed names come from
    # the manifest that collectstatic writes at deployment, which a checkout does not have.
    (tmp_path / "server_settings.py").write_text(
        "from clinic.settings import *\n"
        "STORAGES = {**STORAGES, 'staticfiles': {'BACKEND': "
        "'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "server_settings",
        "DATABASE_URL": database_url_for_processes(),
        "REDIS_URL": TEST_SERVERS_REDIS_URL,
        "CACHE_URL": "",
        "CELERY_BROKER_URL": "",
        "SECRET_KEY": "x",
        "DEBUG": "False",
        "PLAIN_HTTP": "True",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    started = []
    try:
        for name in ("web1", "web2"):
            port = free_port()
            log = tmp_path / f"{name}.log"
            process = start_gunicorn(
                port,
                environment,
                workers=2,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            started.append(Server(name, process, port, log))
        for server in started:
            wait_for(server.port, server.process, seconds=WAIT_SECONDS)
        yield started
    finally:
        for server in started:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        for server in started:
            try:
                server.process.wait(WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait(WAIT_SECONDS)


def logs(servers):
    return "\n".join(f"--- {server.name}\n{server.log.read_text()}" for server in servers)


@pytest.fixture
def doctor_and_clinic():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(slot_minutes=15)
    for weekday in range(7):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(17)
        )
    return doctor, clinic


def slot_starts():
    day = timezone.localdate(timezone=KOLKATA) + dt.timedelta(days=2)
    first = dt.datetime.combine(day, dt.time(10), tzinfo=KOLKATA)
    return [first + dt.timedelta(minutes=15 * n) for n in range(SLOTS)]


def logged_in_browser(patient):
    """A requests session carrying a login made beforehand (in the database, where any server
    finds it) and the CSRF cookie."""
    client = Client()
    client.force_login(patient.user)
    browser = requests.Session()
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    browser.cookies.set(settings.SESSION_COOKIE_NAME, session_key, domain=LOOPBACK)
    browser.cookies.set(settings.CSRF_COOKIE_NAME, CSRF, domain=LOOPBACK)
    return browser


def test_patients_racing_through_two_servers_book_each_slot_exactly_once(
    servers, doctor_and_clinic
):
    doctor, clinic = doctor_and_clinic
    starts = slot_starts()
    path = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    jobs = [
        (start, PatientFactory(with_account=True), servers[n % 2])
        for start in starts
        for n in range(CONTENDERS)
    ]
    browsers = {patient.pk: logged_in_browser(patient) for _, patient, _ in jobs}
    barrier = threading.Barrier(len(jobs), timeout=WAIT_SECONDS)

    def post(job):
        start, patient, server = job
        browser = browsers[patient.pk]
        barrier.wait()
        response = browser.post(
            server.url(path),
            data=booking_form(start, CSRF),
            allow_redirects=False,
            timeout=WAIT_SECONDS,
        )
        return response.status_code, response.headers.get("Location", "")

    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(post, jobs))

    assert {status for status, _ in answers} == {302}, (answers, logs(servers))
    booked = {
        appointment.start: appointment
        for appointment in Appointment.objects.filter(doctor=doctor, clinic=clinic)
    }
    assert sorted(booked) == starts  # every slot booked...
    assert Appointment.objects.filter(doctor=doctor).count() == SLOTS  # ...exactly once
    winners = set()
    for (start, patient, server), (_, location) in zip(jobs, answers, strict=True):
        appointment = booked[start]
        if appointment.patient_id == patient.pk:
            assert location == reverse("bookings:booked", kwargs={"pk": appointment.pk})
            winners.add(start)
            continue
        # The loser is sent back to the day's times; the other server shows why (the message
        # travels in a signed cookie, readable by any server with the same SECRET_KEY).
        other = servers[1] if server is servers[0] else servers[0]
        page = browsers[patient.pk].get(other.url(location), timeout=WAIT_SECONDS)
        assert page.status_code == 200, (location, logs(servers))
        assert JUST_TAKEN in page.text
    assert winners == set(starts)
    assert "Traceback" not in logs(servers)


def test_a_login_on_one_server_is_a_login_on_the_other_and_a_logout_ends_it_on_both(
    servers, shared_redis
):
    patient = PatientFactory(with_account=True)
    # The servers hash with their own settings (argon2), not the suite's fast MD5.
    hasher = Argon2PasswordHasher()
    patient.user.password = hasher.encode(DEFAULT_PASSWORD, hasher.salt())
    patient.user.save(update_fields=["password"])
    first, second = servers
    browser = requests.Session()
    browser.cookies.set(settings.CSRF_COOKIE_NAME, CSRF, domain=LOOPBACK)
    mine = reverse("bookings:mine")

    login = browser.post(
        first.url(reverse("accounts:login")),
        data={
            "username": patient.user.email,
            "password": DEFAULT_PASSWORD,
            "csrfmiddlewaretoken": CSRF,
        },
        allow_redirects=False,
        timeout=WAIT_SECONDS,
    )
    assert login.status_code == 302, logs(servers)
    session_key = browser.cookies[settings.SESSION_COOKIE_NAME]
    # The session is in the shared cache (cached_db), not only in one server's memory.
    assert any(key.endswith(session_key.encode()) for key in shared_redis.keys("*")), list(
        shared_redis.keys("*")
    )

    on_second = browser.get(second.url(mine), allow_redirects=False, timeout=WAIT_SECONDS)
    assert on_second.status_code == 200

    logout = browser.post(
        second.url(reverse("accounts:logout")),
        # A login gives a new CSRF secret (Django rotates it); the form sends the new one.
        data={"csrfmiddlewaretoken": browser.cookies[settings.CSRF_COOKIE_NAME]},
        allow_redirects=False,
        timeout=WAIT_SECONDS,
    )
    assert logout.status_code == 302
    # The old cookie, presented again on the first server, names no login any more.
    stale = requests.Session()
    stale.cookies.set(settings.SESSION_COOKIE_NAME, session_key, domain=LOOPBACK)
    on_first = stale.get(first.url(mine), allow_redirects=False, timeout=WAIT_SECONDS)
    assert on_first.status_code == 302
    assert on_first.headers["Location"].startswith(reverse("accounts:login"))
