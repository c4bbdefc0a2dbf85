"""Trigram indexes for the desk's patient search (accounts.selectors.search_patients), whose
"contains" matches a B-tree cannot serve: every search would read the whole directory.

PostgreSQL only (pg_trgm, a contrib extension, and GIN): on SQLite, which `make run` uses, both
steps do nothing and the search works as before, unindexed. The indexes are left out of the
model's Meta for that reason, so the model state never offers them to SQLite.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper


def search_indexes():
    # The expressions match what the lookups compile to on PostgreSQL: icontains compares
    # UPPER(column) LIKE UPPER(pattern); the phone's digits use a plain (case-sensitive) LIKE.
    return [
        GinIndex(
            OpClass(Upper("full_name"), name="gin_trgm_ops"), name="accounts_patient_name_trgm"
        ),
        GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="accounts_patient_email_trgm"),
        GinIndex(OpClass("phone", name="gin_trgm_ops"), name="accounts_patient_phone_trgm"),
    ]


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    patient = apps.get_model("accounts", "Patient")
    for index in search_indexes():
        schema_editor.add_index(patient, index)


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    patient = apps.get_model("accounts", "Patient")
    for index in search_indexes():
        schema_editor.remove_index(patient, index)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_audit_trail_permission")]

    operations = [
        # A no-op on other databases (Django's CreateExtension checks the vendor itself).
        TrigramExtension(),
        migrations.RunPython(add_indexes, remove_indexes),
    ]
