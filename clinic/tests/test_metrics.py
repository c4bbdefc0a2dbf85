"""Prometheus metrics: who may read them, what they count, and that several worker processes add
up (a real gunicorn on loopback)."""

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from clinic.tests.concurrency import WAIT_SECONDS, postgresql_only
from clinic.tests.sample_clinic import PATIENT_EMAIL, PATIENT_NAME
from doctors.tests.factories import DoctorFactory
from notifications.models import Notification, WebhookDelivery
from notifications.tests.factories import (
    NotificationFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-scrape-token-for-tests"
OPERATORS = ["10.0.5.7", "10.0.6.0/24"]


def scrape(client=None, **headers):
    return (client or Client()).get(reverse("metrics"), **headers)


def samples(response):
    """{(name, frozenset of labels): value} of a scrape."""
    text = response.content.decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


# Who may read them -------------------------------------------------------------------------------


def test_nobody_reads_them_when_no_address_or_token_is_set(client, clinic_admin_user):
    assert scrape().status_code == 404
    assert scrape(HTTP_AUTHORIZATION="Bearer ").status_code == 404
    client.force_login(clinic_admin_user)
    assert scrape(client).status_code == 404


@override_settings(METRICS_ALLOWED_IPS=OPERATORS)
@pytest.mark.parametrize(
    "address, allowed",
    [("10.0.5.7", True), ("10.0.6.200", True), ("10.0.5.8", False), ("127.0.0.1", False)],
)
def test_an_allowed_address_or_network_reads_them(address, allowed):
    response = scrape(REMOTE_ADDR=address)
    assert response.status_code == (200 if allowed else 404)


@override_settings(METRICS_ALLOWED_IPS=["0.0.0.0/0", "::/0"])
@pytest.mark.parametrize("address", ["", "unix:/run/gunicorn.sock"])
def test_a_request_without_an_ip_address_is_nobody_allowed(address):
    # A server on a Unix socket gives no address: not even an allow-everything list lets it in.
    assert scrape(REMOTE_ADDR=address).status_code == 404


@override_settings(METRICS_ALLOWED_IPS=OPERATORS, CLIENT_ADDRESS_PROXY_COUNT=1)
def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw():
    # The proxy (10.0.5.7 itself here) appends who reached it; what the client wrote is ignored.
    assert scrape(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="10.0.5.7").status_code == 200
    forged = scrape(REMOTE_ADDR="10.0.5.7", HTTP_X_FORWARDED_FOR="10.0.5.7, 203.0.113.9")
    assert forged.status_code == 404


@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize(
    "authorization, allowed",
    [
        (f"Bearer {TOKEN}", True),
        (f"Bearer {TOKEN}x", False),
        (f"Token {TOKEN}", False),
        (TOKEN, False),
        ("", False),
    ],
)
def test_the_bearer_token_reads_them(authorization, allowed):
    response = scrape(HTTP_AUTHORIZATION=authorization)
    assert response.status_code == (200 if allowed else 404)


@override_settings(METRICS_ALLOWED_IPS=OPERATORS, METRICS_TOKEN=TOKEN)
def test_with_both_set_both_are_needed():
    assert scrape(REMOTE_ADDR="10.0.5.7", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert scrape(REMOTE_ADDR="10.0.5.7").status_code == 404
    assert scrape(REMOTE_ADDR="10.0.9.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@override_settings(METRICS_TOKEN=TOKEN)
def test_a_stranger_cannot_tell_the_page_exists_by_its_methods():
    client = Client()
    assert client.post(reverse("metrics")).status_code == 404
    operator = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert client.post(reverse("metrics"), **operator).status_code == 405
    assert client.head(reverse("metrics"), **operator).status_code == 200


def test_a_bad_allowed_address_stops_the_portal_at_start():
    environment = {
        **os.environ,
        "SECRET_KEY": "only-for-this-test",
        "DEBUG": "False",
        "METRICS_ALLOWED_IPS": "10.0.5.7,intranet",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS: 'intranet' is not an IP address or network." in result.stderr


# What they count ---------------------------------------------------------------------------------

OPERATOR = {"REMOTE_ADDR": "10.0.5.7"}


@override_settings(METRICS_ALLOWED_IPS=OPERATORS)
def test_requests_are_timed_by_view_name_never_by_path(client):
    doctor = DoctorFactory()
    labels = {"view": "doctors:detail", "method": "GET", "status": "200"}
    before = value("clinic_http_request_duration_seconds_count", **labels)
    page = reverse("doctors:detail", kwargs={"pk": doctor.pk})

    assert client.get(page, {"q": PATIENT_NAME, "email": PATIENT_EMAIL}).status_code == 200

    assert value("clinic_http_request_duration_seconds_count", **labels) == before + 1
    response = scrape(**OPERATOR)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert 'view="doctors:detail"' in text
    for leak in (page, f"/{doctor.pk}", PATIENT_NAME, PATIENT_EMAIL, "Zenobia"):
        assert leak not in text


def test_statements_are_counted_per_request_view_and_database(client):
    doctor = DoctorFactory()
    page = reverse("doctors:detail", kwargs={"pk": doctor.pk})
    total_before = value("clinic_database_queries_total", view="doctors:detail", database="default")
    sum_before = value("clinic_http_request_database_queries_sum", view="doctors:detail")
    count_before = value("clinic_http_request_database_queries_count", view="doctors:detail")

    with CaptureQueriesContext(connection) as queries:
        client.get(page)

    ran = len(queries)
    assert ran > 0
    assert (
        value("clinic_database_queries_total", view="doctors:detail", database="default")
        == total_before + ran
    )
    assert value("clinic_http_request_database_queries_sum", view="doctors:detail") == (
        sum_before + ran
    )
    assert value("clinic_http_request_database_queries_count", view="doctors:detail") == (
        count_before + 1
    )


def test_unknown_paths_and_methods_do_not_become_label_values(client):
    not_found = {"view": "unresolved", "method": "GET", "status": "404"}
    odd_method = {"view": "home", "method": "other", "status": "405"}
    before = value("clinic_http_request_duration_seconds_count", **not_found)
    odd_before = value("clinic_http_request_duration_seconds_count", **odd_method)

    client.get("/no-such-page/41999/")
    client.generic("BREW", reverse("home"))

    assert value("clinic_http_request_duration_seconds_count", **not_found) == before + 1
    assert value("clinic_http_request_duration_seconds_count", **odd_method) == odd_before + 1
    assert (
        REGISTRY.get_sample_value(
            "clinic_http_request_duration_seconds_count",
            {"view": "home", "method": "BREW", "status": "405"},
        )
        is None
    )


def test_probes_are_timed_under_their_names(client):
    labels = {"view": "readyz", "method": "GET", "status": "200"}
    before = value("clinic_http_request_duration_seconds_count", **labels)
    client.get(reverse("readyz"))
    assert value("clinic_http_request_duration_seconds_count", **labels) == before + 1
    assert value("clinic_database_queries_total", view="readyz", database="default") >= 1


# The outbox --------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)


def outbox(scraped, name, which):
    return scraped[(name, frozenset({("outbox", which)}))]


@override_settings(METRICS_ALLOWED_IPS=OPERATORS)
def test_the_outbox_gauges_count_what_is_due_how_late_and_what_failed():
    with time_machine.travel(NOW, tick=False):
        for minutes_late in (30, 5):
            NotificationFactory(send_after=NOW - dt.timedelta(minutes=minutes_late))
        NotificationFactory(send_after=NOW + dt.timedelta(hours=24))  # a reminder, not yet due
        NotificationFactory(send_after=NOW - dt.timedelta(days=2), state=Notification.State.SENT)
        NotificationFactory(send_after=NOW - dt.timedelta(days=1), state=Notification.State.FAILED)
        WebhookDeliveryFactory(next_attempt_at=NOW - dt.timedelta(seconds=90))
        WebhookDeliveryFactory(next_attempt_at=NOW + dt.timedelta(minutes=2))  # leased or waiting
        # An endpoint switched off: its deliveries wait, the worker does not take them.
        WebhookDeliveryFactory(
            next_attempt_at=NOW - dt.timedelta(hours=1),
            endpoint=WebhookEndpointFactory(active=False),
        )
        for _ in range(2):
            WebhookDeliveryFactory(next_attempt_at=NOW, state=WebhookDelivery.State.FAILED)

        with CaptureQueriesContext(connection) as queries:
            response = scrape(**OPERATOR)

    assert response.status_code == 200
    scraped = samples(response)
    assert outbox(scraped, "clinic_outbox_due", "notifications") == 2
    assert outbox(scraped, "clinic_outbox_oldest_due_age_seconds", "notifications") == 30 * 60
    assert outbox(scraped, "clinic_outbox_failed", "notifications") == 1
    assert outbox(scraped, "clinic_outbox_due", "webhooks") == 1
    assert outbox(scraped, "clinic_outbox_oldest_due_age_seconds", "webhooks") == 90
    assert outbox(scraped, "clinic_outbox_failed", "webhooks") == 2
    # One aggregate per outbox, whatever their size; no session, no login.
    assert len(queries) == 2


@override_settings(METRICS_ALLOWED_IPS=OPERATORS)
def test_an_empty_outbox_is_zero_not_missing():
    scraped = samples(scrape(**OPERATOR))
    for which in ("notifications", "webhooks"):
        for name in ("clinic_outbox_due", "clinic_outbox_oldest_due_age_seconds"):
            assert outbox(scraped, name, which) == 0
        assert outbox(scraped, "clinic_outbox_failed", which) == 0


# Several worker processes ------------------------------------------------------------------------


@override_settings(METRICS_ALLOWED_IPS=OPERATORS)
def test_in_multiprocess_mode_a_scrape_reads_the_workers_files_not_its_own_memory(
    client, tmp_path, monkeypatch
):
    # An empty directory: no worker has written yet. This process's figures live in memory
    # (the mode is chosen when prometheus_client is imported), so they are not in the scrape.
    client.get(reverse("home"))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    scraped = samples(scrape(**OPERATOR))

    assert not any(name.startswith("clinic_http_") for name, _ in scraped)
    assert not any(name.startswith("process_") for name, _ in scraped)
    assert outbox(scraped, "clinic_outbox_due", "notifications") == 0


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def wait_until_ready(url, server):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn stopped"
        try:
            if get(url)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail("gunicorn did not answer in time")


def server_environment(metrics_directory):
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.test_settings",  # plain HTTP
        "DATABASE_URL": (
            f"postgres://{credentials}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
            f"/{database['NAME']}"
        ),
        "SECRET_KEY": "only-for-this-test",
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "METRICS_ALLOWED_IPS": "127.0.0.1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory),
    }


def test_several_gunicorn_workers_add_up_in_every_scrape(tmp_path):
    """Two workers, each replaced after four requests: every scrape, whichever worker answers
    it, counts every request that any worker, living or gone, has served."""
    postgresql_only()
    metrics_directory = tmp_path / "metrics"
    metrics_directory.mkdir()
    base = f"http://127.0.0.1:{free_port()}"
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "clinic.wsgi:application",
            "--workers=2",
            "--max-requests=4",
            f"--bind={base.removeprefix('http://')}",
        ],
        cwd=settings.BASE_DIR,
        env=server_environment(metrics_directory),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_ready(f"{base}/readyz", server)
        served = 12
        for _ in range(served):
            assert get(f"{base}/healthz") == (200, "ok")
        counts = []
        for _ in range(3):
            status, text = get(f"{base}/metrics")
            assert status == 200
            families = {family.name: family for family in text_string_to_metric_families(text)}
            [healthz] = [
                sample.value
                for sample in families["clinic_http_request_duration_seconds"].samples
                if sample.name.endswith("_count") and sample.labels["view"] == "healthz"
            ]
            counts.append(healthz)
            assert "clinic_outbox_due" in families
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(WAIT_SECONDS)

    assert counts == [served] * 3, Path(log.name).read_text()
    # Each worker kept its counts in its own file; more than two workers took part.
    workers = {path.stem.rsplit("_", 1)[-1] for path in metrics_directory.glob("histogram_*.db")}
    assert len(workers) > 2
