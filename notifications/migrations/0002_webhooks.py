"""Webhooks: the endpoints clinic admins register, and the deliveries owed to them."""

import uuid

import django.db.models.deletion
from django.db import migrations, models

import notifications.models
import notifications.webhook_targets


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "description",
                    models.CharField(
                        blank=True,
                        help_text="Who receives these events, for the admin's eyes.",
                        max_length=200,
                    ),
                ),
                (
                    "url",
                    models.URLField(
                        help_text="The receiver's address; https:// on a public address.",
                        max_length=500,
                        validators=[notifications.webhook_targets.validate_webhook_url],
                        verbose_name="URL",
                    ),
                ),
                (
                    "secret",
                    models.CharField(
                        default=notifications.models.new_webhook_secret,
                        editable=False,
                        help_text="Signs every delivery (the Clinic-Signature header); give it to the receiver.",
                        max_length=100,
                    ),
                ),
                (
                    "events",
                    models.JSONField(
                        default=list, help_text="The event types sent to this endpoint."
                    ),
                ),
                (
                    "format",
                    models.CharField(
                        choices=[
                            ("json", "JSON (as the API returns it)"),
                            ("fhir", "FHIR R4 Appointment (appointment events only)"),
                        ],
                        default="json",
                        max_length=10,
                    ),
                ),
                (
                    "active",
                    models.BooleanField(
                        default=True,
                        help_text="Inactive: no new events, and queued deliveries wait.",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "webhook endpoint",
                "ordering": ["pk"],
            },
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "event_id",
                    models.UUIDField(default=uuid.uuid4, editable=False, verbose_name="event id"),
                ),
                (
                    "event_type",
                    models.CharField(
                        choices=[
                            ("appointment.booked", "Appointment booked"),
                            ("appointment.cancelled", "Appointment cancelled"),
                            ("appointment.rescheduled", "Appointment moved to a new time"),
                            ("appointment.checked_in", "Patient checked in"),
                            ("appointment.completed", "Appointment completed"),
                            ("appointment.no_show", "Patient did not come"),
                            ("payment.recorded", "Payment recorded"),
                            ("payment.refunded", "Payment refunded"),
                            ("webhook.test", "Test event (sent from the admin)"),
                        ],
                        max_length=40,
                    ),
                ),
                ("content_type", models.CharField(default="application/json", max_length=40)),
                ("body", models.TextField()),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to be sent"),
                            ("delivered", "Delivered"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField()),
                (
                    "locked_until",
                    models.DateTimeField(
                        blank=True, help_text="A worker is sending it until then.", null=True
                    ),
                ),
                (
                    "last_status",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="The receiver's last answer.",
                        null=True,
                        verbose_name="last HTTP status",
                    ),
                ),
                ("last_error", models.CharField(blank=True, max_length=200)),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "endpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="notifications.webhookendpoint",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook delivery",
                "verbose_name_plural": "webhook deliveries",
                "ordering": ["-created_at", "-pk"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("state", "pending")),
                        fields=["next_attempt_at"],
                        name="notifications_webhook_due_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("endpoint", "event_id"), name="notifications_webhook_event_once"
                    )
                ],
            },
        ),
    ]
