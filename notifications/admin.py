"""The outbox in the admin: staff see what went out; clinic admins send again what failed."""

from django.contrib import admin, messages

from accounts.admin_input import CheckedAdminInputMixin
from notifications import delivery
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    """The outbox, for staff to see what went out and send again what failed."""

    list_display = ("kind", "channel", "audience", "appointment", "state", "send_after", "attempts")
    list_filter = ("state", "kind", "channel", "audience")
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

    @admin.action(description="Send the selected notices again", permissions=["change"])
    def send_again(self, request, queryset):
        count = delivery.resend(queryset.exclude(state=Notification.State.PENDING))
        self.message_user(
            request, f"{count} notice(s) queued to be sent again by the next run.", messages.SUCCESS
        )
