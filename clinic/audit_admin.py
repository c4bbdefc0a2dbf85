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
    # The stock search names first_name/last_name, which this project's User does not have.
    search_fields = ["object_repr", "actor__email", "actor__full_name"]

    def has_delete_permission(self, request, obj=None):
        return False
