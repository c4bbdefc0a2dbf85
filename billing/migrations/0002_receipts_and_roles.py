"""The receipt number sequence, and the roles' permissions on billing.

Front desk records payments; clinic admins also refund. Nobody changes or deletes ledger rows.
"""

from django.db import migrations

GRANTS = {
    "Front desk": ["billing.view_charge", "billing.view_payment", "billing.add_payment"],
    "Clinic admin": [
        "billing.view_charge",
        "billing.view_payment",
        "billing.add_payment",
        "billing.refund_payment",
    ],
}


def create_sequence_and_grant(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    apps.get_model("billing", "ReceiptSequence").objects.get_or_create(name="receipts")
    ensure_permissions(apps, "billing")
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("billing", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_sequence_and_grant, migrations.RunPython.noop)]
