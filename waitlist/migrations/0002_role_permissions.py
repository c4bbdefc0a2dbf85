"""Grants the roles their permissions on the waitlist. Patients need none: their own entries are
theirs through the pages; doctors see their own waitlist (the page narrows it to them)."""

from django.db import migrations

GRANTS = {
    "Doctor": ["waitlist.view_waitlistentry"],
    "Front desk": [
        "waitlist.view_waitlistentry",
        "waitlist.add_waitlistentry",
        "waitlist.change_waitlistentry",
        "waitlist.view_waitlistoffer",
    ],
    "Clinic admin": [
        "waitlist.view_waitlistentry",
        "waitlist.add_waitlistentry",
        "waitlist.change_waitlistentry",
        "waitlist.view_waitlistoffer",
        "waitlist.view_freedtime",
    ],
}


def grant_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "waitlist")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("waitlist", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
