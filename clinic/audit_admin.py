"""The audit trail in the admin: for clinic admins to read, for nobody to edit or delete."""

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from axes.models import AccessFailureLog
from django.contrib import admin

admin.site.unregister(LogEntry)
# Failed-attempt logging is off (AXES_ENABLE_ACCESS_FAILURE_LOG); lockouts and logins stay.
admin.site.unregister(AccessFailureLog)


@admin.register(LogEntry)
class AuditTrailAdmin(LogEntryAdmin):
    # Searches travel in the address (?q=...), so the trail is searched by number: the record's
    # (a patient's, an appointment's...; the type is a filter) or the login's that acted. The
    # stock search took names and emails.
    search_fields = ["=object_pk", "=actor__id"]
    search_help_text = (
        "Record number (with the resource type filter: patient, appointment, payment...) or the "
        "number of the login that acted."
    )

    def has_delete_permission(self, request, obj=None):
        return False
