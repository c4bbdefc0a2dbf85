"""PostgreSQL refuses overlapping appointments of one doctor (not only the same start): the
btree_gist extension (for the doctor's "=" in a GiST index) and the exclusion constraint. Both do
nothing on other databases (bookings.constraints)."""

from django.db import migrations, models

import bookings.constraints


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0012_series"),
    ]

    operations = [
        # A no-op off PostgreSQL, and where the extension is already there.
        bookings.constraints.PostgreSQLBtreeGistExtension(),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=bookings.constraints.PostgreSQLExclusionConstraint(
                condition=models.Q(("status", "cancelled"), _negated=True),
                expressions=[
                    ("doctor", "="),
                    (bookings.constraints.TsTzRange("start", "end"), "&&"),
                ],
                name="bookings_no_overlapping_appointments",
                violation_error_message="That time has just been taken.",
            ),
        ),
    ]
