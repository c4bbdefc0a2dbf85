"""Grants clinic admins the intake questions in the admin. Nobody else needs a permission: the
patient answers for their own appointments and the front desk for any, through their pages, and
the appointment's doctor reads the answers on its page."""

from django.db import migrations

GRANTS = {
    "Clinic admin": [
        "intake.view_question",
        "intake.add_question",
        "intake.change_question",
        "intake.delete_question",
    ],
}


def grant_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "intake")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("intake", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
