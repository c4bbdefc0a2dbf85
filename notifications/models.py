"""The outbox: every message the portal owes someone, written with the change it announces:
notices to patients and doctors, and webhook deliveries to the clinic's other systems."""

import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy

from notifications.webhook_targets import validate_webhook_url


class Notification(models.Model):
    """One message to one person about one appointment, or about one waitlist offer: the outbox.

    Written in the transaction of the change it announces, so it exists exactly when the change
    does; the unique key makes each notice at most one row, and the worker sends each row once.
    """

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", gettext_lazy("Booking confirmation")
        CANCELLATION = "cancellation", gettext_lazy("Cancellation notice")
        RESCHEDULE = "reschedule", gettext_lazy("New time notice")
        REMINDER = "reminder", gettext_lazy("Reminder")
        WAITLIST_OFFER = "waitlist_offer", gettext_lazy("Waitlist offer")

    class Channel(models.TextChoices):
        EMAIL = "email", gettext_lazy("Email")
        SMS = "sms", gettext_lazy("SMS")

    class Audience(models.TextChoices):
        PATIENT = "patient", gettext_lazy("Patient")
        DOCTOR = "doctor", gettext_lazy("Doctor")

    class State(models.TextChoices):
        PENDING = "pending", gettext_lazy("Waiting to be sent")
        SENT = "sent", gettext_lazy("Sent")
        FAILED = "failed", gettext_lazy("Failed")
        SKIPPED = "skipped", gettext_lazy("Not needed any more")

    class ProviderStatus(models.TextChoices):
        """What the SMS provider last said of a text it took (its status callbacks)."""

        QUEUED = "queued", gettext_lazy("Queued at the provider")
        SENT = "sent", gettext_lazy("Sent to the carrier")
        DELIVERED = "delivered", gettext_lazy("Delivered to the phone")
        UNDELIVERED = "undelivered", gettext_lazy("Not delivered")
        FAILED = "failed", gettext_lazy("Failed at the provider")

    appointment = models.ForeignKey(
        "bookings.Appointment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=gettext_lazy("appointment"),
    )
    # A waitlist offer's notice is about a time offered, not (yet) an appointment: exactly one of
    # the two is set.
    offer = models.ForeignKey(
        "waitlist.WaitlistOffer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=gettext_lazy("offer"),
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, verbose_name=gettext_lazy("kind"))
    channel = models.CharField(
        max_length=10, choices=Channel.choices, verbose_name=gettext_lazy("channel")
    )
    audience = models.CharField(
        max_length=10, choices=Audience.choices, verbose_name=gettext_lazy("audience")
    )
    # Minutes before the start, for reminders (24 h and 2 h are two notices); 0 for the others.
    lead_minutes = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("lead minutes"))
    address = models.CharField(
        max_length=254,
        help_text=gettext_lazy("Email address or phone number."),
        verbose_name=gettext_lazy("address"),
    )
    state = models.CharField(
        max_length=10,
        choices=State.choices,
        default=State.PENDING,
        verbose_name=gettext_lazy("state"),
    )
    send_after = models.DateTimeField(verbose_name=gettext_lazy("send after"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=gettext_lazy("attempts"))
    last_error = models.TextField(blank=True, verbose_name=gettext_lazy("last error"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("sent at"))
    # Texts only: the provider's id of the message it took, and what it last said of it.
    provider_message_id = models.CharField(
        gettext_lazy("provider's message id"), max_length=64, blank=True, editable=False
    )
    provider_status = models.CharField(
        max_length=12,
        choices=ProviderStatus.choices,
        blank=True,
        editable=False,
        verbose_name=gettext_lazy("provider status"),
    )
    provider_status_at = models.DateTimeField(
        gettext_lazy("provider status time"), null=True, blank=True, editable=False
    )
    provider_check_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=gettext_lazy(
            "A try ended without an answer after the text went out at this time: the "
            "provider is asked whether it took it before the text is sent again."
        ),
        verbose_name=gettext_lazy("provider check since"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("notification")
        verbose_name_plural = gettext_lazy("notifications")
        # The table it had while the outbox lived in bookings: the move copied no data.
        db_table = "bookings_notification"
        ordering = ["send_after", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "channel", "audience", "lead_minutes"],
                name="bookings_notification_once",
            ),
            # One notice per offer and channel, however often the offer is announced.
            models.UniqueConstraint(
                fields=["offer", "channel"],
                condition=Q(offer__isnull=False),
                name="notifications_offer_notice_once",
            ),
            models.CheckConstraint(
                condition=Q(appointment__isnull=False, offer__isnull=True)
                | Q(appointment__isnull=True, offer__isnull=False),
                name="notifications_appointment_or_offer",
            ),
            # A provider's status callback names its message: one notice each.
            models.UniqueConstraint(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="notifications_sms_provider_id_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["send_after"],
                condition=Q(state="pending"),
                name="bookings_notification_due_idx",
            ),
            # A patient's reply finds the latest text sent to their number.
            models.Index(
                fields=["address", "-sent_at"],
                condition=Q(channel="sms", state="sent"),
                name="notifications_sms_sent_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.get_channel_display()} to the {self.audience}"


# Webhooks ----------------------------------------------------------------------------------------


class WebhookEvent(models.TextChoices):
    """What an endpoint can subscribe to (docs/webhooks.md), and the admin's test event."""

    APPOINTMENT_BOOKED = "appointment.booked", gettext_lazy("Appointment booked")
    APPOINTMENT_CANCELLED = "appointment.cancelled", gettext_lazy("Appointment cancelled")
    APPOINTMENT_RESCHEDULED = (
        "appointment.rescheduled",
        gettext_lazy("Appointment moved to a new time"),
    )
    APPOINTMENT_CHECKED_IN = "appointment.checked_in", gettext_lazy("Patient checked in")
    APPOINTMENT_COMPLETED = "appointment.completed", gettext_lazy("Appointment completed")
    APPOINTMENT_NO_SHOW = "appointment.no_show", gettext_lazy("Patient did not come")
    PAYMENT_RECORDED = "payment.recorded", gettext_lazy("Payment recorded")
    PAYMENT_REFUNDED = "payment.refunded", gettext_lazy("Payment refunded")
    TEST = "webhook.test", gettext_lazy("Test event (sent from the admin)")

    @property
    def family(self):
        """What the event is about ("appointment", "payment", "webhook"): its payload's kind."""
        return self.value.partition(".")[0]


SUBSCRIBABLE_EVENTS = [event for event in WebhookEvent if event != WebhookEvent.TEST]


def new_webhook_secret():
    # 256 random bits; the prefix tells a reader of a configuration file what the value is for.
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookEndpoint(models.Model):
    """A receiver a clinic admin registered: where events go, which ones, in which format."""

    class Format(models.TextChoices):
        JSON = "json", gettext_lazy("JSON (as the API returns it)")
        FHIR = "fhir", gettext_lazy("FHIR R4 Appointment (appointment events only)")

    description = models.CharField(
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Who receives these events, for the admin's eyes."),
        verbose_name=gettext_lazy("description"),
    )
    url = models.URLField(
        gettext_lazy("URL"),
        max_length=500,
        validators=[validate_webhook_url],
        help_text=gettext_lazy("The receiver's address; https:// on a public address."),
    )
    secret = models.CharField(
        max_length=100,
        default=new_webhook_secret,
        editable=False,
        help_text=gettext_lazy(
            "Signs every delivery (the Clinic-Signature header); give it to the receiver."
        ),
        verbose_name=gettext_lazy("secret"),
    )
    events = models.JSONField(
        default=list,
        help_text=gettext_lazy("The event types sent to this endpoint."),
        verbose_name=gettext_lazy("events"),
    )
    format = models.CharField(
        max_length=10,
        choices=Format.choices,
        default=Format.JSON,
        verbose_name=gettext_lazy("format"),
    )
    active = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Inactive: no new events, and queued deliveries wait."),
        verbose_name=gettext_lazy("active"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("webhook endpoint")
        verbose_name_plural = gettext_lazy("webhook endpoints")
        ordering = ["pk"]

    def __str__(self):
        return self.description or self.url

    def clean(self):
        super().clean()
        known = set(WebhookEvent.values) - {WebhookEvent.TEST}
        if not self.events or not isinstance(self.events, list):
            raise ValidationError({"events": gettext("Choose at least one event to send.")})
        unknown = [event for event in self.events if event not in known]
        if unknown:
            raise ValidationError(
                {
                    "events": gettext("Unknown event: %(events)s.")
                    % {"events": ", ".join(map(str, unknown))}
                }
            )
        if self.format == self.Format.FHIR and any(
            WebhookEvent(event).family != "appointment" for event in self.events
        ):
            raise ValidationError(
                {
                    "events": gettext(
                        "FHIR deliveries carry an Appointment: payment events need an "
                        "endpoint in the JSON format."
                    )
                }
            )

    def wants(self, event):
        return self.active and event in self.events


class WebhookDelivery(models.Model):
    """One event owed to one endpoint: the webhook outbox.

    Written in the transaction of the change it announces, with the exact body to send, so every
    try sends the same bytes under the same event id. A worker claims a due row with a lease
    (next_attempt_at moves to locked_until) and posts outside any transaction; a worker that dies
    mid-post leaves the row to be taken again when the lease runs out: at least once.
    """

    class State(models.TextChoices):
        PENDING = "pending", gettext_lazy("Waiting to be sent")
        DELIVERED = "delivered", gettext_lazy("Delivered")
        FAILED = "failed", gettext_lazy("Failed")
        SKIPPED = "skipped", gettext_lazy("Not sent: the patient closed their account")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=gettext_lazy("endpoint"),
    )
    # Whose details the body holds (an appointment's or its payment's event; none for the admin's
    # test event): closing the patient's account finds their deliveries by it, not by the text.
    appointment = models.ForeignKey(
        "bookings.Appointment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
        verbose_name=gettext_lazy("appointment"),
    )
    # The same for every endpoint the event goes to and for every try: receivers drop repeats by it.
    event_id = models.UUIDField(gettext_lazy("event id"), default=uuid.uuid4, editable=False)
    event_type = models.CharField(
        max_length=40, choices=WebhookEvent.choices, verbose_name=gettext_lazy("event type")
    )
    content_type = models.CharField(
        max_length=40, default="application/json", verbose_name=gettext_lazy("content type")
    )
    body = models.TextField(blank=True, verbose_name=gettext_lazy("body"))
    body_removed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy(
            "The body was removed then (kept for WEBHOOK_BODY_RETENTION_DAYS after "
            "delivery, or the patient closed their account); it cannot be sent again."
        ),
        verbose_name=gettext_lazy("body removed at"),
    )
    state = models.CharField(
        max_length=10,
        choices=State.choices,
        default=State.PENDING,
        verbose_name=gettext_lazy("state"),
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=gettext_lazy("attempts"))
    next_attempt_at = models.DateTimeField(verbose_name=gettext_lazy("next attempt at"))
    locked_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("A worker is sending it until then."),
        verbose_name=gettext_lazy("locked until"),
    )
    last_status = models.PositiveSmallIntegerField(
        gettext_lazy("last HTTP status"),
        null=True,
        blank=True,
        help_text=gettext_lazy("The receiver's last answer."),
    )
    last_error = models.CharField(
        max_length=200, blank=True, verbose_name=gettext_lazy("last error")
    )
    delivered_at = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("delivered at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("webhook delivery")
        verbose_name_plural = gettext_lazy("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="notifications_webhook_event_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="notifications_webhook_due_idx",
            ),
            # The delivered bodies still kept, oldest first: what each worker round looks at.
            models.Index(
                fields=["delivered_at"],
                condition=Q(state="delivered", body_removed_at__isnull=True),
                name="notifications_webhook_kept_idx",
            ),
        ]

    def __str__(self):
        # The event's id: what a receiver's logs show, and what the admin searches by.
        return str(self.event_id)

    @property
    def body_removed(self):
        return self.body_removed_at is not None
