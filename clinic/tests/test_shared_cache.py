"""Several app servers, one cache: with REDIS_URL the cache is Django's Redis backend and sessions
are cached_db, so a login, a logout and a throttle's count made on one server hold on the others.

The other app server is a second Python process with the portal's settings and REDIS_URL, and a
database of its own holding an empty session table: whatever it finds, it found in Redis.
"""

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.test import override_settings
from django.urls import reverse

from clinic.tests.concurrency import redis_only

SETTINGS_FILE = Path(django_settings.BASE_DIR) / "clinic" / "settings.py"
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
CACHED_DB = "django.contrib.sessions.backends.cached_db"


def settings_with(monkeypatch, **variables):
    """The portal's settings as clinic/settings.py makes them from these environment variables
    (the cache's and the database's unset unless given)."""
    for name in ("REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_without_redis_the_cache_is_this_process_memory_and_sessions_the_database(monkeypatch):
    chosen = settings_with(monkeypatch)
    assert chosen["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    # Django's default, the database: never a cache only this process sees.
    assert "SESSION_ENGINE" not in chosen
    assert chosen["AXES_HANDLER"] == "axes.handlers.database.AxesDatabaseHandler"
    assert chosen["CELERY_BROKER_URL"] == ""


def test_redis_url_puts_the_cache_on_redis_and_sessions_on_cached_db(monkeypatch):
    chosen = settings_with(monkeypatch, REDIS_URL="redis://cache.internal:6379/0")
    assert chosen["CACHES"]["default"]["BACKEND"] == REDIS_CACHE
    assert chosen["CACHES"]["default"]["LOCATION"] == "redis://cache.internal:6379/0"
    assert chosen["CACHES"]["default"]["OPTIONS"]["socket_timeout"] > 0
    assert chosen["SESSION_ENGINE"] == CACHED_DB
    # Lock-outs stay in the database, which every app server shares anyway.
    assert chosen["AXES_HANDLER"] == "axes.handlers.database.AxesDatabaseHandler"


def test_cache_url_names_the_cache_itself_and_wins_over_redis_url(monkeypatch):
    chosen = settings_with(
        monkeypatch, REDIS_URL="redis://cache.internal:6379/0", CACHE_URL="locmemcache://"
    )
    assert chosen["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert "SESSION_ENGINE" not in chosen

    on_redis = settings_with(monkeypatch, CACHE_URL="redis://other.internal:6379/2")
    assert on_redis["CACHES"]["default"]["BACKEND"] == REDIS_CACHE
    assert on_redis["CACHES"]["default"]["LOCATION"] == "redis://other.internal:6379/2"
    assert on_redis["SESSION_ENGINE"] == CACHED_DB


# Two app servers on a real Redis ----------------------------------------------------------------


@pytest.fixture
def shared_redis():
    """This process's cache and sessions on the test Redis (emptied before and after), as
    REDIS_URL would set them."""
    url = redis_only()
    client = redis.Redis.from_url(url)
    client.flushdb()
    with override_settings(
        CACHES={"default": {"BACKEND": REDIS_CACHE, "LOCATION": url}}, SESSION_ENGINE=CACHED_DB
    ):
        yield url
    client.flushdb()
    client.close()


OTHER_SERVER = """
import json, sys
import django
django.setup()
from importlib import import_module
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection

with connection.schema_editor() as editor:
    editor.create_model(Session)  # empty: this server's database knows no session
answers = {"engine": settings.SESSION_ENGINE, "cache": settings.CACHES["default"]["BACKEND"]}
if sys.argv[1] == "sessions":
    store = import_module(settings.SESSION_ENGINE).SessionStore
    answers["users"] = [store(key).get("_auth_user_id") for key in sys.argv[2:]]
else:
    from django.test import RequestFactory
    from accounts.ratelimits import refuse_if_too_many
    email, ip, tries = sys.argv[2], sys.argv[3], int(sys.argv[4])
    request = RequestFactory().post("/", REMOTE_ADDR=ip)
    answers["refused"] = [
        refuse_if_too_many(
            request, form="password-reset", address=email,
            per_address=settings.THROTTLE_FORMS_PER_ADDRESS,
        ) is not None
        for _ in range(tries)
    ]
print(json.dumps(answers))
"""


def other_server(tmp_path, redis_url, *arguments, **variables):
    environment = {name: value for name, value in os.environ.items() if name not in ("CACHE_URL",)}
    environment.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        SECRET_KEY=django_settings.SECRET_KEY,  # sessions are signed with it
        DEBUG="False",
        REDIS_URL=redis_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'other-server.sqlite3'}",
        **variables,
    )
    finished = subprocess.run(
        [sys.executable, "-c", OTHER_SERVER, *arguments],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


@pytest.mark.django_db
def test_a_login_and_a_logout_on_one_server_hold_on_another(
    shared_redis, client, patient_user, other_patient_user, tmp_path
):
    client.force_login(patient_user)
    staying = client.session.session_key
    leaving_client = type(client)()
    leaving_client.force_login(other_patient_user)
    leaving = leaving_client.session.session_key
    leaving_client.post(reverse("accounts:logout"))

    answers = other_server(tmp_path, shared_redis, "sessions", staying, leaving)

    assert answers["engine"] == CACHED_DB
    assert answers["cache"] == REDIS_CACHE
    # Logged in here, logged in there; logged out here, logged out there.
    assert answers["users"] == [str(patient_user.pk), None]


@pytest.mark.django_db
def test_a_throttle_counts_the_tries_made_on_every_server(shared_redis, client, settings, tmp_path):
    settings.THROTTLE_FORMS_PER_ADDRESS = "5/h"
    email = "asha.raman@example.com"

    answers = other_server(
        tmp_path, shared_redis, "throttle", email, "10.0.0.7", "4", THROTTLE_FORMS_PER_ADDRESS="5/h"
    )
    assert answers["refused"] == [False] * 4  # four tries there...

    reset = reverse("accounts:password_reset")
    fifth = client.post(reset, {"email": email}, REMOTE_ADDR="10.0.0.8")
    sixth = client.post(reset, {"email": email}, REMOTE_ADDR="10.0.0.9")
    assert fifth.status_code == 302  # ...the fifth here is still allowed...
    assert sixth.status_code == 429  # ...and the sixth is one too many, whichever server.
