"""Connections kept between requests in production (settings.py): a sync worker keeps its one
connection, checked before each request's first query; the development server opens one per
request. Read from the settings as a production start reads them (manage.py in a subprocess)."""

from django.db import DEFAULT_DB_ALIAS

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
