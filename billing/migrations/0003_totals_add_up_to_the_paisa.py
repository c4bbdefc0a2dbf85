"""total = fee + GST compared to the paisa, so that the check holds on SQLite too (binary floating
point there: 282.48 + 50.85 is 333.33000000000004); unchanged meaning on PostgreSQL."""

from django.db import migrations, models
from django.db.models import F, Q
from django.db.models.functions import Round

ADDS_UP = Q(total=Round(F("fee") + F("gst"), precision=2))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_receipts_and_roles"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="charge", name="billing_charge_total_adds_up"),
        migrations.RemoveConstraint(model_name="payment", name="billing_payment_total_adds_up"),
        migrations.AddConstraint(
            model_name="charge",
            constraint=models.CheckConstraint(
                condition=ADDS_UP, name="billing_charge_total_adds_up"
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=ADDS_UP, name="billing_payment_total_adds_up"
            ),
        ),
    ]
