"""Connections kept between requests in production (settings.py): a sync worker keeps its one
connection, checked before each request's first query; the development server opens one per
request. Read from the settings as a production start reads them (manage.py in a subprocess),
and seen in a real app server."""

import http.client
import os
import signal
import subprocess
import uuid

import pytest
from django.db import DEFAULT_DB_ALIAS, connection

from bench.servers import free_port, start_gunicorn, wait_for
from clinic.tests.concurrency import database_url_for_processes, postgresql_only
from clinic.tests.test_read_replica import production_settings


def _connection_rules(**variables):
    variables.setdefault("CONN_MAX_AGE", None)
    variables.setdefault("CONN_HEALTH_CHECKS", None)
    default = production_settings(**variables)["databases"][DEFAULT_DB_ALIAS]
    return default["CONN_MAX_AGE"], default["CONN_HEALTH_CHECKS"]


def test_production_keeps_connections_and_checks_them_before_reuse():
    assert _connection_rules() == (60, True)


def test_debug_opens_a_connection_per_request():
    # The development server's thread per request would leave a kept connection behind each.
    assert _connection_rules(DEBUG="True") == (0, True)


def test_an_operator_may_set_both():
    assert _connection_rules(CONN_MAX_AGE="0", CONN_HEALTH_CHECKS="False") == (0, False)


# A real app server whose kept connection is cut between two requests (PostgreSQL) ---------------


def _cut_connections_of(application_name):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.rowcount


def _status(port, path):
    conversation = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conversation.request("GET", path)
        return conversation.getresponse().status
    finally:
        conversation.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(("health_checks", "after_the_cut"), [("True", 200), ("False", 503)])
def test_a_kept_connection_cut_between_requests_is_replaced_before_it_is_used(
    tmp_path, health_checks, after_the_cut
):
    """PostgreSQL restarting, a failover, an idle-connection reaper: the worker's kept connection
    is gone. With the health checks (the default) the next request opens a new one and is served;
    without them that request fails (here /readyz's 503), which is why they are on."""
    postgresql_only()
    # Unique, so that a parallel run's other tests' connections are never cut.
    application_name = f"kept-connection-{uuid.uuid4().hex[:12]}"
    environment = {
        **{name: value for name, value in os.environ.items() if name not in ("CACHE_URL",)},
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": database_url_for_processes(),
        "PGAPPNAME": application_name,
        "CONN_HEALTH_CHECKS": health_checks,
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "SECRET_KEY": "only-for-this-test",
        "DEBUG": "False",
        "PLAIN_HTTP": "True",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "CRITICAL",
    }
    environment.pop("CONN_MAX_AGE", None)  # the production default: kept
    port = free_port()
    with (tmp_path / "server.log").open("w") as log:
        server = start_gunicorn(port, environment, workers=1, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(port, server)
        assert _status(port, "/readyz") == 200
        assert _cut_connections_of(application_name) == 1  # the one worker kept its connection

        assert _status(port, "/readyz") == after_the_cut
        # Either way the worker recovers: a connection that failed is not kept.
        assert _status(port, "/readyz") == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
