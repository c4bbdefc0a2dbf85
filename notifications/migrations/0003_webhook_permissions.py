"""Clinic admins register webhook endpoints and watch (and send again) their deliveries. The
front desk gets nothing: an endpoint's secret and the bodies sent are not its business."""

from django.db import migrations

GRANTS = {
    "Clinic admin": [
        "notifications.view_webhookendpoint",
        "notifications.add_webhookendpoint",
        "notifications.change_webhookendpoint",
        "notifications.delete_webhookendpoint",
        "notifications.view_webhookdelivery",
        "notifications.change_webhookdelivery",
    ],
}


def grant_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "notifications")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("notifications", "0002_webhooks"),
    ]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
