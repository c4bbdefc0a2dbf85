"""The read replica (DATABASE_REPLICA_URL): the reports read from it, everything else from the
primary, and without it nothing changes.

In the test settings the `replica` alias is the default database under another name (a test
mirror) and no router is installed; these tests turn the router on. The mirror is a connection of
its own, which sees only committed rows, as a real replica would: the tests that read through it
commit their data (transactional tests).
"""

import json
import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from bookings import services as booking_services
from bookings.models import Appointment
from clinic.db_routers import REPLICA, ReportsReadFromReplica, reading_reports
from clinic.reporting import REPORTS, Report, ReportPage
from clinic.tests.concurrency import postgresql_only
from clinic.tests.sample_clinic import (  # noqa: F401  (fixtures)
    NOW,
    TOMORROW,
    doctor,
    frozen_now,
    lakeview,
    local,
    patient,
)
from clinic.tests.test_reports import MAIN_RANGE, build_organisation, report_url, scope

ROUTED = override_settings(DATABASE_ROUTERS=["clinic.db_routers.ReportsReadFromReplica"])
# Rows on both connections, committed (see the module's note).
both_databases = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=[DEFAULT_DB_ALIAS, REPLICA]
)
REPORT_TABLES = ("bookings_appointment", "billing_payment")


@contextmanager
def queries_on_each():
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        yield primary, replica


def reading(queries, tables=REPORT_TABLES):
    return [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in tables)]


def tables_of(page):
    return {table.key: table.rows for table in page.tables}


@both_databases
def test_every_report_reads_from_the_replica_and_finds_the_same_figures():
    build_organisation()
    for slug, report in REPORTS.items():
        expected = tables_of(report.build(scope(), "day"))
        with ROUTED, queries_on_each() as (primary, replica):
            page = report.build(scope(), "day")

        assert tables_of(page) == expected, slug
        assert any(rows for rows in expected.values()), slug  # figures, not empty tables
        assert len(primary) == 0, (slug, primary.captured_queries)
        assert reading(replica), slug


@both_databases
def test_a_booking_writes_and_reads_on_the_primary(frozen_now, patient, doctor, lakeview):
    with ROUTED, queries_on_each() as (primary, replica):
        appointment = booking_services.book_appointment(
            patient=patient,
            doctor=doctor,
            clinic=lakeview,
            start=local(TOMORROW, 10),
            appointment_type="consultation",
            payment_mode="at_clinic",
            by=patient.user,
            now=NOW,
        )
        # Reading one's own write straight after: the primary's, which has it.
        assert Appointment.objects.get(pk=appointment.pk).status == "booked"

    assert len(replica) == 0, replica.captured_queries
    assert any('INSERT INTO "bookings_appointment"' in sql for sql in reading(primary))


@both_databases
@pytest.mark.parametrize("export", [{}, {"export": "csv"}])
def test_the_admin_report_page_and_its_csv_read_the_figures_from_the_replica(
    client, clinic_admin_user, export
):
    build_organisation()
    client.force_login(clinic_admin_user)
    url = report_url("revenue")
    query = {**MAIN_RANGE, "grain": "week", **export}
    expected = client.get(url, query)

    with ROUTED, queries_on_each() as (primary, replica):
        response = client.get(url, query)

    assert response.status_code == 200
    if export:
        assert response.content == expected.content
    else:
        assert response.context["page"] == expected.context["page"]
    assert reading(replica)
    assert reading(primary) == []
    # The login and the session are the primary's: a replica may lag a logout.
    assert reading(primary, tables=("django_session", "accounts_user"))


@both_databases
def test_without_the_router_nothing_reaches_the_replica(frozen_now, patient, doctor, lakeview):
    build_organisation()
    with queries_on_each() as (primary, replica):
        REPORTS["revenue"].build(scope(), "week")
        booking_services.book_appointment(
            patient=patient,
            doctor=doctor,
            clinic=lakeview,
            start=local(TOMORROW, 10),
            appointment_type="consultation",
            payment_mode="at_clinic",
            by=patient.user,
            now=NOW,
        )

    assert len(replica) == 0
    assert reading(primary)


@both_databases
def test_a_report_on_the_replica_runs_there_without_jit_compilation():
    postgresql_only()
    seen = {}

    def builder(scope, grain):
        for alias in (DEFAULT_DB_ALIAS, REPLICA):
            with connections[alias].cursor() as cursor:
                cursor.execute("SHOW jit")
                seen[alias] = cursor.fetchone()[0]
        return ReportPage()

    with ROUTED:
        Report("probe", "Probe", "", builder).build(scope(), "week")

    # The report's transaction is the replica's; the primary's connection is left as it was.
    assert seen == {REPLICA: "off", DEFAULT_DB_ALIAS: "on"}


# The router's rules ------------------------------------------------------------------------------


class Row:
    """Stands for a model instance: what the router looks at is the database it came from."""

    def __init__(self, database):
        self._state = type("State", (), {"db": database})()


def test_reads_go_to_the_replica_only_while_reading_reports():
    rules = ReportsReadFromReplica()
    assert rules.db_for_read(Appointment) == DEFAULT_DB_ALIAS
    with reading_reports():
        assert rules.db_for_read(Appointment) == REPLICA
    assert rules.db_for_read(Appointment) == DEFAULT_DB_ALIAS


def test_the_report_mark_is_lifted_when_a_report_fails():
    rules = ReportsReadFromReplica()
    with pytest.raises(RuntimeError), reading_reports():
        raise RuntimeError("the report broke")
    assert rules.db_for_read(Appointment) == DEFAULT_DB_ALIAS


def test_writes_always_go_to_the_primary():
    rules = ReportsReadFromReplica()
    with reading_reports():
        # Even for an object read from the replica, which Django would save back there.
        assert rules.db_for_write(Appointment, instance=Row(REPLICA)) == DEFAULT_DB_ALIAS


def test_migrations_run_on_the_primary_only():
    rules = ReportsReadFromReplica()
    assert rules.allow_migrate(DEFAULT_DB_ALIAS, "bookings") is True
    assert rules.allow_migrate(REPLICA, "bookings") is False


def test_rows_of_either_database_may_refer_to_each_other():
    rules = ReportsReadFromReplica()
    assert rules.allow_relation(Row(REPLICA), Row(DEFAULT_DB_ALIAS)) is True
    assert rules.allow_relation(Row(DEFAULT_DB_ALIAS), Row("archive")) is None


def test_outside_a_test_no_router_is_installed_here():
    # The test settings' replica is a mirror with no router: the suite runs as an install
    # without DATABASE_REPLICA_URL does, unless the environment names a replica.
    if not os.environ.get("DATABASE_REPLICA_URL"):
        assert settings.DATABASE_ROUTERS == []
        assert router.db_for_read(Appointment) == DEFAULT_DB_ALIAS


# The settings ------------------------------------------------------------------------------------

SHOW_DATABASES = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'databases': settings.DATABASES, 'routers': settings.DATABASE_ROUTERS}, "
    "default=str))"
)


def production_settings(**variables):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_REPLICA_URL", "DJANGO_SETTINGS_MODULE")
    }
    environment.update(
        {
            "SECRET_KEY": "only-for-this-test",
            "DEBUG": "False",
            "DATABASE_URL": "postgres://clinic@primary.internal:5432/clinic",
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            **variables,
        }
    )
    # A variable given as None is left unset, whatever this process's environment says.
    environment = {key: value for key, value in environment.items() if value is not None}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", SHOW_DATABASES],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_replica_url_there_is_one_database_and_no_router():
    shown = production_settings()
    assert list(shown["databases"]) == [DEFAULT_DB_ALIAS]
    assert shown["routers"] == []


def test_a_replica_url_adds_the_alias_with_the_primarys_connection_rules():
    shown = production_settings(
        DATABASE_REPLICA_URL="postgres://reader@standby.internal:5432/clinic", CONN_MAX_AGE="60"
    )
    replica = shown["databases"][REPLICA]
    assert replica["HOST"] == "standby.internal"
    assert replica["USER"] == "reader"
    assert replica["CONN_MAX_AGE"] == 60
    # The same lock timeout and zone as the primary's connections, set at connect.
    assert replica["OPTIONS"] == shown["databases"][DEFAULT_DB_ALIAS]["OPTIONS"]
    assert "-c lock_timeout=5000" in replica["OPTIONS"]["options"]
    assert "-c TimeZone=UTC" in replica["OPTIONS"]["options"]
    # A test run of such an install reads its one test database through both aliases.
    assert replica["TEST"]["MIRROR"] == DEFAULT_DB_ALIAS
    assert shown["routers"] == ["clinic.db_routers.ReportsReadFromReplica"]
