"""The outbox moved to the notifications app. Only Django's idea of the models changes here: the
table stays where it is (notifications' 0001 takes it over under the same name), so no data moves.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0006_reports_permission"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Notification")],
            database_operations=[],
        ),
    ]
