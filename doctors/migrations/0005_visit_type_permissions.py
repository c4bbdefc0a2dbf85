"""Grants the roles their permissions on visit types: clinic admins set them up, the front desk
and doctors see them."""

from django.db import migrations

GRANTS = {
    "Doctor": ["doctors.view_visittype"],
    "Front desk": ["doctors.view_visittype"],
    "Clinic admin": [
        f"doctors.{action}_visittype" for action in ("view", "add", "change", "delete")
    ],
}


def grant_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "doctors")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("doctors", "0004_visit_types"),
    ]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
