from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_delivery_appointment_from_body"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="provider_check_since",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="A try ended without an answer after the text went out at this time: the provider is asked whether it took it before the text is sent again.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="provider_message_id",
            field=models.CharField(
                blank=True, editable=False, max_length=64, verbose_name="provider's message id"
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="provider_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("queued", "Queued at the provider"),
                    ("sent", "Sent to the carrier"),
                    ("delivered", "Delivered to the phone"),
                    ("undelivered", "Not delivered"),
                    ("failed", "Failed at the provider"),
                ],
                editable=False,
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="provider_status_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="provider status time"
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("channel", "sms"), ("state", "sent")),
                fields=["address", "-sent_at"],
                name="notifications_sms_sent_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("provider_message_id", ""), _negated=True),
                fields=("provider_message_id",),
                name="notifications_sms_provider_id_once",
            ),
        ),
    ]
