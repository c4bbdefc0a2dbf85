"""Grants the roles their permissions on appointments. No role deletes one: history is kept."""

from django.db import migrations

GRANTS = {
    "Doctor": ["bookings.view_appointment", "bookings.change_appointment"],
    "Front desk": [
        "bookings.view_appointment",
        "bookings.add_appointment",
        "bookings.change_appointment",
    ],
    "Clinic admin": [
        "bookings.view_appointment",
        "bookings.add_appointment",
        "bookings.change_appointment",
    ],
}


def grant_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "bookings")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("bookings", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
