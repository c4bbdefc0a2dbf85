"""The desk's patient search is served by trigram indexes on PostgreSQL (accounts migration 0006),
so it does not read the whole directory for each "contains" match; on SQLite it works unindexed.

Each test checks the plan PostgreSQL makes for the very SQL search_patients sends: the planner
is told to avoid reading the whole table (as it would on a large directory of a few test rows),
and the plan must then use the index. Without a usable index it scans the table anyway, and the
test fails.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.selectors import search_patients
from accounts.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only (set DATABASE_URL)")


def plan_of_search(query):
    with CaptureQueriesContext(connection) as captured:
        search_patients(query)
    [sql] = [query["sql"] for query in captured.captured_queries]
    with transaction.atomic(), connection.cursor() as cursor:
        # Only bitmap scans left, the kind a trigram index offers: a B-tree read whole with a
        # filter would be a table scan in another form.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        ("arma", ["accounts_patient_name_trgm", "accounts_patient_email_trgm"]),
        ("SHARMA@EXAMPLE", ["accounts_patient_name_trgm", "accounts_patient_email_trgm"]),
        ("98 765", ["accounts_patient_phone_trgm"]),
    ],
)
@pytest.mark.usefixtures("postgresql_only")
def test_a_search_by_name_email_or_phone_uses_the_trigram_indexes(query, indexes):
    PatientFactory(full_name="Ravi Sharma", email="ravi.sharma@example.com", phone="+919876543210")
    plan = plan_of_search(query)
    for index in indexes:
        assert index in plan, plan
    assert "Seq Scan on accounts_patient" not in plan, plan


def test_the_indexed_search_still_finds_by_any_part_in_any_case():
    ravi = PatientFactory(
        full_name="Ravi Sharma", email="ravi.sharma@example.com", phone="+919876543210"
    )
    PatientFactory(full_name="Anita Rao", email="anita@example.org", phone="+919812345678")
    assert search_patients("arMA") == [ravi]
    assert search_patients("SHARMA@exam") == [ravi]
    assert search_patients("98765 43") == [ravi]
