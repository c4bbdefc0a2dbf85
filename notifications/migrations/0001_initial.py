"""The outbox, moved here from bookings with its table (bookings_notification) and rows as they
were: the model is created in Django's state only. The permissions and admin history follow it
by moving the content type to this app, so the roles keep what they were granted.
"""

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.filter(app_label="bookings", model="notification").first()
    if old is None:
        return  # a database made after the move: Django creates ours as usual
    new = ContentType.objects.filter(app_label="notifications", model="notification").first()
    if new is None:
        old.app_label = "notifications"
        old.save(update_fields=["app_label"])
        return
    # Both exist (permissions were made for the new app before this ran): hand the grants over.
    for permission in Permission.objects.filter(content_type=old):
        twin = Permission.objects.filter(content_type=new, codename=permission.codename).first()
        if twin is None:
            permission.content_type = new
            permission.save(update_fields=["content_type"])
            continue
        for group in permission.group_set.all():
            group.permissions.add(twin)
        for user in permission.user_set.all():
            user.user_permissions.add(twin)
    old.delete()


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="notifications", model="notification").update(
        app_label="bookings"
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("bookings", "0007_notification_leaves_for_notifications"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("confirmation", "Booking confirmation"),
                                    ("cancellation", "Cancellation notice"),
                                    ("reschedule", "New time notice"),
                                    ("reminder", "Reminder"),
                                ],
                                max_length=20,
                            ),
                        ),
                        (
                            "channel",
                            models.CharField(
                                choices=[("email", "Email"), ("sms", "SMS")], max_length=10
                            ),
                        ),
                        (
                            "audience",
                            models.CharField(
                                choices=[("patient", "Patient"), ("doctor", "Doctor")],
                                max_length=10,
                            ),
                        ),
                        ("lead_minutes", models.PositiveIntegerField(default=0)),
                        (
                            "address",
                            models.CharField(
                                help_text="Email address or phone number.", max_length=254
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("pending", "Waiting to be sent"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("skipped", "Not needed any more"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("send_after", models.DateTimeField()),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "appointment",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="bookings.appointment",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "bookings_notification",
                        "ordering": ["send_after", "pk"],
                        "indexes": [
                            models.Index(
                                condition=models.Q(("state", "pending")),
                                fields=["send_after"],
                                name="bookings_notification_due_idx",
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=(
                                    "appointment",
                                    "kind",
                                    "channel",
                                    "audience",
                                    "lead_minutes",
                                ),
                                name="bookings_notification_once",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
