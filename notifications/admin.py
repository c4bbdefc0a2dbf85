"""The outbox in the admin: staff see what went out; clinic admins send again what failed, and
register and watch the webhooks."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from accounts.admin_input import CheckedAdminInputMixin
from accounts.audit import record_event
from notifications import delivery, webhook_delivery, webhooks
from notifications.models import (
    SUBSCRIBABLE_EVENTS,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
    new_webhook_secret,
)


@admin.register(Notification)
class NotificationAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    """The outbox, for staff to see what went out and send again what failed."""

    list_display = (
        "kind",
        "channel",
        "audience",
        "appointment",
        "state",
        "provider_status",
        "send_after",
        "attempts",
    )
    # provider_status: how far a text got, by the SMS provider's delivery reports.
    list_filter = ("state", "provider_status", "kind", "channel", "audience")
    list_select_related = ("appointment__doctor",)
    search_fields = ("=appointment__id",)
    date_hierarchy = "send_after"
    ordering = ("-send_after",)
    actions = ["send_again"]
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description=gettext_lazy("Send the selected notices again"), permissions=["change"]
    )
    def send_again(self, request, queryset):
        count = delivery.resend(queryset.exclude(state=Notification.State.PENDING))
        # The same English for one and many ("notice(s)"); the catalogue has each form.
        text = ngettext(
            "%(count)s notice(s) queued to be sent again by the next run.",
            "%(count)s notice(s) queued to be sent again by the next run.",
            count,
        )
        self.message_user(request, text % {"count": count}, messages.SUCCESS)


# Webhooks: clinic admins only (the front desk has no rights on either model) -------------------


class WebhookEndpointForm(forms.ModelForm):
    # https:// is what a receiver must use; the model's validators still run on what is typed.
    url = forms.URLField(
        label=gettext_lazy("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=WebhookEndpoint._meta.get_field("url").help_text,
    )
    events = forms.MultipleChoiceField(
        choices=[(event.value, event.label) for event in SUBSCRIBABLE_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("FHIR endpoints take appointment events only."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["description", "url", "events", "format", "active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    """Where the clinic's other systems hear about appointments and payments. The secret is made
    when the endpoint is saved and shown on its page, to be set in the receiver."""

    form = WebhookEndpointForm
    list_display = ("__str__", "url", "format", "active", "created_at")
    list_filter = ("active", "format")
    readonly_fields = ("secret", "created_at", "updated_at")
    actions = ["send_test_event", "new_secret"]

    def get_readonly_fields(self, request, obj=None):
        # The secret exists once the endpoint is saved.
        return self.readonly_fields if obj is not None else ()

    def get_deleted_objects(self, objs, request):
        # The deliveries are the endpoint's own record and go with it (the confirmation page
        # lists them); nobody deletes a delivery on its own, so that right is not asked for.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(WebhookDelivery._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    @admin.action(
        description=gettext_lazy("Send a test event to the selected endpoints"),
        permissions=["change"],
    )
    def send_test_event(self, request, queryset):
        now = timezone.now()
        endpoints = list(queryset.filter(active=True))
        for endpoint in endpoints:
            webhooks.queue_test_event(endpoint, now=now)
        text = ngettext(
            "A test event is queued for %(count)s active endpoint(s); the next run of the worker "
            "sends it. See Webhook deliveries for the receiver's answer.",
            "A test event is queued for %(count)s active endpoint(s); the next run of the worker "
            "sends it. See Webhook deliveries for the receiver's answer.",
            len(endpoints),
        )
        self.message_user(request, text % {"count": len(endpoints)}, messages.SUCCESS)

    @admin.action(
        description=gettext_lazy("Make a new secret for the selected endpoints"),
        permissions=["change"],
    )
    def new_secret(self, request, queryset):
        # One by one: each endpoint gets its own secret. The audit trail records the change
        # without the value (the secret is left out of the endpoint's change entries).
        for endpoint in queryset:
            endpoint.secret = new_webhook_secret()
            endpoint.save(update_fields=["secret", "updated_at"])
            record_event(endpoint, "new secret made")
        self.message_user(
            request,
            gettext(
                "New secrets made: give each receiver its endpoint's new secret (on its page). "
                "Deliveries from now on are signed with it."
            ),
            messages.WARNING,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    """The webhook outbox: what went to which endpoint, the receiver's last answer; clinic admins
    send again what failed (same event id and body)."""

    list_display = (
        "__str__",
        "event_type",
        "endpoint",
        "state",
        "attempts",
        "last_status",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    list_filter = ("state", "event_type", "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("=event_id",)
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description=gettext_lazy("Send the selected deliveries again"), permissions=["change"]
    )
    def send_again(self, request, queryset):
        removed = queryset.filter(body_removed_at__isnull=False).count()
        count = webhook_delivery.resend(queryset)
        text = ngettext(
            "%(count)s delivery(ies) queued to be sent again by the next run (deliveries still "
            "waiting are left as they are).",
            "%(count)s delivery(ies) queued to be sent again by the next run (deliveries still "
            "waiting are left as they are).",
            count,
        )
        self.message_user(request, text % {"count": count}, messages.SUCCESS)
        if removed:
            text = ngettext(
                "%(count)s delivery(ies) cannot be sent again: their body was removed (kept "
                "%(days)s days after delivery, and not at all once the patient closed their "
                "account), so nothing is left to send.",
                "%(count)s delivery(ies) cannot be sent again: their body was removed (kept "
                "%(days)s days after delivery, and not at all once the patient closed their "
                "account), so nothing is left to send.",
                removed,
            )
            values = {"count": removed, "days": settings.WEBHOOK_BODY_RETENTION_DAYS}
            self.message_user(request, text % values, messages.ERROR)
