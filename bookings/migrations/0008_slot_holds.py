"""Slot holds: a time kept for one person for a few minutes. The front desk and clinic admins see
them in the admin and may release them; nobody adds or edits one there (only the services do)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import bookings.models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("accounts", "0006_patient_search_trigram_indexes"),
        ("bookings", "0007_notification_leaves_for_notifications"),
        ("doctors", "0003_calendar_feed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SlotHold",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start", models.DateTimeField()),
                ("end", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                (
                    "purpose",
                    models.CharField(
                        choices=[
                            ("booking_page", "Booking page"),
                            ("integration", "Integration (FHIR or API)"),
                            ("waitlist_offer", "Waitlist offer"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "token",
                    models.CharField(
                        default=bookings.models.new_hold_token,
                        editable=False,
                        max_length=64,
                        unique=True,
                    ),
                ),
                ("created_at", models.DateTimeField()),
                (
                    "clinic",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="slot_holds",
                        to="doctors.clinic",
                    ),
                ),
                (
                    "doctor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="slot_holds",
                        to="doctors.doctor",
                    ),
                ),
                (
                    "held_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="The login that asked for the hold; empty when the portal itself made it.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        blank=True,
                        help_text="Whom the time is kept for, when known.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="slot_holds",
                        to="accounts.patient",
                    ),
                ),
            ],
            options={
                "ordering": ["start", "pk"],
                "permissions": [("release_slothold", "Can release a slot hold")],
                "indexes": [
                    models.Index(fields=["expires_at"], name="bookings_slothold_expiry_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("doctor", "start"),
                        name="bookings_one_hold_per_doctor_start",
                        violation_error_message="That time is already held.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("end__gt", models.F("start"))),
                        name="bookings_slothold_ends_after_start",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("expires_at__gt", models.F("created_at"))),
                        name="bookings_slothold_expires_after_creation",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("purpose__in", ["booking_page", "integration", "waitlist_offer"])
                        ),
                        name="bookings_slothold_purpose_known",
                    ),
                ],
            },
        ),
    ]


GRANTS = {
    "Front desk": ["bookings.view_slothold", "bookings.release_slothold"],
    "Clinic admin": ["bookings.view_slothold", "bookings.release_slothold"],
}


def grant_hold_permissions(apps, schema_editor):
    from accounts.migrations._role_grants import ensure_permissions, grant

    ensure_permissions(apps, "bookings")
    grant(apps, GRANTS)


Migration.operations.append(migrations.RunPython(grant_hold_permissions, migrations.RunPython.noop))
