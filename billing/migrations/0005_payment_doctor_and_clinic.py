"""Each ledger row gets its appointment's doctor and clinic, for the revenue report.

The columns are added without their foreign keys, filled by one UPDATE ... FROM, and only then
(0006) made NOT NULL with the keys: a key present during the fill would queue a deferred check
for every row updated, two for each of a year's payments."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
UPDATE billing_payment
SET doctor_id = bookings_appointment.doctor_id, clinic_id = bookings_appointment.clinic_id
FROM billing_charge
INNER JOIN bookings_appointment ON bookings_appointment.id = billing_charge.appointment_id
WHERE billing_charge.id = billing_payment.charge_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_online_reference_once"),
        ("doctors", "0003_calendar_feed"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="doctor",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="doctors.doctor",
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="clinic",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="doctors.clinic",
            ),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop, elidable=False),
    ]
