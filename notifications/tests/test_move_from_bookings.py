"""The outbox moved from bookings to this app without copying data: rows, the roles' permissions
and the admin's history stay as they were."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from bookings.tests.factories import AppointmentFactory
from notifications.models import Notification

BEFORE = [("bookings", "0006_reports_permission")]


# Migrating back and forth needs the real schema outside a test transaction.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rows_and_role_grants_survive_the_move():
    # Made with today's model, before going back: its later columns are dropped on the way.
    appointment = AppointmentFactory()
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    OldNotification = old_apps.get_model("bookings", "Notification")
    old_row = OldNotification.objects.create(
        appointment_id=appointment.pk,
        kind="confirmation",
        channel="email",
        audience="patient",
        address="someone@example.com",
        send_after=timezone.now(),
    )
    old_type = ContentType.objects.get(app_label="bookings", model="notification")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    assert Notification.objects.get().pk == old_row.pk
    assert ContentType.objects.get_for_model(Notification).pk == old_type.pk
    assert not ContentType.objects.filter(app_label="bookings", model="notification").exists()
    desk = Group.objects.get(name="Front desk")
    admins = Group.objects.get(name="Clinic admin")
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in desk.permissions.all()}
    assert "notifications.view_notification" in granted
    assert admins.permissions.filter(
        content_type__app_label="notifications", codename="change_notification"
    ).exists()
