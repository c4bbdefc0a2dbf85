"""Clinic admins read the audit trail (django-auditlog's log entries; nobody edits it) and the
login records of django-axes, where they can also lift a lockout by deleting it."""

from django.db import migrations


def grant_audit_view(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "auditlog", "axes")
    grant(
        apps,
        {
            "Clinic admin": [
                "auditlog.view_logentry",
                "axes.view_accessattempt",
                "axes.delete_accessattempt",
                "axes.view_accesslog",
            ]
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_sessions_epoch"),
        ("auditlog", "0017_add_actor_email"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant_audit_view, migrations.RunPython.noop)]
