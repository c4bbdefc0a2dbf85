"""Grants the roles (made in accounts.0002_roles) their permissions on clinic structure."""

from django.db import migrations

VIEW_STRUCTURE = [
    "doctors.view_department",
    "doctors.view_clinic",
    "doctors.view_doctor",
    "doctors.view_workinghours",
    "doctors.view_holiday",
    "doctors.view_timeoff",
]


def every_permission(model_names):
    return [
        f"doctors.{action}_{model}"
        for model in model_names
        for action in ("view", "add", "change", "delete")
    ]


GRANTS = {
    "Doctor": [*VIEW_STRUCTURE, "doctors.add_timeoff", "doctors.change_timeoff"],
    "Front desk": VIEW_STRUCTURE,
    "Clinic admin": every_permission(
        ["department", "clinic", "doctor", "workinghours", "holiday", "timeoff"]
    ),
}


def grant_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "doctors")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("doctors", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
