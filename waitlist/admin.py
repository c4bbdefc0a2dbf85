"""The waitlist in the admin, read-only: entries, offers and freed times change through the
waitlist's services (the desk's and patients' pages, the worker), never by hand. Searches take
numbers (entry, patient), never names."""

from django.contrib import admin

from accounts.admin_input import CheckedAdminInputMixin
from waitlist.models import FreedTime, WaitlistEntry, WaitlistOffer


class ReadOnlyAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "patient",
        "doctor",
        "department",
        "clinic",
        "earliest",
        "latest",
        "state",
    )
    list_filter = ("state", "department", "clinic")
    list_select_related = ("patient", "doctor", "department", "clinic")
    search_fields = ("=id", "=patient__id")


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "entry", "doctor", "clinic", "start", "expires_at", "state")
    list_filter = ("state", "clinic")
    list_select_related = ("entry", "doctor", "clinic")
    search_fields = ("=id", "=entry__id", "=entry__patient__id")
    exclude = ("hold",)


@admin.register(FreedTime)
class FreedTimeAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "doctor", "clinic", "start", "state", "next_try_at")
    list_filter = ("state", "clinic")
    list_select_related = ("doctor", "clinic")
