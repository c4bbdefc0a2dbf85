from django.contrib import admin, messages
from django.utils import timezone

from bookings import delivery, services
from bookings.models import Appointment, Notification, Status


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """Appointments for the back office to look up. Every change of an appointment goes through
    the booking services (and their rules), so the admin form itself edits nothing."""

    list_display = (
        "local_start_display",
        "doctor",
        "clinic",
        "patient",
        "appointment_type",
        "status",
    )
    list_filter = ("status", "clinic", "doctor__department", "appointment_type", "payment_mode")
    list_select_related = ("doctor", "clinic", "patient")
    search_fields = ("patient__full_name", "doctor__full_name", "=id")
    date_hierarchy = "start"
    ordering = ("-start",)
    actions = ["cancel_selected"]
    fieldsets = (
        (None, {"fields": ("patient", "doctor", "clinic", "start", "end", "status")}),
        ("Visit", {"fields": ("appointment_type", "payment_mode", "reason")}),
        (
            "History",
            {
                "fields": (
                    "created_by",
                    "created_at",
                    "updated_at",
                    "checked_in_at",
                    "completed_at",
                    "no_show_at",
                    "cancelled_at",
                    "cancelled_by",
                    "cancellation_reason",
                    "rescheduled_from",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # history is kept; a mistaken booking is cancelled instead

    @admin.display(description="Starts (clinic time)", ordering="start")
    def local_start_display(self, appointment):
        return appointment.local_start().strftime("%d %b %Y %H:%M")

    @admin.action(description="Cancel the selected appointments", permissions=["change"])
    def cancel_selected(self, request, queryset):
        now = timezone.now()
        cancelled, refused = 0, queryset.exclude(status=Status.BOOKED).count()
        for appointment in list(queryset.filter(status=Status.BOOKED)):
            try:
                services.cancel_appointment(
                    appointment=appointment,
                    by=request.user,
                    reason="Cancelled by the clinic",
                    now=now,
                )
            except services.BookingError:
                refused += 1
            else:
                cancelled += 1
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} appointment(s).", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"{refused} appointment(s) could not be cancelled: only booked appointments that "
                "have not started can be.",
                messages.WARNING,
            )


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
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
