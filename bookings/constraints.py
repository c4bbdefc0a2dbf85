"""The database's own guard against a doctor's overlapping appointments, on PostgreSQL.

An exclusion constraint over (doctor, the visit's time range) refuses a second appointment that
shares any moment with one already holding its time, whatever their starts and lengths: the
unique (doctor, start) index alone cannot see a 45-minute visit overlapping a 15-minute one that
starts later. It needs PostgreSQL's btree_gist extension (migration 0013 enables it).

Other databases (SQLite, the default for development) have no exclusion constraints: there the
constraint makes no SQL and validates nothing, and the booking services' check under the
doctor's row lock, with the unique (doctor, start) index, is the guard.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import connections
from django.db.models import Func


class TsTzRange(Func):
    """tstzrange(start, end): a visit's time, start included and end excluded ('[)', the
    default), so one visit may end when the next begins."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def _on_postgresql(connection):
    return connection.vendor == "postgresql"


class PostgreSQLExclusionConstraint(ExclusionConstraint):
    """An ExclusionConstraint that is left out on databases other than PostgreSQL."""

    def constraint_sql(self, model, schema_editor):
        if not _on_postgresql(schema_editor.connection):
            return None
        return super().constraint_sql(model, schema_editor)

    def create_sql(self, model, schema_editor):
        if not _on_postgresql(schema_editor.connection):
            return None
        return super().create_sql(model, schema_editor)

    def remove_sql(self, model, schema_editor):
        if not _on_postgresql(schema_editor.connection):
            return None
        return super().remove_sql(model, schema_editor)

    def validate(self, model, instance, exclude=None, using="default"):
        if not _on_postgresql(connections[using]):
            return
        super().validate(model, instance, exclude=exclude, using=using)


class PostgreSQLBtreeGistExtension(BtreeGistExtension):
    """btree_gist, on PostgreSQL only in both directions: Django's operation skips other
    databases going forwards but, going backwards, asks SQLite for pg_extension."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _on_postgresql(schema_editor.connection):
            return
        super().database_backwards(app_label, schema_editor, from_state, to_state)
