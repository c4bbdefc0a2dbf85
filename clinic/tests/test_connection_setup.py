"""What opening a PostgreSQL connection costs a request (CONN_MAX_AGE=0 opens one per request).

The connection's time zone travels in its startup packet with the lock timeout (settings.py), so
Django finds UTC already in force and sends no SET TIME ZONE after connecting. (That the lock
timeout still applies is test_database_timeouts.py's.)
"""

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="PostgreSQL's connection options",
    ),
]


def test_a_new_connection_is_already_in_utc_so_django_sets_no_time_zone():
    wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
    # The bare connection, before Django's set-up after connecting (which would SET it).
    raw = wrapper.get_new_connection(wrapper.get_connection_params())
    try:
        assert raw.info.parameter_status("TimeZone") == wrapper.timezone_name == "UTC"
        # Django's own check after connecting: False means it has nothing to send.
        assert wrapper._configure_timezone(raw) is False
    finally:
        raw.close()
