"""The outbox: every message the portal owes someone, written with the change it announces."""

from django.db import models
from django.db.models import Q


class Notification(models.Model):
    """One message to one person about one appointment: the outbox.

    Written in the transaction of the change it announces, so it exists exactly when the change
    does; the unique key makes each notice at most one row, and the worker sends each row once.
    """

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Booking confirmation"
        CANCELLATION = "cancellation", "Cancellation notice"
        RESCHEDULE = "reschedule", "New time notice"
        REMINDER = "reminder", "Reminder"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    class Audience(models.TextChoices):
        PATIENT = "patient", "Patient"
        DOCTOR = "doctor", "Doctor"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not needed any more"

    appointment = models.ForeignKey(
        "bookings.Appointment", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    # Minutes before the start, for reminders (24 h and 2 h are two notices); 0 for the others.
    lead_minutes = models.PositiveIntegerField(default=0)
    address = models.CharField(max_length=254, help_text="Email address or phone number.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    send_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table it had while the outbox lived in bookings: the move copied no data.
        db_table = "bookings_notification"
        ordering = ["send_after", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "channel", "audience", "lead_minutes"],
                name="bookings_notification_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["send_after"],
                condition=Q(state="pending"),
                name="bookings_notification_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.get_channel_display()} to the {self.audience}"
