"""/healthz and /readyz: cheap, open, plain about the answer and silent about the rest."""

import logging

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections
from django.http import HttpResponseNotFound
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse

from clinic import health
from clinic.tests.concurrency import redis_only

pytestmark = pytest.mark.django_db

# What a failing connection says about itself, none of which a probe may repeat.
CONNECTION_ERROR = (
    'connection to server at "db.internal" (10.0.8.3), port 5432 failed: '
    'password authentication failed for user "clinic_owner"'
)
# Nothing listens here: a Redis that is down.
UNREACHABLE_REDIS = "redis://127.0.0.1:9/0"


def redis_cache(location):
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }


def test_healthz_answers_ok_without_asking_the_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert len(queries) == 0


def test_readyz_asks_the_database_one_question(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("readyz"))

    assert response.status_code == 200
    assert response.content == b"ok"
    assert [query["sql"] for query in queries.captured_queries] == ["SELECT 1"]


def test_readyz_is_503_when_the_database_does_not_answer_and_says_nothing_of_why(
    client, monkeypatch, caplog
):
    def refuse():
        raise OperationalError(CONNECTION_ERROR)

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    caplog.set_level(logging.WARNING, logger="clinic.health")

    response = client.get(reverse("readyz"))

    assert response.status_code == 503
    assert response.content == b"unavailable"
    # The log says which check failed and the kind of error, not the error's words.
    assert "the database did not answer (OperationalError)" in caplog.text
    for detail in ("db.internal", "10.0.8.3", "clinic_owner", "password"):
        assert detail not in caplog.text
    # Once, as a warning: not again as an error, which would email ADMINS at every probe.
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    # The process itself is alive: /healthz asks nothing of the database.
    assert client.get(reverse("healthz")).status_code == 200


@override_settings(CACHES=redis_cache(UNREACHABLE_REDIS))
def test_readyz_is_503_when_a_configured_redis_does_not_answer(client, caplog):
    caplog.set_level(logging.WARNING, logger="clinic.health")

    response = client.get(reverse("readyz"))

    assert response.status_code == 503
    assert response.content == b"unavailable"
    assert "the cache shared did not answer (ConnectionError)" in caplog.text
    assert "127.0.0.1:9" not in caplog.text


def test_readyz_is_ok_when_the_configured_redis_answers(client):
    with override_settings(CACHES=redis_cache(redis_only())):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("readyz"))

    assert response.status_code == 200
    assert len(queries) == 1


def test_only_caches_on_a_server_of_their_own_are_checked():
    with override_settings(CACHES=redis_cache(UNREACHABLE_REDIS)):
        assert [name for name, _ in health.readiness_checks()] == ["database", "cache shared"]
    # The test suite's own cache is this process's memory: nothing to reach.
    assert [name for name, _ in health.readiness_checks()] == ["database"]


@pytest.mark.parametrize("name", ["healthz", "readyz"])
def test_a_probe_reads_no_session_even_with_a_login_cookie(client, patient_user, name):
    client.force_login(patient_user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name))

    assert response.status_code == 200
    assert len(queries) == (1 if name == "readyz" else 0)
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


@pytest.mark.parametrize("name", ["healthz", "readyz"])
def test_a_probe_is_never_kept_by_a_cache(client, name):
    # A cached "ok" would hide an outage.
    cache_control = {part.strip() for part in client.get(reverse(name))["Cache-Control"].split(",")}
    assert {"no-cache", "no-store"} <= cache_control


@pytest.mark.parametrize("name", ["healthz", "readyz"])
def test_a_probe_by_the_servers_own_address_is_answered(name):
    """An orchestrator asks each server by its address (a pod's IP), which ALLOWED_HOSTS does
    not list; the portal's pages refuse such a host, the probes answer it."""
    client = Client(HTTP_HOST="10.1.2.3:8000")
    assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("home")).status_code == 400


@pytest.mark.parametrize("name", ["healthz", "readyz"])
def test_a_plain_http_probe_is_not_sent_to_https(name):
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = Client()
        assert client.get(reverse(name)).status_code == 200
        # Everything else still is: the exemption covers exactly the probes and the metrics.
        for other in ("home", "accounts:login"):
            response = client.get(reverse(other))
            assert response.status_code == 301
            assert response["Location"].startswith("https://")
        assert client.get(f"{reverse(name)}/").status_code == 301


def test_a_plain_http_scrape_of_the_metrics_is_answered_not_redirected():
    """The scraper asks each app server directly on the private network, where TLS has ended;
    the exemption does not open the metrics to anyone else."""
    with override_settings(
        SECURE_SSL_REDIRECT=True, METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN=""
    ):
        assert Client().get(reverse("metrics")).status_code == 200
        assert Client(REMOTE_ADDR="192.0.2.7").get(reverse("metrics")).status_code == 404


def test_the_redirect_exemption_names_exactly_the_probes_and_the_metrics():
    assert settings.SECURE_REDIRECT_EXEMPT == [r"^healthz$", r"^readyz$", r"^metrics$"]
    assert {reverse("healthz"), reverse("readyz")} == health.PROBE_PATHS
    assert reverse("metrics") == "/metrics"


@pytest.mark.parametrize("name", ["healthz", "readyz"])
def test_probes_are_not_throttled(client, name):
    # A balancer asks every few seconds, from one address, for as long as the server runs.
    statuses = {client.get(reverse(name)).status_code for _ in range(200)}
    assert statuses == {200}


@pytest.mark.parametrize("name", ["healthz", "readyz"])
def test_a_probe_only_answers_reads(client, name):
    assert client.head(reverse(name)).status_code == 200
    assert client.post(reverse(name)).status_code == 405


# A URLconf without the probes, as a test or another project might have.
urlpatterns = [path("elsewhere/", health.healthz)]


def handler404(request, exception):
    return HttpResponseNotFound("nobody's")


@override_settings(ROOT_URLCONF=__name__)
def test_the_middleware_answers_only_what_the_urlconf_names(client):
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (404, b"nobody's")
    assert client.get("/elsewhere/").status_code == 200
