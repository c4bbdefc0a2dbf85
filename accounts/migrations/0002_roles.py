"""Creates the portal's roles as groups and grants them the accounts app's permissions.

Each app grants its own models' permissions in a migration of its own, so that a lower app never
needs to know about a higher one. Group names match accounts.roles.Role.
"""

from django.db import migrations

ROLES = ["Patient", "Doctor", "Front desk", "Clinic admin"]

GRANTS = {
    "Patient": [],
    "Doctor": ["accounts.view_patient"],
    "Front desk": ["accounts.view_patient", "accounts.add_patient", "accounts.change_patient"],
    "Clinic admin": [
        "accounts.view_patient",
        "accounts.add_patient",
        "accounts.change_patient",
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "auth.view_group",
    ],
}


def create_roles(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "auth", "accounts")
    grant(apps, GRANTS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
