"""Clinic admins (only) may see, create and revoke API tokens in the admin; nobody edits one."""

from django.db import migrations

GRANTS = {
    "Clinic admin": ["knox.view_authtoken", "knox.add_authtoken", "knox.delete_authtoken"],
}


def grant_token_rights(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "knox")
    grant(apps, GRANTS)


def revoke_token_rights(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for role, names in GRANTS.items():
        codenames = [name.split(".")[1] for name in names]
        group = Group.objects.filter(name=role).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="knox", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("accounts", "0002_roles"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(grant_token_rights, revoke_token_rights)]
