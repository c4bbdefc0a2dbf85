"""Helpers for the race tests on PostgreSQL: threads with their own connections, released at
once, and a way to see that one of them is waiting on another's lock."""

import os
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.db import connection, connections

WAIT_SECONDS = 30  # only a safety net against a hung test; nothing waits this long when it passes


def postgresql_only():
    """Skips a test off PostgreSQL (under CI=true, conftest turns the skip into a failure)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL (set DATABASE_URL)")


# A Redis database that tests may empty at will: database 5 on this machine unless said otherwise
# (.ci/run exports it). Not REDIS_URL: that would put the whole suite's cache and sessions on Redis.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


# The multi-server test's own Redis database (its app servers' cache and sessions), on the same
# Redis as TEST_REDIS_URL: database 6, apart from the one the Celery tests empty at will.
TEST_SERVERS_REDIS_URL = urlsplit(TEST_REDIS_URL)._replace(path="/6").geturl()


def redis_only(url=TEST_REDIS_URL):
    """Returns `url` (TEST_REDIS_URL unless told), or skips the test when no Redis answers there
    (under CI=true, conftest turns the skip into a failure)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("these tests need Redis (set TEST_REDIS_URL; none answers there)")
    finally:
        client.close()
    return url


def database_url_for_processes():
    """The URL of the database the tests run on, for processes they start (app servers,
    workers): the same PostgreSQL test database, seen from outside."""
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    host = database["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{database['PORT'] or 5432}/{database['NAME']}"


def run_concurrently(*tasks):
    """Runs each task in its own thread, all released at once; returns, in order, what each task
    returned or the exception it raised."""
    barrier = threading.Barrier(len(tasks), timeout=WAIT_SECONDS)
    outcomes = [None] * len(tasks)

    def run(index, task):
        try:
            barrier.wait()
            outcomes[index] = task()
        except BaseException as exc:
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def waits_for_a_lock(pids):
    """Whether the backend whose pid is in the list `pids` (once there) is blocked on a lock right
    now. pg_locks is live, not a per-transaction snapshot like pg_stat_activity."""
    if not pids:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [pids[0]]
        )
        return cursor.fetchone()[0]


def until(condition):
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
