"""Staff see the outbox; clinic admins may also send failed notices again."""

from django.db import migrations

GRANTS = {
    "Front desk": ["bookings.view_notification"],
    "Clinic admin": ["bookings.view_notification", "bookings.change_notification"],
}


def grant_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "bookings")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("bookings", "0004_notification_outbox"),
    ]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
