"""The reports read from the read replica, when there is one (DATABASE_REPLICA_URL).

A report reads a year of appointments or payments in a few large aggregate queries: the load a
replica takes off the primary. Its figures may lag the primary by the replication delay, which a
report over past weeks can bear. Nothing else reads from the replica: a page that has just booked,
paid or cancelled must see its own write, and every write goes to the primary. So the router
sends reads to the replica only inside `reading_reports()`, which clinic.reporting wraps around
building a report (the admin's report pages and their CSV); everywhere else it says "default".

settings.py adds the `replica` alias and this router only when DATABASE_REPLICA_URL is set;
without it nothing is routed anywhere and everything uses the one database, as before.
"""

import contextvars
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"

_reading_reports = contextvars.ContextVar("reading_reports", default=False)


@contextmanager
def reading_reports():
    """Within the block, reads go to the replica (when the router is installed)."""
    token = _reading_reports.set(True)
    try:
        yield
    finally:
        _reading_reports.reset(token)


class ReportsReadFromReplica:
    def db_for_read(self, model, **hints):
        return REPLICA if _reading_reports.get() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        # Always named: left to Django, an object read from the replica would be saved there.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The same rows on both: an object read from either may refer to one from the other.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica copies the primary's schema; `migrate` runs on the primary only.
        return db != REPLICA
