"""The copied doctor and clinic are required from now on, with their keys and indexes; and the
planner is told what the columns hold, which the report's plan depends on (until an autovacuum
got round to it, it guessed a handful of rows per clinic)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_payment_doctor_and_clinic"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="doctor",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="doctors.doctor",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="clinic",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="doctors.clinic",
            ),
        ),
        migrations.RunSQL("ANALYZE billing_payment", reverse_sql=migrations.RunSQL.noop),
    ]
