"""Grants the staff roles sight of recurring series in the admin (booked and cancelled on the
front desk's pages, never edited there)."""

from django.db import migrations

GRANTS = {
    "Front desk": ["bookings.view_appointmentseries"],
    "Clinic admin": ["bookings.view_appointmentseries"],
}


def grant_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "bookings")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("bookings", "0013_appointment_no_overlap"),
    ]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
