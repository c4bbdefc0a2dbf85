"""Two app servers, one database and one Redis (issue 13): two gunicorn instances on loopback
ports share the PostgreSQL test database and a Redis database of their own (cache and sessions),
as deploy/compose.yaml runs web1 and web2.

Patients race for the same slots through both servers: each slot is booked exactly once and
every other patient is sent back with the "just taken" message, never an error page. A login made
on one server is a login on the other, and a logout on either ends it on both.

Needs PostgreSQL (the servers are other processes: they see only committed rows) and Redis;
without them the tests are skipped (under CI=true, failed).
"""

import collections
import datetime as dt
import os
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
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
    until,
)
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory
from notifications.models import Notification
from notifications.tests import recording_sms
from notifications.tests.test_celery_workers import RECORDING_BACKEND, Processes

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KOLKATA = ZoneInfo("Asia/Kolkata")
SLOTS = 6
CONTENDERS = 4  # patients per slot, alternating between the two servers
# Bookings in each half of the burst that a Celery worker is killed in the middle of.
BURST_BOOKINGS = 24
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
def app_environment(shared_redis, tmp_path):
    """The environment of every process the tests start: production settings (not the test
    settings; DEBUG off) over plain HTTP on loopback, the test database, the shared Redis."""
    postgresql_only()
    # The production settings, but for static files served unhashed: the hashed names come from
    # the manifest that collectstatic writes at deployment, which a checkout does not have.
    (tmp_path / "server_settings.py").write_text(
        "from clinic.settings import *\n"
        "STORAGES = {**STORAGES, 'staticfiles': {'BACKEND': "
        "'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    )
    return {
        # Not the machine's CACHE_URL, which would win over REDIS_URL.
        **{name: value for name, value in os.environ.items() if name != "CACHE_URL"},
        "PYTHONPATH": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "server_settings",
        "DATABASE_URL": database_url_for_processes(),
        "REDIS_URL": TEST_SERVERS_REDIS_URL,
        "CELERY_BROKER_URL": "",
        # This process's own key: the sessions it makes for the patients must be theirs too.
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "False",
        "PLAIN_HTTP": "True",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def servers(app_environment, tmp_path):
    """Two gunicorn instances with two workers each, on ports of their own."""
    started = []
    try:
        for name in ("web1", "web2"):
            port = free_port()
            log = tmp_path / f"{name}.log"
            process = start_gunicorn(
                port,
                app_environment,
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


def slot_starts(count=SLOTS, days_ahead=2):
    """`count` quarter-hour slots from 10:00 (then 9:00 on the following days), within the
    doctor's hours (9:00 to 17:00, 32 slots a day)."""
    starts = []
    day = timezone.localdate(timezone=KOLKATA) + dt.timedelta(days=days_ahead)
    first = dt.datetime.combine(day, dt.time(10), tzinfo=KOLKATA)
    while len(starts) < count:
        if first.time() >= dt.time(17):
            day += dt.timedelta(days=1)
            first = dt.datetime.combine(day, dt.time(9), tzinfo=KOLKATA)
        starts.append(first)
        first += dt.timedelta(minutes=15)
    return starts


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


def test_a_celery_worker_killed_during_a_burst_of_bookings_loses_and_doubles_no_notice(
    servers, app_environment, doctor_and_clinic, tmp_path
):
    """Bookings through both servers queue their confirmations; two Celery workers (the broker
    is the same Redis) send them while one is killed with a message in flight and started again,
    and the bookings go on meanwhile. Every confirmation goes out exactly once."""
    doctor, clinic = doctor_and_clinic
    record = tmp_path / "sent.txt"
    celery = Processes(
        tmp_path,
        {
            **app_environment,
            "LOG_LEVEL": "INFO",  # the worker's "ready." line
            "CELERY_BROKER_URL": TEST_SERVERS_REDIS_URL,
            "BEAT_INTERVAL_SECONDS": "0.3",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "SMS_BACKEND": RECORDING_BACKEND,
            "RECORDED_SMS_FILE": str(record),
            "RECORDED_SMS_SECONDS": "0.03",
        },
    )
    try:
        celery.beat()
        first = celery.worker("first", RECORDED_SMS_NAME="first", RECORDED_SMS_HOLD="1")
        second = celery.worker("second", RECORDED_SMS_NAME="second")
        celery.wait_until_ready(first, second)

        path = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
        jobs = [
            (start, PatientFactory(with_account=True), servers[n % 2])
            for n, start in enumerate(slot_starts(2 * BURST_BOOKINGS))
        ]
        browsers = {patient.pk: logged_in_browser(patient) for _, patient, _ in jobs}

        def book(job):
            start, patient, server = job
            response = browsers[patient.pk].post(
                server.url(path),
                data=booking_form(start, CSRF),
                allow_redirects=False,
                timeout=WAIT_SECONDS,
            )
            return response.status_code, response.headers.get("Location", "")

        def lines(what):
            return [(name, to) for name, done, to in recording_sms.read(record) if done == what]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(book, jobs[:BURST_BOOKINGS]))
            # Both workers are sending the first half's confirmations...
            until(lambda: {"first", "second"} <= {name for name, _ in lines("sent")})
            assert {"first", "second"} <= {name for name, _ in lines("sent")}, logs(servers)
            # ...and the second half is being booked when the first worker is killed with a
            # message in flight: its provider call never came back.
            second_half = pool.map(book, jobs[BURST_BOOKINGS:])
            Path(f"{record}.hold").touch()
            until(lambda: lines("holding"))
            [(_, in_flight)] = lines("holding")
            celery.kill(first)
            again = celery.worker("first-again", RECORDED_SMS_NAME="first-again")
            celery.wait_until_ready(again)
            answers += list(second_half)

        assert [status for status, _ in answers] == [302] * len(jobs), logs(servers)
        assert all("/booked/" in location for _, location in answers), answers
        confirmations = Notification.objects.filter(
            appointment__doctor=doctor, kind=Notification.Kind.CONFIRMATION
        )

        def all_sent():
            return not confirmations.exclude(state=Notification.State.SENT).exists()

        until(all_sent)
        assert all_sent(), second.log.read_text() + again.log.read_text()
        exit_codes = celery.stop_all()
    finally:
        celery.kill_all()

    phones = [patient.phone for _, patient, _ in jobs]
    sent = collections.Counter(to for _, to in lines("sent"))
    assert sent == collections.Counter(phones)  # each patient's confirmation text, once
    [sender] = [name for name, to in lines("sent") if to == in_flight]
    assert sender in ("second", "first-again")
    assert set(confirmations.values_list("state", "attempts")) == {(Notification.State.SENT, 1)}
    assert confirmations.count() == 2 * len(jobs)  # an email and a text message each
    assert exit_codes == {"second": 0, "first-again": 0, "beat": 0}, exit_codes
    assert "Traceback" not in second.log.read_text() + again.log.read_text() + logs(servers)
